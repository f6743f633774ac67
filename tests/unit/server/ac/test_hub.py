"""The hub pushes Commands down a live stream and knows who is connected."""

from __future__ import annotations

import anyio
import grpc
import pytest

from elkeid.proto import transfer_pb2
from tests.unit.server._inproc import batch, channel, enroll, read_command, running_server, transfer

pytestmark = pytest.mark.anyio


async def test_push_reaches_the_agent_over_its_stream(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "pushed")
        connected = anyio.Event()
        seen = []

        async def on_connect(conn):
            seen.append(conn.agent_id)
            connected.set()

        ctx.hub.on_connect(on_connect)
        async with channel(ctx, ident) as chan:
            call = transfer(chan)
            await call.write(batch("pushed", 1, [(1000, {"cpu": "1"})], hostname="h").SerializeToString())
            assert (await read_command(call)).ack_seq == 1
            with anyio.fail_after(10):
                await connected.wait()
            assert "pushed" in ctx.hub and seen == ["pushed"]
            task = transfer_pb2.Task(data_type=5100, object_name="collector", token="tok-1")
            assert await ctx.hub.push("pushed", transfer_pb2.Command(task=task)) is True
            got = await read_command(call)
            assert got.task.token == "tok-1" and got.task.object_name == "collector"
            await call.done_writing()
        assert await ctx.hub.push("nobody", transfer_pb2.Command()) is False


async def test_a_newer_stream_of_the_same_agent_replaces_the_older(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "twice")
        async with channel(ctx, ident) as c1, channel(ctx, ident) as c2:
            old = transfer(c1)
            await old.write(batch("twice", 1, [(1000, {})]).SerializeToString())
            await read_command(old)
            new = transfer(c2)
            await new.write(batch("twice", 2, [(1000, {})]).SerializeToString())
            await read_command(new)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                with anyio.fail_after(10):
                    while await old.read() is not grpc.aio.EOF:
                        pass
                    await old
            assert info.value.code() == grpc.StatusCode.ABORTED
            assert "superseded" in info.value.details()
            assert ctx.hub.agent_ids() == ["twice"]
