"""Tasks in the store: fan-out, rolling claims, results by token, deadlines (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from elkeid.server.store import AgentFilter, NotFound, Store, result_status

from ._helpers import add_agent


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    for i in range(5):
        add_agent(s, f"a{i}", tags=["even"] if i % 2 == 0 else ["odd"])
    yield s
    s.close()


def _task(store, flt=AgentFilter(), **kw):
    args = dict(agents=flt, name="t", object_name="collector", data_type=5100, data='{"x": 1}', targets={},
                concurrency=2, wait_timeout=100, result_timeout=50, expect_result=True, created_by="root")  # fmt: skip
    args.update(kw)
    return store.create_task(**args)


def test_create_fans_out(store):
    task = _task(store, AgentFilter(any_tags=("even",)))
    assert task["total"] == 3 and task["counts"]["created"] == 3 and task["status"] == "running"
    subs, total = store.list_subtasks(task["id"])
    assert total == 3 and [s["agent_id"] for s in subs] == ["a0", "a2", "a4"]
    assert len({s["token"] for s in subs}) == 3
    with pytest.raises(NotFound, match="no enrolled agent matches"):
        _task(store, AgentFilter(tags=("none",)))


def test_claims_respect_concurrency_and_connections(store):
    task = _task(store, concurrency=2)
    claimed = store.claim_subtasks(["a0", "a1", "a3", "a4"], now=10)
    assert [c["agent_id"] for c in claimed] == ["a0", "a1"]
    assert claimed[0]["data"] == '{"x": 1}' and claimed[0]["data_type"] == 5100
    assert store.claim_subtasks(["a0", "a1", "a3", "a4"], now=11) == []  # no room
    # a0 answers: one slot frees; a2 is not connected, so a3 is next.
    assert store.record_results("a0", [(claimed[0]["token"], 5100, {"status": "succeeded", "token": "x"})])
    assert [c["agent_id"] for c in store.claim_subtasks(["a0", "a1", "a3", "a4"], now=12)] == ["a3"]
    counts = store.get_task(task["id"])["counts"]
    assert counts["sent"] == 2 and counts["succeeded"] == 1 and counts["created"] == 2


def test_a_failed_send_waits_again(store):
    _task(store, concurrency=5)
    (first, *_rest) = store.claim_subtasks(["a0"], now=1)
    store.unclaim_subtask(first["token"])
    assert [c["token"] for c in store.claim_subtasks(["a0"], now=2)] == [first["token"]]


def test_results_match_only_the_sending_agent_and_first_wins(store):
    task = _task(store, concurrency=5)
    claimed = {c["agent_id"]: c["token"] for c in store.claim_subtasks(["a0", "a1"])}
    # a1 cannot answer for a0.
    assert store.record_results("a1", [(claimed["a0"], 5100, {"status": "succeeded"})]) == []
    assert store.record_results("a0", [(claimed["a0"], 5100, {"status": "failed", "msg": "no such file"}),
                                       (claimed["a0"], 5100, {"status": "succeeded"})]) == [claimed["a0"]]  # fmt: skip
    assert store.record_results("a0", [("unknown-token", 5100, {})]) == []
    subs = {s["agent_id"]: s for s in store.list_subtasks(task["id"])[0]}
    assert subs["a0"]["status"] == "failed" and subs["a0"]["error"] == "no such file"
    assert subs["a0"]["result"] == {"data_type": "5100", "status": "failed", "msg": "no such file"}
    assert subs["a1"]["status"] == "sent"


def test_hostile_and_huge_results_are_kept_as_trimmed_data(store):
    task = _task(store)
    (c, *_r) = store.claim_subtasks(["a0"])
    fields = {"status": "ok", "msg": "'; DROP TABLE subtasks; --", "big": "x" * 100_000, "a_nul\0": "a\0b",
              **{f"f{i:03}": "v" for i in range(200)}}  # fmt: skip
    store.record_results("a0", [(c["token"], 5100, fields)])
    (sub,), _ = store.list_subtasks(task["id"], agent_id="a0")
    assert sub["status"] == "succeeded"
    assert len(sub["result"]) <= 65
    assert sub["result"]["msg"] == "'; DROP TABLE subtasks; --"
    assert sub["result"]["a_nul\ufffd"] == "a\ufffdb"  # PostgreSQL cannot hold NUL in text


def test_deadlines(store):
    task = _task(store, concurrency=1, wait_timeout=100, result_timeout=50)
    (c,) = store.claim_subtasks(["a0"], now=1000)  # created at ~now; claimed "at" 1000
    assert store.expire_subtasks(now=1049) == 0
    assert store.expire_subtasks(now=1051) == 1  # a0: no result in 50 s
    # The others never had their agent connected: they time out at created + 100.
    created_at = store.list_subtasks(task["id"])[0][0]["created_at"]
    assert store.expire_subtasks(now=created_at + 101) == 4
    counts = store.get_task(task["id"])["counts"]
    assert counts["timed_out"] == 5
    subs = {s["agent_id"]: s for s in store.list_subtasks(task["id"])[0]}
    assert subs["a0"]["error"] == "no result before the deadline"
    assert subs["a1"]["error"] == "the agent was not connected before the deadline"
    # A late answer is still the truth.
    assert store.record_results("a0", [(c["token"], 5100, {"status": "ok"})]) == [c["token"]]
    assert store.finish_tasks() == [task["id"]]
    assert store.get_task(task["id"])["status"] == "finished"


def test_no_answer_tasks_complete_when_sent(store):
    task = _task(store, expect_result=False, concurrency=5, object_name="elkeid-agent", data_type=1060)
    claimed = store.claim_subtasks(["a0", "a1"])
    store.complete_sent([c["token"] for c in claimed])
    assert store.get_task(task["id"])["counts"]["succeeded"] == 2


def test_cancel_and_revoke(store):
    task = _task(store, concurrency=1)
    store.claim_subtasks(["a0"])
    cancelled = store.cancel_task(task["id"])
    assert cancelled["status"] == "cancelled"
    assert cancelled["counts"]["cancelled"] == 4 and cancelled["counts"]["sent"] == 1
    assert store.fail_agent_subtasks("a0", "the agent was revoked") == 1
    with pytest.raises(NotFound):
        store.cancel_task("0" * 32)


def test_listing(store):
    t1 = _task(store)
    t2 = _task(store, name="second")
    items, total = store.list_tasks()
    assert total == 2 and [t["id"] for t in items] == [t2["id"], t1["id"]]
    assert store.list_tasks(status="finished") == ([], 0)
    assert [s["agent_id"] for s in store.list_subtasks(t1["id"], offset=3, limit=10)[0]] == ["a3", "a4"]
    with pytest.raises(NotFound):
        store.get_task("nope")
    with pytest.raises(NotFound):
        store.list_subtasks("nope")


@pytest.mark.parametrize(
    "fields, state",
    [({}, "succeeded"), ({"status": "succeed"}, "succeeded"), ({"status": "0"}, "succeeded"),
     ({"status": "FAILED"}, "failed"), ({"status": "error", "msg": "boom"}, "failed"),
     ({"status": "false"}, "failed")],
)  # fmt: skip
def test_result_status(fields, state):
    assert result_status(fields)[0] == state


def test_only_the_tasks_own_type_or_a_done_type_settles_a_subtask(store):
    """The collector tags its 5101 snapshot markers with the task's token; its 5100 answer settles."""
    task = _task(store, AgentFilter(ids=("a0",)), object_name="collector", data_type=5051)
    (sub,), _total = store.list_subtasks(task["id"])
    token = sub["token"]
    assert store.record_results("a0", [(token, 5101, {"status": "complete", "token": token})]) == []
    assert store.record_results("a0", [(token, 5100, {"status": "succeed", "token": token})]) == [token]
