"""The default ruleset: it loads cleanly, is large enough, and every rule has hit and miss events.

Each rule has ``cases/<rule id>.yaml`` with ``hit`` cases (each must raise the
rule) and ``miss`` cases (none may). A case is an event or a repeated event
(frequency rules); see ``tests/unit/server/engine/_cases.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from elkeid.server.engine import RuleEngine, load_rules
from tests.unit.server.engine._cases import expand, load_case_file

CASES = Path(__file__).parent / "cases"
CASE_FILES = sorted(CASES.glob("*.yaml"))


@pytest.fixture(scope="module")
def default_result():
    return load_rules(include_default=True)


@pytest.fixture(scope="module")
def engine(default_result):
    engine = RuleEngine()
    engine.apply(default_result)
    return engine


def test_default_ruleset_loads_without_errors_or_warnings(default_result):
    assert default_result.issues == [], default_result.as_text()
    assert len(default_result.rules) >= 40
    assert all(r.source == "default" for r in default_result.rules)


def test_every_default_rule_has_a_case_file_and_every_case_file_a_rule(default_result):
    rule_ids = {r.id for r in default_result.rules}
    case_ids = {p.stem for p in CASE_FILES}
    assert rule_ids - case_ids == set(), "default rules without test events"
    assert case_ids - rule_ids == set(), "test events for rules that do not exist"


def test_every_default_rule_is_documented(default_result):
    for rule in default_result.rules:
        assert rule.name and rule.name != rule.id, rule.id
        assert rule.attack, f"{rule.id} names no ATT&CK technique"
        assert all(a.startswith("T") for a in rule.attack), rule.id


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_rule_fires_on_hits_and_not_on_misses(engine, path):
    spec = load_case_file(path)
    rule_id = spec["rule"]
    assert spec["hit"] and spec["miss"], f"{path.name} needs at least one hit and one miss"
    for kind in ("hit", "miss"):
        for n, case in enumerate(spec[kind]):
            agent = f"{rule_id}-{kind}-{n}"  # frequency windows are per agent: cases never share one
            fired = [d.rule.id for ev in expand(case, agent) for d in engine.process(ev)]
            if kind == "hit":
                assert rule_id in fired, f"{kind} case {n} did not raise {rule_id}: {case}"
            else:
                assert rule_id not in fired, f"{kind} case {n} raised {rule_id}: {case}"
