"""Sigma rules through pySigma: every shared rule loads, and a sample fires on matching events only."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from elkeid.server.engine import RuleEngine, load_rules
from elkeid.server.engine._model import All, AnyOf, Cond, Const, Not
from tests.unit.server.engine._cases import expand
from tests.unit.server.engine._support import codes, load

SIGMA_DIR = Path(__file__).parents[3] / "data" / "sigma"
CASES = yaml.safe_load((Path(__file__).parent / "sigma_cases.yaml").read_text())
#: Rules of the shared set that cannot run on our events, and why (pinned: a change here is a decision).
UNMAPPABLE = {"proc_creation_lnx_omigod_scx_runasprovider_executeshellcommand.yml": "field LogonId"}


@pytest.fixture(scope="module")
def shared():
    return load_rules([SIGMA_DIR], include_default=False)


@pytest.fixture(scope="module")
def engine(shared):
    engine = RuleEngine()
    engine.apply(shared, strict=True)
    return engine


def _id_of(relative: str) -> str:
    return str(yaml.safe_load((SIGMA_DIR / relative).read_text())["id"])


def test_every_shared_rule_loads_or_is_listed_with_a_reason(shared):
    files = sorted(SIGMA_DIR.rglob("*.yml"))
    assert len(files) >= 100
    assert shared.errors == [] and shared.warnings == []
    skipped = {Path(i.file).name: i.message for i in shared.skipped}
    assert set(skipped) == set(UNMAPPABLE)
    for name, reason in UNMAPPABLE.items():
        assert reason in skipped[name]
    assert len(shared.rules) + len(shared.skipped) == len(files)
    assert all(r.source == "sigma" for r in shared.rules)


def test_every_mappable_rule_compiles(engine, shared):
    assert len(engine.ruleset.rules) == len(shared.rules)


def test_rule_metadata_comes_from_the_sigma_rule(shared):
    rule = next(r for r in shared.rules if r.id == _id_of("process_creation/proc_creation_lnx_webshell_detection.yml"))
    assert rule.name == "Linux Webshell Indicators" and rule.severity == "high" and rule.data_types == (59,)
    assert rule.attack == ("T1505.003",) and "attack.persistence" in rule.tags
    assert rule.origin.file.endswith("proc_creation_lnx_webshell_detection.yml") and rule.origin.line == 1


def test_the_sample_is_large_enough():
    assert len(CASES) >= 15


@pytest.mark.parametrize("relative", sorted(CASES), ids=lambda p: Path(p).stem)
def test_sigma_rule_fires_on_matching_events_and_not_on_near_misses(engine, relative):
    rule_id = _id_of(relative)
    for kind in ("hit", "miss"):
        for n, case in enumerate(CASES[relative][kind]):
            fired = [d.rule.id for ev in expand(case, f"{Path(relative).stem}-{kind}-{n}") for d in engine.process(ev)]
            assert (rule_id in fired) == (kind == "hit"), f"{kind} {n}: {case}"


def sigma(detection: str, category: str = "process_creation", extra: str = "") -> str:
    return textwrap.dedent(f"""
        title: Test rule
        id: 0a0a0a0a-0000-4000-8000-000000000001
        status: test
        logsource: {{product: linux, category: {category}}}
        detection:
        """) + textwrap.indent(textwrap.dedent(detection).strip(), "    ") + "\nlevel: high\n" + extra


def converted(detection: str, category: str = "process_creation"):
    result = load(sigma(detection, category), "rule.yml")
    assert result.ok and not result.skipped, result.as_text()
    return result.rules[0]


@pytest.mark.parametrize("detection,expected", [
    ("selection: {Image: /usr/bin/id}\ncondition: selection", Cond("exe", "equals", ("/usr/bin/id",), nocase=True)),
    ("selection: {CommandLine|contains: x}\ncondition: selection", Cond("argv", "contains", ("x",), nocase=True)),
    ("selection: {CommandLine|startswith: x}\ncondition: selection", Cond("argv", "startswith", ("x",), nocase=True)),
    ("selection: {CommandLine|endswith: x}\ncondition: selection", Cond("argv", "endswith", ("x",), nocase=True)),
    ("selection: {CommandLine: 'a*b?c'}\ncondition: selection", Cond("argv", "regex", (r"(?s)\Aa.*b.c\Z",), nocase=True)),
    ("selection: {CommandLine: '*'}\ncondition: selection", Const(True)),
    ("selection: {CommandLine|cased|contains: X}\ncondition: selection", Cond("argv", "contains", ("X",))),
    ("selection: {CommandLine|re|i|m: '^a'}\ncondition: selection", Cond("argv", "regex", ("(?m)^a",), nocase=True)),
    ("selection: {ProcessId: 42}\ncondition: selection", Cond("pid", "equals", ("42",))),
    ("selection: {ProcessId|gte: 42}\ncondition: selection", Cond("pid", "greater_equal", (42.0,))),
    ("selection: {User: null}\ncondition: selection", Cond("username", "is_null")),
    ("selection: {User|exists: true}\ncondition: selection", Not(Cond("username", "is_null"))),
    ("selection: {Image|fieldref: ParentImage}\ncondition: selection", Cond("exe", "equals", ref="p_exe", nocase=True)),
    ("selection: {CommandLine|contains|all: [a, b]}\ncondition: selection",
     All((Cond("argv", "contains", ("a",), nocase=True), Cond("argv", "contains", ("b",), nocase=True)))),
    ("a: {Image: x}\nb: {Image: y}\ncondition: a and not b",
     All((Cond("exe", "equals", ("x",), nocase=True), Not(Cond("exe", "equals", ("y",), nocase=True))))),
])  # fmt: skip
def test_value_types_and_modifiers(detection, expected):
    assert converted(detection).match == expected


def test_windash_expansions_become_alternatives():
    node = converted("selection: {CommandLine|windash|contains: ' -f '}\ncondition: selection").match
    assert isinstance(node, AnyOf) and Cond("argv", "contains", (" -f ",), nocase=True) in node.items


def test_cidr_and_categories():
    rule = converted("selection: {DestinationIp|cidr: 10.0.0.0/8, DestinationPort: 22}\ncondition: selection",
                     "network_connection")  # fmt: skip
    assert rule.data_types == (42,)
    assert set(rule.match.items) == {Cond("dip", "cidr", ("10.0.0.0/8",)), Cond("dport", "equals", ("22",))}
    assert converted("selection: {TargetFilename|endswith: /x}\ncondition: selection", "file_event").data_types == (602,)
    renamed = converted("selection: {TargetFilename|endswith: /x}\ncondition: selection", "file_rename")
    assert renamed.data_types == (82,) and renamed.match.field == "new_name"
    assert converted("selection: {QueryName|endswith: .x}\ncondition: selection", "dns_query").data_types == (601,)


def test_host_names_go_to_dns_queries_unless_addresses_are_matched_too():
    rule = converted("selection: {DestinationHostname: a.example, Initiated: 'true'}\ncondition: selection",
                     "network_connection")  # fmt: skip
    assert rule.data_types == (601,) and rule.match == Cond("query", "equals", ("a.example",), nocase=True)
    result = load(sigma("selection: {DestinationHostname: a.example, DestinationPort: 443}\ncondition: selection",
                        "network_connection"), "r.yml")  # fmt: skip
    assert codes(result) == ["S301"] and "field DestinationHostname: connect events carry no host name" in result.skipped[0].message


@pytest.mark.parametrize("detection,category,reason", [
    ("selection: {Image: x}\ncondition: selection", "process_access",
     "log source product linux, category process_access is not collected"),
    ("selection: {OriginalFileName: x}\ncondition: selection", "process_creation", "field OriginalFileName: PE version"),
    ("selection: {Foo: x}\ncondition: selection", "process_creation", "field Foo: it has no counterpart in execve (59)"),
    ("selection: {Initiated: 'false'}\ncondition: selection", "network_connection", "field Initiated: connect events (42)"),
    ("keywords: [evil]\ncondition: keywords", "process_creation", "keyword detections"),
    ("selection: {CommandLine|expand: '%x%'}\ncondition: selection", "process_creation", "placeholder %x%"),
])  # fmt: skip
def test_unmappable_rules_are_listed_with_the_reason(detection, category, reason):
    result = load(sigma(detection, category), "r.yml")
    assert result.ok and not result.rules and codes(result) == ["S301"]
    assert reason in result.skipped[0].message, result.skipped[0].message
    assert result.skipped[0].file == "r.yml" and result.skipped[0].rule_id == "0a0a0a0a-0000-4000-8000-000000000001"


def test_services_are_not_collected():
    text = sigma("selection: {type: EXECVE}\ncondition: selection").replace(
        "{product: linux, category: process_creation}", "{product: linux, service: auditd}")
    result = load(text, "r.yml")
    assert codes(result) == ["S301"] and "service auditd is not collected" in result.skipped[0].message


def test_invalid_sigma_rules_are_errors():
    result = load(sigma("selection: {CommandLine|nonsense: x}\ncondition: selection"), "r.yml")
    assert codes(result) == ["E170"] and result.errors[0].file == "r.yml" and "nonsense" in result.errors[0].message
    missing = load(sigma("selection: {Image: x}\ncondition: selectoin"), "r.yml")
    assert codes(missing) == ["E170"]


def test_correlation_rules_are_listed_as_not_supported():
    text = sigma("selection: {Image: /x}\ncondition: selection").replace("title: Test rule", "title: Base\nname: base")
    text += textwrap.dedent("""
        ---
        title: Many
        id: 0a0a0a0a-0000-4000-8000-000000000002
        correlation: {type: event_count, rules: [base], group-by: [User], timespan: 5m, condition: {gte: 10}}
        level: high
        """)
    result = load(text, "r.yml")
    assert len(result.rules) == 1
    assert codes(result) == ["S301"] and "correlations and filters" in result.skipped[0].message


def test_sigma_and_our_rules_in_one_load(tmp_path):
    (tmp_path / "s.yml").write_text(sigma("selection: {Image|endswith: /id}\ncondition: selection"))
    (tmp_path / "r.yaml").write_text("rules:\n  - {id: mine, severity: low, data_type: 59, match: {field: exe, endswith: /id}}\n")
    engine = RuleEngine()
    engine.apply(load_rules([tmp_path], include_default=False))
    fired = {d.rule.id for d in engine.process({"data_type": 59, "exe": "/usr/bin/ID", "agent_id": "a"})}
    assert fired == {"0a0a0a0a-0000-4000-8000-000000000001"}  # Sigma compares without case, our rule with case
