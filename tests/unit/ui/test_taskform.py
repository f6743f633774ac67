"""The task form's kinds and targets, turned into the API's task body."""

from __future__ import annotations

import json

import pytest
from werkzeug.datastructures import MultiDict

from elkeid import datatypes
from elkeid.ui._taskform import COLLECTOR_TYPES, payload, split_words, targets, task_body
from elkeid.ui.errors import BadForm


def f(*pairs, **fields) -> MultiDict:
    return MultiDict([*pairs, *fields.items()])


def test_the_collector_types_offered_are_those_it_collects():
    from elkeid.agent.plugins.collector import ASSETS

    assert {dt.number for dt in COLLECTOR_TYPES} == set(ASSETS)


def test_collector_snapshot():
    assert payload(f(("types", "process"), ("types", "user"), kind="collector")) == (
        "collector", datatypes.COLLECTOR_TASK_RESULT, '{"types": ["process", "user"]}')  # fmt: skip
    assert payload(f(kind="collector"))[2] == "{}"  # none ticked: every type
    every = f(*(("types", dt.name) for dt in COLLECTOR_TYPES), kind="collector")
    assert payload(every)[2] == "{}"
    with pytest.raises(BadForm, match="the collector has no asset type 'integrity'"):
        payload(f(("types", "integrity"), kind="collector"))


def test_driver_control():
    assert payload(f(kind="driver")) == ("driver", datatypes.DRIVER_CONTROL, '{"action": "status"}')
    _, _, data = payload(f(kind="driver", driver_action="allowlist.add", driver_exe="/opt/a\n\n /opt/b \n"))
    assert json.loads(data) == {"action": "allowlist.add", "exe": ["/opt/a", "/opt/b"]}
    assert json.loads(payload(f(kind="driver", driver_action="allowlist.set"))[2]) == {"action": "allowlist.set"}
    _, _, data = payload(f(kind="driver", driver_action="options.set", driver_options='{"drop_loopback": false}'))
    assert json.loads(data) == {"action": "options.set", "options": {"drop_loopback": False}}
    with pytest.raises(BadForm, match="allowlist.remove needs at least one"):
        payload(f(kind="driver", driver_action="allowlist.remove"))
    with pytest.raises(BadForm, match="the driver options must be a JSON object"):
        payload(f(kind="driver", driver_action="options.set", driver_options="[1]"))
    with pytest.raises(BadForm, match="not valid JSON"):
        payload(f(kind="driver", driver_action="options.set", driver_options="{"))
    with pytest.raises(BadForm, match="unknown driver action 'reboot'"):
        payload(f(kind="driver", driver_action="reboot"))


def test_core_tasks():
    assert payload(f(kind="idc", idc="eu-1", region="")) == ("elkeid-agent", datatypes.TASK_SET_IDC, '{"idc": "eu-1"}')
    with pytest.raises(BadForm, match="give an idc, a region, or both"):
        payload(f(kind="idc"))
    assert payload(f(kind="shutdown", confirm_shutdown="yes")) == ("elkeid-agent", datatypes.TASK_SHUTDOWN, "")
    with pytest.raises(BadForm, match="tick the box"):
        payload(f(kind="shutdown"))


def test_raw_tasks():
    assert payload(f(kind="raw", object_name=" scanner ", data_type="6000", data='{"path": "/"}')) == (
        "scanner", 6000, '{"path": "/"}')  # fmt: skip
    with pytest.raises(BadForm, match="data_type must be a whole number, not '5e3'"):
        payload(f(kind="raw", object_name="x", data_type="5e3"))
    with pytest.raises(BadForm, match="needs its data_type"):
        payload(f(kind="raw", object_name="x"))
    with pytest.raises(BadForm, match="unknown kind of task 'nuke'"):
        payload(f(kind="nuke"))


def test_targets():
    assert targets(f(("agent_id", "a"), ("agent_id", "b"), ("agent_id", "a"))) == {"agent_ids": ["a", "b"]}
    assert targets(f(target="tags", tags="web,prod web")) == {"tags": ["web", "prod"]}
    assert targets(f(target="filter")) == {"filter": {}}  # every enrolled host
    assert targets(f(target="filter", f_online="no", f_tag="a b", f_platform="debian", f_ip=" 10.0. ")) == {
        "filter": {"online": False, "tag": ["a", "b"], "platform": "debian", "ip": "10.0."}}  # fmt: skip
    for form, message in ((f(), "choose at least one host"), (f(target="tags", tags=" "), "name at least one tag"),
                          (f(target="filter", f_online="maybe"), "online must be"),
                          (f(target="everyone"), "unknown target 'everyone'")):  # fmt: skip
        with pytest.raises(BadForm, match=message):
            targets(form)


def test_task_body():
    body = task_body(f(("agent_id", "a"), kind="collector", name=" nightly ", concurrency="5", result_timeout="30.5",
                       wait_timeout=""))  # fmt: skip
    assert body == {"name": "nightly", "object_name": "collector", "data_type": 5100, "data": "{}",
                    "targets": {"agent_ids": ["a"]}, "concurrency": 5, "result_timeout": 30.5}  # fmt: skip
    with pytest.raises(BadForm, match="concurrency must be a whole number"):
        task_body(f(("agent_id", "a"), concurrency="many"))
    with pytest.raises(BadForm, match="result timeout must be a number"):
        task_body(f(("agent_id", "a"), result_timeout="nan"))


def test_split_words():
    assert split_words(" a, b\tc,,a ") == ["a", "b", "c"]
    assert split_words(None) == []
