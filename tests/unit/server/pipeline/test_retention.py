"""The cleaner keeps the recent-event store within its retention and size cap."""

from __future__ import annotations

import anyio
import pytest

from elkeid.server.pipeline import prune_interval
from tests.unit.server._inproc import batch, channel, enroll, read_command, running_server, transfer

pytestmark = pytest.mark.anyio


def test_interval_is_a_tenth_of_retention_within_bounds():
    assert prune_interval(24 * 3600) == 60
    assert prune_interval(100) == 10
    assert prune_interval(2) == 1


async def _send(ctx, agent_id: str, n: int) -> None:
    ident = await anyio.to_thread.run_sync(enroll, ctx, agent_id)
    async with channel(ctx, ident) as chan:
        call = transfer(chan)
        for seq in range(1, n + 1):
            await call.write(batch(agent_id, seq, [(59, {"seq": str(seq)})]).SerializeToString())
            await read_command(call)
        await call.done_writing()


async def _wait_count(ctx, want: int, timeout: float = 15) -> None:
    with anyio.fail_after(timeout):
        while await anyio.to_thread.run_sync(ctx.store.count_events) != want:
            await anyio.sleep(0.1)


async def test_events_older_than_the_retention_go(tmp_path):
    async with running_server(tmp_path / "srv", event_retention=1.0) as ctx:
        await _send(ctx, "r1", 3)
        assert await anyio.to_thread.run_sync(ctx.store.count_events) == 3
        await _wait_count(ctx, 0)


async def test_the_size_cap_keeps_the_newest(tmp_path):
    # A 30 s retention: the cleaner runs every 3 s, and nothing here gets old enough.
    async with running_server(tmp_path / "srv", event_retention=30.0, event_max_rows=4) as ctx:
        await _send(ctx, "r2", 10)
        await _wait_count(ctx, 4)
        from elkeid.server.store import EventQuery

        items, _ = await anyio.to_thread.run_sync(ctx.store.search_events, EventQuery())
        assert [i["fields"]["seq"] for i in items] == ["10", "9", "8", "7"]
