"""The console monitor: host status on the live feed, ingest figures, signals."""

from __future__ import annotations

import anyio
import pytest

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
