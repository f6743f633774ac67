"""The engine: detections, whitelists, appended fields, batches, hot reload, statistics."""

from __future__ import annotations

import pytest

from elkeid.server.engine import ReloadRefused, RuleEngine, Source, load_sources
from tests.unit.server.engine._support import engine_for, fired, load

RULES = """
rules:
  - id: tmp_exec
    name: Exec from /tmp
    severity: medium
    data_type: execve
    match: {field: exe, startswith: /tmp/}
    append: {playbook: RB-12, who: "${username} ran ${exe}", empty: "${nope}"}
  - id: brute
    severity: high
    data_type: 4000
    match: {field: status, equals: "false"}
    frequency: {window: 60, threshold: 3, group_by: [agent_id, sip]}
  - id: wl_ci
    kind: whitelist
    suppresses: [tmp_exec, brute]
    match:
      any:
        - {all: [{field: agent_id, equals: ci-runner}, {field: exe, startswith: /tmp/build-}]}
        - {field: sip, equals: 10.0.0.99}
"""


def test_detections_carry_rule_event_and_appended_fields():
    engine = engine_for(RULES)
    event = {"data_type": 59, "agent_id": "a1", "hostname": "web-1", "exe": "/tmp/x", "username": "www-data"}
    (d,) = engine.process(event)
    assert d.rule.id == "tmp_exec" and d.event is event and d.agent_id == "a1" and d.data_type == 59
    assert d.fields == {"playbook": "RB-12", "who": "www-data ran /tmp/x", "empty": ""}
    assert "playbook" not in event  # events are never modified
    assert d.dedup_fields == ("exe",)


def test_whitelists_suppress_and_are_counted():
    engine = engine_for(RULES)
    assert fired(engine, data_type=59, exe="/tmp/build-1", agent_id="ci-runner") == []
    assert fired(engine, data_type=59, exe="/tmp/build-1", agent_id="other") == ["tmp_exec"]
    assert fired(engine, data_type=59, exe="/tmp/x", agent_id="ci-runner") == ["tmp_exec"]
    stats = engine.stats()
    assert stats["rules"]["tmp_exec"] == {"hits": 2, "suppressed": 1}
    assert stats["whitelists"]["wl_ci"] == {"hits": 1}
    assert stats["events"] == 3 and stats["detections"] == 2


def test_whitelisted_events_do_not_count_towards_frequency():
    engine = engine_for(RULES)
    for _ in range(5):
        assert fired(engine, data_type=4000, status="false", sip="10.0.0.99", timestamp=100) == []
    results = [fired(engine, data_type=4000, status="false", sip="10.0.0.5", timestamp=100 + i) for i in range(3)]
    assert results == [[], [], ["brute"]]


def test_process_batch_takes_identity_from_the_batch_not_the_fields():
    engine = engine_for(RULES)
    spoofed = {"exe": "/tmp/x", "agent_id": "ci-runner", "data_type": "4000", "hostname": "evil"}
    (d,) = engine.process_batch("a7", [(59, 1700000000, spoofed)], hostname="db-1")
    assert (d.agent_id, d.event["hostname"], d.event["data_type"], d.event["timestamp"]) == ("a7", "db-1", 59, 1700000000)


@pytest.mark.parametrize("event", [
    {}, {"data_type": None}, {"data_type": "x"}, {"data_type": 59, "exe": None}, {"data_type": 59, "exe": 12},
    {"data_type": 59, "exe": ["/tmp/x"]}, {"data_type": 59.0, "exe": "/tmp/\udcff"}, {"data_type": 4000, "timestamp": "soon"},
])  # fmt: skip
def test_hostile_events_never_raise(event):
    engine = engine_for(RULES)
    engine.process(event)


def test_a_failed_reload_keeps_the_running_set():
    engine = engine_for(RULES)
    bad = load(RULES + "  - {id: broken, severity: high, data_type: 59, match: {field: exe, containz: x}}\n")
    with pytest.raises(ReloadRefused, match=r"reload refused, the running rules stay in force: rules.yaml:\d+: error E131"):
        engine.apply(bad)
    assert fired(engine, data_type=59, exe="/tmp/x") == ["tmp_exec"]
    assert engine.result.ok


def test_non_strict_apply_runs_the_good_rules():
    engine = RuleEngine()
    result = load(RULES + "  - {id: broken, severity: high, data_type: 59, match: {field: exe, containz: x}}\n")
    engine.apply(result, strict=False)
    assert sorted(c.rule.id for c in engine.ruleset.rules) == ["brute", "tmp_exec"]


def test_reload_swaps_rules_and_keeps_windows_of_unchanged_frequency_rules():
    engine = engine_for(RULES)
    for ts in (1, 2):
        fired(engine, data_type=4000, status="false", sip="198.51.100.1", timestamp=ts)
    engine.apply(load(RULES.replace("startswith: /tmp/", "startswith: /dev/shm/")))
    assert fired(engine, data_type=59, exe="/tmp/x") == []
    assert fired(engine, data_type=4000, status="false", sip="198.51.100.1", timestamp=3) == ["brute"]
    for ts in (4, 5):
        fired(engine, data_type=4000, status="false", sip="198.51.100.1", timestamp=ts)
    engine.apply(load(RULES.replace("threshold: 3", "threshold: 4")))  # changed: its windows start again
    assert fired(engine, data_type=4000, status="false", sip="198.51.100.1", timestamp=6) == []


def test_disabled_ids_at_apply():
    engine = RuleEngine()
    engine.apply(load(RULES), disabled=["tmp_exec"])
    assert fired(engine, data_type=59, exe="/tmp/x") == []


def test_process_batch_skips_types_no_rule_reads_but_counts_them():
    engine = RuleEngine()
    engine.apply(load_sources([Source("r.yaml", "rules:\n  - {id: r, severity: low, data_type: 59, match: {field: exe, "
                                                "equals: /x}}\n")]))  # fmt: skip
    found = engine.process_batch("a1", [(1000, 1, {"exe": "/x"}), (59, 1, {"exe": "/x"}), ("59", 1, {"exe": "/x"})])
    assert [d.rule.id for d in found] == ["r", "r"] and engine.events == 3
    assert engine.ruleset.reads(59) and not engine.ruleset.reads(1000)
