from __future__ import annotations

import json

import pytest

from elkeid import datatypes
from elkeid.agent.plugins.collector import ASSETS, SnapshotResult, TaskError, specs_for_task
from elkeid.agent.plugins.collector._tasks import answer
from elkeid.proto import bridge_pb2


def task(data_type: int, data: str = "") -> bridge_pb2.Task:
    return bridge_pb2.Task(data_type=data_type, object_name="collector", data=data, token="t")


def test_elkeid_form_asset_type_as_data_type():
    assert specs_for_task(task(5051)) == [ASSETS[5051]]


@pytest.mark.parametrize("data", ["", "  ", "{}", '{"types": []}'])
def test_our_form_without_types_means_every_type(data):
    assert specs_for_task(task(5100, data)) == list(ASSETS.values())


def test_our_form_by_number_and_name_without_repeats():
    specs = specs_for_task(task(5100, json.dumps({"types": [5062, "listen_port", "5062", "kmod"]})))
    assert [s.data_type for s in specs] == [5062, 5051]


@pytest.mark.parametrize("t, message", [
    (task(4242), "data_type 4242 is not a collector task"),
    (task(5100, "{nope"), "task data is not JSON"),
    (task(5100, "[5050]"), "must be a JSON object"),
    (task(5100, '{"types": 5050}'), '"types" must be a list'),
    (task(5100, json.dumps({"types": list(range(100))})), "at most 64"),
    (task(5100, '{"types": ["processes"]}'), "unknown asset type 'processes'"),
    (task(5100, '{"types": [true]}'), "unknown asset type 'True'"),
    (task(5100, '{"types": [{"a": 1}]}'), "unknown asset type"),
    (task(5100, "x" * 70000), "over the 65536-byte limit"),
])  # fmt: skip
def test_bad_tasks_are_refused_with_a_clear_message(t, message):
    with pytest.raises(TaskError, match=message):
        specs_for_task(t)


def test_answers():
    ok = SnapshotResult(5051, "aa" * 8, 3, "complete", "", 5)
    bad = SnapshotResult(5056, "bb" * 8, 0, "failed", "docker: 500", 5)
    good = answer("tok", [ok])
    assert good["status"] == "succeed" and good["token"] == "tok" and good["msg"] == ""
    assert json.loads(good["snapshots"]) == [{"data_type": 5051, "package_seq": "aa" * 8, "count": 3, "status": "complete", "msg": ""}]
    failed = answer("tok", [ok, bad])
    assert failed["status"] == "failed" and failed["msg"] == "container: failed: docker: 500"
    refused = answer("tok", [], "data_type 1 is not a collector task")
    assert refused["status"] == "failed" and refused["snapshots"] == "[]"
    assert not datatypes.get(datatypes.COLLECTOR_TASK_RESULT).problems(refused)
