"""Reading rules of our YAML format: every key, and each refusal with its code, line and message."""

from __future__ import annotations

import pytest

from elkeid.server.engine._model import Frequency
from elkeid.server.engine._reader import parse_duration
from tests.unit.server.engine._support import codes, load

GOOD = """
rules:
  - id: good
    name: Good rule
    severity: high
    data_type: execve
    description: desc
    attack: [T1059.004]
    tags: [shell]
    match: {field: exe, endswith: /bash}
"""


def test_a_complete_rule():
    result = load(GOOD)
    assert result.ok and result.issues == []
    (rule,) = result.rules
    assert (rule.id, rule.name, rule.severity, rule.data_types, rule.kind) == ("good", "Good rule", "high", (59,), "detection")
    assert rule.attack == ("T1059.004",) and rule.tags == ("shell",) and rule.description == "desc"
    assert rule.origin.file == "rules.yaml" and rule.origin.line == 3 and rule.source == "user"


def test_loading_keeps_going_past_a_bad_rule():
    text = GOOD + """
  - id: bad
    name: Bad
    severity: high
    data_type: 59
    match: {field: exe, endswith: /bash, equals: x}
  - id: also_good
    severity: low
    data_type: [connect, 43]
    match: {field: dip, cidr: 10.0.0.0/8}
"""
    result = load(text)
    assert [r.id for r in result.rules] == ["good", "also_good"]
    assert codes(result) == ["E132"] and result.errors[0].line == 16 and result.errors[0].rule_id == "bad"
    assert result.rules[1].data_types == (42, 43)
    assert result.as_text().splitlines()[0].startswith("rules.yaml:16: error E132: ")


@pytest.mark.parametrize("rule,code,fragment", [
    ("name: x\nseverity: high\ndata_type: 59\nmatch: {field: exe, equals: x}", "E111", "lacks the required key 'id'"),
    ("id: 'has space'\nseverity: high\ndata_type: 59\nmatch: {field: exe, equals: x}", "E114", "rule id 'has space' is not valid"),
    ("id: r\ndata_type: 59\nmatch: {field: exe, equals: x}", "E111", "rule 'r' lacks the required key 'severity'"),
    ("id: r\nseverity: urgent\ndata_type: 59\nmatch: {field: exe, equals: x}", "E115", "unknown severity 'urgent'"),
    ("id: r\nseverity: high\nkind: alarm\ndata_type: 59\nmatch: {field: exe, equals: x}", "E116", "unknown kind 'alarm'"),
    ("id: r\nseverity: high\ndata_type: 9999\nmatch: {field: exe, equals: x}", "E120", "unknown data_type 9999"),
    ("id: r\nseverity: high\ndata_type: exec\nmatch: {field: exe, equals: x}", "E120", "unknown data_type 'exec'"),
    ("id: r\nseverity: high\nmatch: {field: exe, equals: x}", "E121", "names no data_type"),
    ("id: r\nseverity: high\ndata_type: 59", "E111", "lacks the required key 'match'"),
    ("id: r\nseverity: high\ndata_type: 59\nname: [x]\nmatch: {field: exe, equals: x}", "E112", "name must be text, not a list"),
    ("id: r\nseverity: high\ndata_type: 59\nattack: T1\nenabled: sometimes\nmatch: {field: exe, equals: x}", "E112", "enabled must be true or false"),
    ("id: r\nseverity: high\ndata_type: 59\nfrequency: {window: 5}\nkind: detection\nmatch: {field: exe, equals: x}", "E140", "a detection rule has no frequency"),
    ("id: r\nseverity: high\ndata_type: 59\nsuppresses: [x]\nmatch: {field: exe, equals: x}", "E150", "only whitelist rules suppress"),
    ("id: r\nseverity: high\ndata_type: 59\nappend: [x]\nmatch: {field: exe, equals: x}", "E160", "append must be a mapping"),
    ("id: r\nseverity: high\ndata_type: 59\nappend: {k: [x]}\nmatch: {field: exe, equals: x}", "E160", "values are text"),
])  # fmt: skip
def test_bad_rules(rule, code, fragment):
    body = "\n".join("    " + line for line in rule.splitlines())
    result = load("rules:\n  -\n" + body + "\n")
    assert not result.rules, result.rules
    assert result.errors[0].code == code, result.as_text()
    assert fragment in result.errors[0].message, result.errors[0].message


FREQ = """
rules:
  - id: f
    severity: high
    data_type: 4000
    match: {{field: status, equals: "false"}}
    frequency: {block}
"""


@pytest.mark.parametrize("block,expected", [
    ("{window: 60, threshold: 10, group_by: [agent_id, sip]}", Frequency(60.0, 10.0, ("agent_id", "sip"))),
    ("{window: 5m, threshold: 3, group_by: agent_id, distinct: sip}", Frequency(300.0, 3.0, ("agent_id",), "distinct", "sip")),
    ("{window: 1h, threshold: 1000.5, group_by: [agent_id], sum: sport}", Frequency(3600.0, 1000.5, ("agent_id",), "sum", "sport")),
])  # fmt: skip
def test_frequency_blocks(block, expected):
    result = load(FREQ.format(block=block))
    assert result.ok, result.as_text()
    assert result.rules[0].kind == "frequency" and result.rules[0].frequency == expected


@pytest.mark.parametrize("block,fragment", [
    ("[60, 10]", "frequency must be a mapping"),
    ("{window: -1, threshold: 1}", "window must be a positive duration"),
    ("{window: soon, threshold: 1}", "window must be a positive duration"),
    ("{window: 60, threshold: 0}", "threshold must be a positive number"),
    ("{window: 60, threshold: true}", "threshold must be a positive number"),
    ("{window: 60, threshold: 1, group_by: [1]}", "group_by must be a list of field names"),
    ("{window: 60, threshold: 1, distinct: a, sum: b}", "use distinct or sum, not both"),
    ("{window: 60, threshold: 1, distinct: ''}", "distinct takes a field name"),
    ("{window: 60, threshold: 1, windw: 3}", "unknown key 'windw' (did you mean 'window'?)"),
])  # fmt: skip
def test_bad_frequency_blocks(block, fragment):
    result = load(FREQ.format(block=block))
    assert codes(result)[0] == "E140" and fragment in result.errors[0].message, result.as_text()


def test_frequency_without_group_warns():
    result = load(FREQ.format(block="{window: 60, threshold: 2}"))
    assert result.ok and codes(result) == ["W206"]


def test_whitelist_rules_default_to_suppress_everything_and_need_no_data_type():
    result = load("""
rules:
  - id: wl
    kind: whitelist
    match: {field: agent_id, equals: a1}
""")
    assert result.ok
    (rule,) = result.rules
    assert rule.kind == "whitelist" and rule.suppresses == ("*",) and rule.data_types == () and rule.severity == "info"


def test_bad_whitelist_suppress_list():
    result = load("rules:\n  - {id: wl, kind: whitelist, suppresses: [1], match: {field: agent_id, equals: a}}\n")
    assert codes(result) == ["E150"]


def test_unknown_key_warns_with_a_suggestion_and_the_rule_still_loads():
    result = load(GOOD.replace("description: desc", "descripton: desc"))
    assert result.ok and len(result.rules) == 1
    (issue,) = result.warnings
    assert issue.code == "W201" and issue.line == 7
    assert issue.message == "unknown key 'descripton' in rule 'good' (did you mean 'description'?); it is ignored"


def test_fields_the_data_type_does_not_carry_warn():
    result = load(GOOD.replace("match: {field: exe, endswith: /bash}", "match: {field: qeury, endswith: /bash}"))
    assert result.ok
    assert [i.message for i in result.warnings] == ["rule 'good' reads field 'qeury', which execve (59) events do not carry"]


def test_event_keys_and_asset_change_field_are_always_known():
    result = load("""
rules:
  - id: u
    severity: low
    data_type: 5052
    match: {all: [{field: change, equals: added}, {field: agent_id, equals: a}, {field: hostname, equals: h}]}
""")
    assert result.ok and result.issues == []


def test_disabled_rules_load_with_a_warning():
    result = load(GOOD.replace("severity: high", "severity: high\n    enabled: false"))
    assert result.ok and codes(result) == ["W203"] and result.rules[0].enabled is False


def test_append_fields_and_dedup():
    result = load(GOOD.replace("tags: [shell]", "append: {playbook: RB-7, proc: '${exe} as ${username}', n: 3}\n    dedup: [exe]"))
    assert result.ok, result.as_text()
    rule = result.rules[0]
    assert rule.append == (("playbook", "RB-7"), ("proc", "${exe} as ${username}"), ("n", "3")) and rule.dedup == ("exe",)


@pytest.mark.parametrize("text,seconds", [(60, 60.0), ("90s", 90.0), ("5m", 300.0), ("2h", 7200.0), ("1d", 86400.0),
                                          ("1.5", 1.5), ("x", None), (True, None), ("", None), (None, None)])  # fmt: skip
def test_durations(text, seconds):
    assert parse_duration(text) == seconds
