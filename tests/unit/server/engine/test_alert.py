from __future__ import annotations

import json

import pytest

from elkeid.server.engine import Alert, StatusChangeError, build_process_chain
from tests.unit.server.engine._support import engine_for

RULES = "rules:\n  - {id: r, name: R, severity: high, data_type: 59, attack: [T1059], match: {field: exe, startswith: /tmp/}, append: {k: v}}\n"


def make_alert() -> Alert:
    engine = engine_for(RULES)
    event = {"data_type": 59, "agent_id": "a1", "hostname": "h1", "exe": "/tmp/x", "pid": "5", "ppid": "4", "timestamp": 9}
    (detection,) = engine.process(event)
    return Alert.from_detection(detection, chain=build_process_chain(event, []), now=100.0)


def test_alert_record_shape():
    record = make_alert().as_dict()
    assert set(record) == {"id", "dedup_key", "rule_id", "rule_name", "severity", "rule_source", "rule_kind",
                           "description", "attack", "agent_id", "hostname", "data_type", "event", "fields",
                           "frequency", "process_chain", "first_seen", "last_seen", "count", "status", "history"}  # fmt: skip
    assert (record["rule_id"], record["severity"], record["hostname"], record["fields"], record["status"]) == ("r", "high", "h1", {"k": "v"}, "open")
    assert record["process_chain"][0]["pid"] == "5" and record["first_seen"] == record["last_seen"] == 100.0
    json.dumps(record)  # storable as JSON as it is


def test_repeats_and_triage():
    alert = make_alert()
    alert.repeat(150.0)
    alert.repeat(120.0)
    assert alert.count == 3 and alert.last_seen == 150.0
    alert.change_status("acknowledged", by="alice", comment="looking", at=200.0)
    alert.change_status("false_positive", by="bob", comment="CI job", at=300.0)
    assert alert.status == "false_positive"
    assert alert.history == [
        {"at": 200.0, "by": "alice", "from": "open", "to": "acknowledged", "comment": "looking"},
        {"at": 300.0, "by": "bob", "from": "acknowledged", "to": "false_positive", "comment": "CI job"},
    ]
    with pytest.raises(StatusChangeError, match="an alert that is false_positive can go to open, not resolved"):
        alert.change_status("resolved", by="bob")
    with pytest.raises(StatusChangeError, match="unknown alert status 'closed'"):
        alert.change_status("closed", by="bob")
