"""Whitelist from alert: a scoped whitelist rule that loads and silences exactly what it should."""

from __future__ import annotations

import pytest

from elkeid.server.engine import Alert, RuleEngine, Source, WhitelistError, load_sources, whitelist_from_alert, whitelist_yaml
from tests.unit.server.engine._support import fired

RULES = "rules:\n  - {id: tmp_exec, name: Exec from /tmp, severity: medium, data_type: 59, match: {field: exe, startswith: /tmp/}}\n"
EVENT = {"data_type": 59, "agent_id": "a1", "hostname": "build-1", "exe": "/tmp/build/cc1", "argv": "cc1 -O2", "username": "ci"}


def engine_with(*whitelists) -> RuleEngine:
    engine = RuleEngine()
    engine.apply(load_sources([Source("r.yaml", RULES), Source("wl.yaml", whitelist_yaml(whitelists))]) if whitelists
                 else load_sources([Source("r.yaml", RULES)]))  # fmt: skip
    return engine


def test_host_scoped_whitelist_from_a_detection():
    (detection,) = engine_with().process(EVENT)
    wl = whitelist_from_alert(detection, ["exe"], created_by="alice", comment="compiler in CI")
    assert wl["kind"] == "whitelist" and wl["suppresses"] == ["tmp_exec"] and wl["data_type"] == 59
    assert wl["match"] == {"all": [{"field": "agent_id", "equals": "a1"}, {"field": "exe", "equals": "/tmp/build/cc1"}]}
    assert "alice" in wl["description"] and "compiler in CI" in wl["description"]
    engine = engine_with(wl)
    assert fired(engine, **EVENT) == []
    assert fired(engine, **{**EVENT, "agent_id": "a2"}) == ["tmp_exec"]
    assert fired(engine, **{**EVENT, "exe": "/tmp/evil"}) == ["tmp_exec"]


def test_fleet_wide_whitelist_from_an_alert_record():
    (detection,) = engine_with().process(EVENT)
    record = Alert.from_detection(detection).as_dict()
    wl = whitelist_from_alert(record, ["exe", "username"], scope="all")
    engine = engine_with(wl)
    assert fired(engine, **{**EVENT, "agent_id": "a9"}) == []
    assert fired(engine, **{**EVENT, "username": "root"}) == ["tmp_exec"]


def test_the_whitelist_id_is_stable_and_can_be_chosen():
    (detection,) = engine_with().process(EVENT)
    assert whitelist_from_alert(detection, ["exe"])["id"] == whitelist_from_alert(detection, ["exe"])["id"]
    assert whitelist_from_alert(detection, ["exe"], whitelist_id="my-wl")["id"] == "my-wl"


@pytest.mark.parametrize("fields,scope,message", [
    (["pid"], "host", "field 'pid' is not in the alert's event"),
    (["bad name"], "host", "'bad name' is not a field name"),
    ([], "all", "needs at least one field"),
    (["exe"], "galaxy", "unknown whitelist scope 'galaxy'"),
])  # fmt: skip
def test_refusals(fields, scope, message):
    (detection,) = engine_with().process(EVENT)
    with pytest.raises(WhitelistError, match=message):
        whitelist_from_alert(detection, fields, scope=scope)


def test_alert_records_need_a_rule_and_an_event():
    with pytest.raises(WhitelistError, match="needs rule_id and event"):
        whitelist_from_alert({"agent_id": "a1"}, ["exe"])


def test_hostile_values_are_data_not_yaml():
    event = {**EVENT, "exe": "/tmp/x\nrules: [oops]\n'\"}{"}
    (detection,) = engine_with().process(event)
    wl = whitelist_from_alert(detection, ["exe"])
    assert fired(engine_with(wl), **event) == []
