"""The task dispatcher with a real store and a real AgentHub (in process, no network)."""

from __future__ import annotations

from types import SimpleNamespace

import anyio
import pytest

from elkeid.server.ac import AgentHub, Connection
from elkeid.server.manager._dispatch import TaskDispatcher
from elkeid.server.pipeline import Batch
from elkeid.server.store import AgentFilter, Store
from tests.unit.server.store._helpers import add_agent

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def ctx(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    for aid in ("a", "b", "c"):
        add_agent(store, aid)
    ctx = SimpleNamespace(store=store, hub=AgentHub(), conns=[])
    yield ctx
    for conn in ctx.conns:
        conn.send_stream.close()
        conn.receive_stream.close()
    store.close()


def _connect(ctx, aid: str) -> Connection:
    conn = Connection(agent_id=aid, peer="test", serial="s")
    ctx.hub.register(conn)
    ctx.conns.append(conn)
    return conn


def _task(store, concurrency, **kw):
    args = dict(agents=AgentFilter(), name="", object_name="collector", data_type=5100, data="{}", targets={},
                concurrency=concurrency, wait_timeout=60, result_timeout=60, expect_result=True, created_by="t")  # fmt: skip
    args.update(kw)
    return store.create_task(**args)


async def test_rolling_batches_and_results(ctx):
    conns = {aid: _connect(ctx, aid) for aid in ("a", "b", "c")}
    task = _task(ctx.store, concurrency=2)
    d = TaskDispatcher(ctx)
    await d.step()
    got = {aid: c.receive_stream.receive_nowait().task for aid, c in conns.items() if aid in ("a", "b")}
    assert all(t.data_type == 5100 and t.object_name == "collector" for t in got.values())
    with pytest.raises(anyio.WouldBlock):
        conns["c"].receive_stream.receive_nowait()
    # a's answer arrives through the durable batch stream: the slot goes to c.
    send, receive = anyio.create_memory_object_stream[Batch](4)
    async with send, anyio.create_task_group() as tg:
        tg.start_soon(d.consume_results, receive)
        # The collector's snapshot markers carry the token before its answer: they are not the answer.
        marker = {"data_type": "5051", "package_seq": "s", "count": "0", "status": "failed", "token": got["a"].token}
        await send.send(Batch(agent_id="a", seq=1, records=[(5101, 1, marker),
                                                              (5100, 1, {"status": "succeed", "token": got["a"].token}),
                                                              (42, 1, {"pid": "1"})]))  # fmt: skip
        send.close()
    assert d.results == 1
    await d.step()
    assert conns["c"].receive_stream.receive_nowait().task.token
    counts = ctx.store.get_task(task["id"])["counts"]
    assert (counts["succeeded"], counts["sent"]) == (1, 2)


async def test_an_agent_that_went_away_is_retried_later(ctx):
    conn = _connect(ctx, "a")
    conn.send_stream.close()  # its stream is gone, but it is still registered
    task = _task(ctx.store, concurrency=5, agents=AgentFilter(ids=("a",)))
    await TaskDispatcher(ctx).step()
    assert ctx.store.get_task(task["id"])["counts"]["created"] == 1


async def test_tasks_without_answers_succeed_when_sent(ctx):
    conn = _connect(ctx, "b")
    task = _task(ctx.store, concurrency=5, agents=AgentFilter(ids=("b",)), expect_result=False)
    d = TaskDispatcher(ctx)
    await d.step()
    assert conn.receive_stream.receive_nowait().task.data_type == 5100
    assert ctx.store.get_task(task["id"])["counts"]["succeeded"] == 1
    await d.step()
    assert ctx.store.get_task(task["id"])["status"] == "finished"
