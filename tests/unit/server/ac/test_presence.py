"""Agent presence: offline is written whenever a stream ends, before the hub lets go, in order per agent."""

from __future__ import annotations

import anyio
import pytest

import grpc

from tests.unit.server._inproc import batch, channel, ended_with, enroll, read_command, running_server, transfer

pytestmark = pytest.mark.anyio


async def _online(ctx, agent_id: str, seq: int = 1, ident=None):
    """A channel holding an acknowledged Transfer stream of ``agent_id`` (enrolled unless ``ident`` is given)."""
    ident = ident or await anyio.to_thread.run_sync(enroll, ctx, agent_id)
    chan = channel(ctx, ident)
    call = transfer(chan)
    await call.write(batch(agent_id, seq, [(1000, {"cpu": "1"})], hostname="h").SerializeToString())
    assert (await read_command(call)).ack_seq == seq
    return chan, call, ident


async def test_the_store_says_offline_before_the_hub_lets_go(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        chan, _call, _ident = await _online(ctx, "leaver")
        assert "leaver" in ctx.hub
        await chan.close(grace=None)  # what an agent does when it stops: its call is cancelled
        with anyio.fail_after(10):
            while "leaver" in ctx.hub:
                await anyio.sleep(0)
        # No await between the two looks: the console polls the hub, then reads the store.
        assert ctx.store.get_agent("leaver")["online"] is False


async def test_every_agent_that_cancels_its_call_is_marked_offline(tmp_path):
    ids = [f"gone-{i}" for i in range(12)]
    async with running_server(tmp_path / "srv") as ctx:
        channels = [(await _online(ctx, aid))[0] for aid in ids]
        async with anyio.create_task_group() as tg:
            for chan in channels:
                tg.start_soon(lambda c: c.close(grace=None), chan)

        async def online() -> list[str]:
            agents = await anyio.to_thread.run_sync(ctx.store.list_agents)
            return [a["id"] for a in agents if a["online"]]

        with anyio.fail_after(20):
            while await online() or any(aid in ctx.hub for aid in ids):
                await anyio.sleep(0.05)


async def test_an_older_stream_leaving_does_not_mark_its_newer_replacement_offline(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        old_chan, old_call, ident = await _online(ctx, "twice", 1)
        new_chan, new_call, _ = await _online(ctx, "twice", 2, ident)
        async with old_chan, new_chan:
            # The server ends the older stream once its departure is recorded (a no-op: it was replaced).
            err = await ended_with(old_call)
            assert err.code() == grpc.StatusCode.ABORTED and "superseded" in err.details()
            assert "twice" in ctx.hub
            assert (await anyio.to_thread.run_sync(ctx.store.get_agent, "twice"))["online"] is True
            await new_call.done_writing()
            with anyio.fail_after(10):
                while (await anyio.to_thread.run_sync(ctx.store.get_agent, "twice"))["online"]:
                    await anyio.sleep(0.05)
            assert "twice" not in ctx.hub
