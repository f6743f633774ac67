from __future__ import annotations

from elkeid.server.engine._detection import fill_template
from tests.unit.server.engine._support import engine_for

RULES = """
rules:
  - {id: r, severity: low, data_type: 59, match: {all: [{field: exe, startswith: /tmp/}, {field: argv, contains: x}]}}
  - {id: d, severity: low, data_type: 59, dedup: [username], match: {field: exe, equals: /tmp/d}}
  - id: f
    severity: low
    data_type: 4000
    match: {field: status, equals: "false"}
    frequency: {window: 60, threshold: 2, group_by: [agent_id, sip]}
"""


def detection(engine, **event):
    event.setdefault("agent_id", "a1")
    found = engine.process(event)
    return found[0] if found else None


def test_dedup_key_depends_on_rule_agent_and_the_fields_the_rule_reads():
    engine = engine_for(RULES)
    one = detection(engine, data_type=59, exe="/tmp/x", argv="x", pid="1")
    assert one.dedup_fields == ("exe", "argv") and one.key_values() == {"exe": "/tmp/x", "argv": "x"}
    same = detection(engine, data_type=59, exe="/tmp/x", argv="x", pid="2")
    other_host = detection(engine, data_type=59, exe="/tmp/x", argv="x", agent_id="a2")
    other_cmd = detection(engine, data_type=59, exe="/tmp/x", argv="xx")
    assert one.dedup_key == same.dedup_key
    assert len({one.dedup_key, other_host.dedup_key, other_cmd.dedup_key}) == 3
    assert len(one.dedup_key) == 32


def test_explicit_dedup_fields_and_frequency_groups():
    engine = engine_for(RULES)
    assert detection(engine, data_type=59, exe="/tmp/d", username="bob").key_values() == {"username": "bob"}
    detection(engine, data_type=4000, status="false", sip="198.51.100.1", timestamp=1)
    hit = detection(engine, data_type=4000, status="false", sip="198.51.100.1", timestamp=2)
    assert hit.frequency is not None and hit.key_values() == {"sip": "198.51.100.1"}
    as_dict = hit.as_dict()
    assert as_dict["frequency"]["value"] == 2 and as_dict["rule_id"] == "f" and as_dict["dedup_key"] == hit.dedup_key


def test_templates():
    assert fill_template("${exe} by ${user}", {"exe": "/x", "user": 0}) == "/x by 0"
    assert fill_template("${missing}|${a.b}|$exe|{exe}", {"a.b": "dotted", "exe": "x"}) == "|dotted|$exe|{exe}"
    assert fill_template("${__class__}", {}) == ""
