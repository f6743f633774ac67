"""Tasks: fan-out, rolling batches, results matched by token, offline agents, deadlines, core tasks.

Agents are real mTLS gRPC streams (``AgentStream``) that answer with a record
carrying the task's token, as PROTOCOL.md says a plugin does.
"""

from __future__ import annotations

import pytest

from elkeid import datatypes
from tests.integration._agent_stream import AgentStream
from tests.integration._manager import (  # noqa: F401 - fixtures
    admin,
    analyst,
    check_schema,
    mserver,
    new_id,
    openapi,
    viewer,
    wait_subtask,
)


@pytest.fixture(scope="module")
def trio(mserver, analyst):
    """Three connected agents sharing a tag."""
    tag = new_id("trio")
    streams = [AgentStream(mserver, new_id("t")).connect() for _ in range(3)]
    for s in streams:
        assert analyst.post(f"/api/v1/agents/{s.agent_id}/tags", json={"tags": [tag]}).status_code == 200
    yield tag, streams
    for s in streams:
        s.close()


def _answer(stream: AgentStream, task, status: str = "succeed", msg: str = "") -> None:
    stream.send(datatypes.COLLECTOR_TASK_RESULT, {"status": status, "msg": msg, "token": task.token})


def test_round_trip_by_token_in_rolling_batches(analyst, viewer, trio, openapi):
    tag, streams = trio
    r = analyst.post("/api/v1/tasks", json={"name": "collect users", "object_name": "collector",
                                            "data_type": datatypes.COLLECTOR_TASK_RESULT,
                                            "data": '{"type": 5052}', "targets": {"tags": [tag]},
                                            "concurrency": 1})  # fmt: skip
    assert r.status_code == 201, r.text
    task = r.json()
    check_schema(openapi, "Task", task)
    assert task["total"] == 3 and task["created_by"] == "analyst" and task["targets"] == {"tags": [tag]}
    by_id = {s.agent_id: s for s in streams}
    order = sorted(by_id)  # subtasks go out in agent-id order
    for i, aid in enumerate(order):
        got = by_id[aid].wait_task()
        assert (got.data_type, got.object_name, got.data) == (5100, "collector", '{"type": 5052}')
        # Concurrency 1: nobody else has been sent anything yet.
        for later in order[i + 1 :]:
            assert by_id[later].no_task_for(0.5)
        sub = wait_subtask(viewer, task["id"], aid, ("sent",))
        assert sub["token"] == got.token
        _answer(by_id[aid], got, "failed" if i == 1 else "succeed", msg="disk full" if i == 1 else "")
        sub = wait_subtask(viewer, task["id"], aid, ("succeeded", "failed"))
        assert sub["result"]["token"] == got.token and sub["result"]["data_type"] == "5100"
    subs = viewer.get(f"/api/v1/tasks/{task['id']}/subtasks").json()
    check_schema(openapi, "SubtaskList", subs)
    assert [s["status"] for s in subs["items"]] == ["succeeded", "failed", "succeeded"]
    assert subs["items"][1]["error"] == "disk full"
    from tests._support import wait_until

    done = wait_until(lambda: (t := viewer.get(f"/api/v1/tasks/{task['id']}").json())["status"] == "finished" and t,
                      10, message="task finished")  # fmt: skip
    assert done["counts"]["succeeded"] == 2 and done["counts"]["failed"] == 1
    listed = viewer.get("/api/v1/tasks", params={"status": "finished"}).json()
    check_schema(openapi, "TaskList", listed)
    assert task["id"] in [t["id"] for t in listed["items"]]


def test_an_agent_cannot_answer_for_another(analyst, viewer, trio):
    tag, (a, b, _c) = trio
    task = analyst.post("/api/v1/tasks", json={"object_name": "collector", "data_type": 5100,
                                               "targets": {"agent_ids": [a.agent_id]}}).json()  # fmt: skip
    got = a.wait_task()
    _answer(b, got)  # b replays a's token: ignored
    _answer(b, got)
    assert wait_subtask(viewer, task["id"], a.agent_id, ("sent",))
    _answer(a, got)
    assert wait_subtask(viewer, task["id"], a.agent_id, ("succeeded",))


def test_offline_agent_gets_its_task_when_it_connects(mserver, analyst, viewer):
    late = AgentStream(mserver, new_id("late"))  # enrolled, not connected
    try:
        task = analyst.post("/api/v1/tasks", json={"object_name": "scanner", "data_type": 6000,
                                                   "data": "{}", "targets": {"agent_ids": [late.agent_id]}}).json()  # fmt: skip
        assert wait_subtask(viewer, task["id"], late.agent_id, ("created",))
        late.connect()
        got = late.wait_task()
        assert got.object_name == "scanner"
        late.send(datatypes.SCAN_DONE, {"status": "succeed", "token": got.token})
        assert wait_subtask(viewer, task["id"], late.agent_id, ("succeeded",))
    finally:
        late.close()


def test_deadlines(mserver, analyst, viewer):
    away = AgentStream(mserver, new_id("away"))
    mute = AgentStream(mserver, new_id("mute")).connect()
    try:
        waited = analyst.post("/api/v1/tasks", json={"object_name": "collector", "data_type": 5100,
                                                     "targets": {"agent_ids": [away.agent_id]},
                                                     "wait_timeout": 1}).json()  # fmt: skip
        unanswered = analyst.post("/api/v1/tasks", json={"object_name": "collector", "data_type": 5100,
                                                         "targets": {"agent_ids": [mute.agent_id]},
                                                         "result_timeout": 1}).json()  # fmt: skip
        sub = wait_subtask(viewer, waited["id"], away.agent_id, ("timed_out",))
        assert sub["error"] == "the agent was not connected before the deadline" and sub["sent_at"] is None
        sub = wait_subtask(viewer, unanswered["id"], mute.agent_id, ("timed_out",))
        assert sub["error"] == "no result before the deadline" and sub["sent_at"]
    finally:
        mute.close()


def test_core_tasks_are_tasks_like_any_other(mserver, analyst, viewer):
    with AgentStream(mserver, new_id("core")) as agent:
        task = analyst.post("/api/v1/tasks", json={"object_name": "elkeid-agent", "data_type": 1051,
                                                   "data": '{"idc": "eu-west", "region": "fra"}',
                                                   "targets": {"agent_ids": [agent.agent_id]}}).json()  # fmt: skip
        assert task["expect_result"] is False
        got = agent.wait_task()
        assert (got.object_name, got.data_type) == ("elkeid-agent", 1051)
        assert wait_subtask(viewer, task["id"], agent.agent_id, ("succeeded",))  # no answer expected
        upload = analyst.post("/api/v1/tasks", json={"object_name": "elkeid-agent", "data_type": 1050,
                                                     "data": '{"path": "/etc/hostname"}',
                                                     "targets": {"agent_ids": [agent.agent_id]}}).json()  # fmt: skip
        assert upload["expect_result"] is True
        assert agent.wait_task().data_type == 1050
    r = analyst.post("/api/v1/tasks", json={"object_name": "elkeid-agent", "data_type": 1050, "data": "/etc",
                                            "targets": {"agent_ids": [agent.agent_id]}})  # fmt: skip
    assert r.status_code == 400 and "must be a JSON object" in r.json()["error"]["message"]


def test_targets_by_filter_and_cancel(mserver, analyst, viewer, trio):
    tag, streams = trio
    # Nobody connected has this platform: the filter picks agents, whatever their state.
    task = analyst.post("/api/v1/tasks", json={"object_name": "collector", "data_type": 5100, "concurrency": 1,
                                               "targets": {"filter": {"tag": [tag], "platform": "debian"}}}).json()  # fmt: skip
    assert task["total"] == 3
    r = analyst.post(f"/api/v1/tasks/{task['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    counts = r.json()["counts"]
    assert counts["cancelled"] + counts["sent"] + counts["succeeded"] == 3 and counts["cancelled"] >= 2
    for s in streams:  # drain what the one sent subtask delivered
        s.no_task_for(0.2)


def test_bad_task_requests(analyst, trio):
    tag, streams = trio
    one = {"agent_ids": [streams[0].agent_id]}
    cases = [
        ({"object_name": "collector", "data_type": 5100}, 400, "field targets is required"),
        ({"object_name": "collector", "data_type": 5100, "targets": {}}, 400, "exactly one of"),
        ({"object_name": "collector", "data_type": 5100, "targets": {"tags": [tag], "agent_ids": ["x"]}}, 400,
         "exactly one of"),
        ({"object_name": "collector", "data_type": "5100", "targets": one}, 400, "data_type must be an integer"),
        ({"object_name": "collector", "data_type": 2**40, "targets": one}, 400, "between 0 and 2147483647"),
        ({"object_name": "../../etc", "data_type": 1, "targets": one}, 400, "object_name '../../etc' is not valid"),
        ({"object_name": "collector", "data_type": 1, "targets": one, "concurrency": 0}, 400, "concurrency"),
        ({"object_name": "collector", "data_type": 1, "targets": one, "wait_timeout": -1}, 400, "wait_timeout"),
        ({"object_name": "collector", "data_type": 1, "targets": {"agent_ids": ["ghost-agent"]}}, 404,
         "no agent with id 'ghost-agent'"),
        ({"object_name": "collector", "data_type": 1, "targets": {"filter": {"hostname": "no-such-host-x"}}}, 400,
         "no enrolled agent matches"),
        ({"object_name": "elkeid-agent", "data_type": 5100, "targets": one}, 400, "core tasks"),
        ({"object_name": "collector", "data_type": 1, "targets": one, "data": "x" * 70000}, 400, "too long"),
    ]  # fmt: skip
    for body, status, message in cases:
        r = analyst.post("/api/v1/tasks", json=body)
        assert r.status_code == status, (body, r.text)
        assert message in r.json()["error"]["message"], (body, r.text)
    for path in ("/api/v1/tasks/" + "f" * 32, "/api/v1/tasks/not-a-task", "/api/v1/tasks/" + "0" * 32 + "/subtasks"):
        assert analyst.get(path).status_code == 404, path
    assert analyst.post("/api/v1/tasks/" + "a" * 32 + "/cancel").status_code == 404


def test_hostile_task_data_is_stored_and_sent_verbatim(analyst, viewer, trio):
    tag, (a, *_rest) = trio
    hostile = "'; DROP TABLE subtasks; -- <script>alert(1)</script> \u202e {{7*7}}"
    task = analyst.post("/api/v1/tasks", json={"object_name": "collector", "data_type": 5100, "data": hostile,
                                               "name": hostile, "targets": {"agent_ids": [a.agent_id]}}).json()  # fmt: skip
    got = a.wait_task()
    assert got.data == hostile
    stored = viewer.get(f"/api/v1/tasks/{task['id']}").json()
    assert stored["data"] == hostile and stored["name"] == hostile
    a.send(5100, {"status": "succeed", "token": got.token, "msg": hostile})
    assert wait_subtask(viewer, task["id"], a.agent_id, ("succeeded",))["result"]["msg"] == hostile
