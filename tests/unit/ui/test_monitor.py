"""The console monitor: host status on the live feed, ingest figures, signals."""

from __future__ import annotations

import anyio
import pytest
from sqlalchemy import event

from elkeid import datatypes
from elkeid.server.ac import Connection
from elkeid.server.pipeline import Batch
from elkeid.ui import LiveFeed
from elkeid.ui._monitor import ConsoleMonitor

from ._client import add_agent

pytestmark = pytest.mark.anyio


def fast_monitor(ctx) -> ConsoleMonitor:
    return ConsoleMonitor(ctx, LiveFeed(), hub_poll=0.02, refresh=0.2, sample_interval=0.05)


async def test_connects_and_disconnects_reach_listeners(ctx):
    add_agent(ctx.store, "m-1", hostname="one", connected=False)
    monitor = fast_monitor(ctx)
    conn = Connection(agent_id="m-1", peer="p", serial="s")
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(monitor.run)
            with monitor.feed.listen(["hosts"]) as events:
                snap = await monitor.feed.snapshot("hosts")
                assert snap["items"] == [{"id": "m-1", "status": "never-seen", "last_seen": None}]
                assert snap["counts"]["never-seen"] == 1
                ctx.hub.register(conn)
                ctx.store.agent_connected("m-1", {"hostname": "one"}, "127.0.0.1")
                with anyio.fail_after(5):
                    topic, data = await events.receive()
                assert topic == "hosts" and data["items"][0]["status"] == "online"
                assert data["counts"]["online"] == 1 and not data["snapshot"]
                ctx.hub.unregister(conn)
                ctx.store.agent_disconnected("m-1")
                with anyio.fail_after(5):
                    _topic, data = await events.receive()
                assert data["items"][0]["status"] == "offline"
            tg.cancel_scope.cancel()
    finally:
        conn.send_stream.close()
        conn.receive_stream.close()
    assert monitor.feed.full  # closed on the way out: open live responses end at once


async def test_new_enrollments_and_revocations_are_published(ctx):
    monitor = fast_monitor(ctx)
    async with anyio.create_task_group() as tg:
        await tg.start(monitor.run)
        with monitor.feed.listen(["hosts"]) as events:
            add_agent(ctx.store, "m-2", connected=False)
            with anyio.fail_after(5):
                _t, data = await events.receive()
            assert data["items"] == [{"id": "m-2", "status": "never-seen", "last_seen": None}]
            ctx.store.revoke_agent("m-2")
            with anyio.fail_after(5):
                _t, data = await events.receive()
            assert data["items"][0]["status"] == "revoked"
        tg.cancel_scope.cancel()


async def test_durable_batches_feed_ingest_figures_and_signals(ctx):
    add_agent(ctx.store, "m-3", heartbeat={"state": "running"})
    monitor = fast_monitor(ctx)
    async with anyio.create_task_group() as tg:
        await tg.start(ctx.writer.run)
        await tg.start(monitor.run)
        records = [(datatypes.EXECVE, 1, {"argv": "ls"})] * 3 + [(datatypes.DRIVER_UNAVAILABLE, 1, {"reason": "no bpf"})]
        await ctx.writer.submit(Batch(agent_id="m-3", seq=1, records=records))
        with anyio.fail_after(5):
            while monitor.ingest.rates()["stored_records"] < 4 or monitor.signals.get("m-3") is None:
                await anyio.sleep(0.02)
        assert monitor.ingest.by_type()[0] == ("execve (59)", datatypes.EXECVE, 3)
        assert monitor.signals.get("m-3").driver_unavailable == {"reason": "no bpf"}
        problems = await monitor.problems()
        assert [(p.agent_id, p.summary) for p in problems] == [("m-3", "driver unavailable")]
        tg.cancel_scope.cancel()


async def test_a_restarted_console_remembers_driver_and_error_signals(ctx):
    """Signals come back from the recent-event store; a batch both stored and streamed counts once."""
    add_agent(ctx.store, "m-4", hostname="four", heartbeat={"state": "running"})
    unavailable = Batch(agent_id="m-4", seq=1, records=[(datatypes.DRIVER_UNAVAILABLE, 1, {"reason": "no bpf"}),
                                                        (datatypes.AGENT_ERROR, 1, {"level": "error", "msg": "x"})])
    ctx.store.store_batches([unavailable])  # stored before this console started (an earlier server run)
    monitor = fast_monitor(ctx)
    async with anyio.create_task_group() as tg:
        await tg.start(ctx.writer.run)
        await tg.start(monitor.run)
        s = monitor.signals.get("m-4")
        assert s is not None and s.driver_unavailable == {"reason": "no bpf"} and s.error_count == 1
        assert s.driver_unavailable_at == unavailable.received_at
        assert [p.summary for p in await monitor.problems()] == ["driver unavailable", "1 error(s) logged"]
        await ctx.writer.submit(Batch(agent_id="m-4", seq=2, records=[(datatypes.DRIVER_STATUS, 2, {"ok": "1"})]))
        with anyio.fail_after(5):
            while s.driver_unavailable is not None:
                await anyio.sleep(0.02)
        tg.cancel_scope.cancel()


async def test_a_batch_read_back_and_streamed_counts_once(ctx):
    monitor = fast_monitor(ctx)
    batch = Batch(agent_id="m-5", seq=1, records=[(datatypes.AGENT_ERROR, 1, {"level": "error", "msg": "x"})])
    ctx.store.store_batches([batch])
    await monitor._replay_signals()
    send, receive = anyio.create_memory_object_stream(4)
    async with send, receive:
        later = Batch(agent_id="m-5", seq=2, records=batch.records, received_at=batch.received_at + 1)
        for b in (batch, later):
            send.send_nowait(b)
        send.close()
        await monitor._observe(receive)
    assert monitor.signals.get("m-5").error_count == 2  # the replayed one, then the later one


async def test_problems_read_plugin_heartbeats_once_and_compare_the_assigned_set(ctx):
    from elkeid.server.ac import Connection

    add_agent(ctx.store, "m-6", hostname="six", heartbeat={"state": "running"},
              plugins=[{"name": "scanner", "state": "running"}])  # fmt: skip
    add_agent(ctx.store, "m-7", hostname="seven", heartbeat={"state": "running"},
              plugins=[{"name": "collector", "state": "running"}])  # fmt: skip
    collector = next(c for c in ctx.store.list_components() if c["name"] == "collector")
    ctx.store.add_assignment(collector["id"], {}, None, "admin")
    conn = Connection(agent_id="m-6", peer="p", serial="s", connected_at=0.0)
    ctx.hub.register(conn)
    reads = []

    def count(_conn, _cursor, statement, *_args):
        if "FROM plugin_heartbeats" in statement:
            reads.append(statement)

    event.listen(ctx.store.engine, "before_cursor_execute", count)
    try:
        problems = await ConsoleMonitor(ctx, LiveFeed()).problems()
    finally:
        event.remove(ctx.store.engine, "before_cursor_execute", count)
        ctx.hub.unregister(conn)
        conn.send_stream.close()
        conn.receive_stream.close()
    assert len(reads) == 1  # one query for every host's plugin heartbeats
    assert sorted((p.agent_id, p.summary, p.detail) for p in problems) == [
        ("m-6", "assigned plugin not running", "collector"), ("m-6", "unexpected plugin (not assigned)", "scanner")]
