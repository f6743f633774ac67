"""The compiled set: rules indexed by data_type and executable name; whitelists attached."""

from __future__ import annotations

from elkeid.server.engine import CompiledRuleSet
from elkeid.server.engine._model import All, AnyOf, Cond
from elkeid.server.engine._ruleset import exe_keys
from tests.unit.server.engine._support import codes, load

RULES = """
rules:
  - {id: whoami, severity: low, data_type: 59, match: {field: exe, endswith: [/whoami, /usr/bin/id]}}
  - {id: any_tmp, severity: low, data_type: 59, match: {field: exe, startswith: /tmp/}}
  - {id: five, severity: low, data_type: 59, match: {field: exe, equals: "5"}}
  - {id: net, severity: low, data_types: [42, 43], match: {field: dport, equals: "4444"}}
  - id: wl
    kind: whitelist
    suppresses: [who*]
    match: {field: agent_id, equals: trusted}
  - id: wl_connect_only
    kind: whitelist
    data_type: 42
    suppresses: ["*"]
    match: {field: dip, equals: 10.0.0.1}
"""


def build(text: str = RULES, **kwargs) -> CompiledRuleSet:
    result = load(text)
    assert result.ok, result.as_text()
    return CompiledRuleSet.build(result.rules, result=result, **kwargs)


def ids(hits) -> list[str]:
    return sorted(c.rule.id for c in hits)


def test_events_meet_only_the_rules_of_their_data_type_and_executable():
    rs = build()
    assert rs.data_types() == [42, 43, 59]
    assert ids(rs.match({"data_type": 59, "exe": "/usr/bin/WHOAMI"})) == []  # endswith is case-sensitive here
    assert ids(rs.match({"data_type": 59, "exe": "/usr/bin/whoami"})) == ["whoami"]
    assert ids(rs.match({"data_type": 59, "exe": "/tmp/whoami"})) == ["any_tmp", "whoami"]
    assert ids(rs.match({"data_type": 43, "dport": "4444", "exe": "/tmp/x"})) == ["net"]
    assert ids(rs.match({"data_type": 1000, "exe": "/tmp/x"})) == []


def test_data_type_given_as_text_or_garbage():
    rs = build()
    assert ids(rs.match({"data_type": "59", "exe": "/tmp/x"})) == ["any_tmp"]
    assert ids(rs.match({"data_type": "exec", "exe": "/tmp/x"})) == []
    assert ids(rs.match({"data_type": None})) == [] and ids(rs.match({})) == []


def test_the_exe_index_changes_nothing_but_speed():
    indexed, flat = build(), build(index_exe=False)
    for exe in ["/usr/bin/whoami", "/tmp/whoami", "/usr/bin/id", "id", "/x/", "", None, 5]:
        event = {"data_type": 59, "exe": exe}
        assert ids(indexed.match(event)) == ids(flat.match(event)), exe


def test_exe_keys():
    assert exe_keys(Cond("exe", "endswith", ("/a", "/usr/bin/B"))) == frozenset({"a", "b"})
    assert exe_keys(Cond("exe", "equals", ("/usr/bin/nc", "nc.openbsd"))) == frozenset({"nc", "nc.openbsd"})
    assert exe_keys(Cond("exe", "endswith", ("bash",))) is None  # could be /usr/bin/rbash
    assert exe_keys(All((Cond("argv", "contains", ("x",)), Cond("exe", "endswith", ("/a",))))) == frozenset({"a"})
    assert exe_keys(AnyOf((Cond("exe", "endswith", ("/a",)), Cond("argv", "contains", ("x",))))) is None
    assert exe_keys(AnyOf((Cond("exe", "endswith", ("/a",)), Cond("exe", "equals", ("/b",))))) == frozenset({"a", "b"})


def test_whitelists_attach_by_rule_id_pattern_and_data_type():
    rs = build()
    by_id = rs.by_id
    assert [w.rule.id for w in by_id["whoami"].whitelists] == ["wl"]
    assert [w.rule.id for w in by_id["net"].whitelists] == ["wl_connect_only"]
    assert [w.rule.id for w in by_id["any_tmp"].whitelists] == []


def test_whitelist_patterns_that_match_no_rule_warn():
    result = load(RULES + "  - {id: wl2, kind: whitelist, suppresses: [nothing_like_this], match: {field: agent_id, equals: a}}\n")
    CompiledRuleSet.build(result.rules, result=result)
    assert codes(result) == ["W207"]


def test_disabled_rules_are_left_out():
    rs = build(RULES.replace("severity: low, data_type: 59, match: {field: exe, startswith", "severity: low, enabled: false, data_type: 59, match: {field: exe, startswith"))
    assert "any_tmp" not in rs.by_id
    assert "whoami" not in build(disabled=["whoami"]).by_id
