"""Revoking an agent ends its live stream at once and refuses it afterwards."""

from __future__ import annotations

import anyio
import grpc
import pytest

from elkeid.server.ac import revoke_agent, watch_revocations
from elkeid.server.store import NotFound
from tests.unit.server._inproc import batch, ended_with, channel, enroll, read_command, running_server, transfer

pytestmark = pytest.mark.anyio


async def _connect(ctx, ident, agent_id, seq):
    chan = channel(ctx, ident)
    call = transfer(chan)
    await call.write(batch(agent_id, seq, [(1000, {})]).SerializeToString())
    return chan, call


async def test_revoke_agent_closes_the_live_stream_and_refuses_reconnects(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "bad")
        chan, call = await _connect(ctx, ident, "bad", 1)
        async with chan:
            assert (await read_command(call)).ack_seq == 1
            serials = await revoke_agent(ctx, "bad")
            assert len(serials) == 1
            err = await ended_with(call)
            assert err.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "revoked" in err.details()
            again = transfer(chan)
            await again.write(batch("bad", 2, [(1000, {})]).SerializeToString())
            err = await ended_with(again)
            assert err.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "revoked or unknown" in err.details()
        agent = await anyio.to_thread.run_sync(ctx.store.get_agent, "bad")
        assert agent["status"] == "revoked" and not agent["online"]
        with pytest.raises(NotFound):
            await revoke_agent(ctx, "no-such-agent")


async def test_revocation_made_elsewhere_is_noticed_by_the_watcher(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "elsewhere")
        keep = await anyio.to_thread.run_sync(enroll, ctx, "innocent")
        chan, call = await _connect(ctx, ident, "elsewhere", 1)
        chan2, call2 = await _connect(ctx, keep, "innocent", 1)
        async with chan, chan2, anyio.create_task_group() as tg:
            await read_command(call)
            await read_command(call2)
            # Another server (or the CLI) revokes through the shared database only.
            await anyio.to_thread.run_sync(ctx.store.revoke_agent, "elsewhere")
            await tg.start(watch_revocations, ctx.store, ctx.hub, 0.2)
            err = await ended_with(call)
            assert err.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "innocent" in ctx.hub and "elsewhere" not in ctx.hub
            tg.cancel_scope.cancel()
