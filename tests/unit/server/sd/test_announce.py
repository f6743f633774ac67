"""The agent center announces its live stream count as its weight."""

from __future__ import annotations

import anyio
import pytest

from elkeid.server.sd import AC_SERVICE, announce, own_instances
from tests.unit.server._inproc import batch, channel, enroll, read_command, running_server, transfer

pytestmark = pytest.mark.anyio


async def test_weight_is_the_live_stream_count(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "w1")
        async with channel(ctx, ident) as chan, anyio.create_task_group() as tg:
            call = transfer(chan)
            await call.write(batch("w1", 1, [(1000, {})]).SerializeToString())
            await read_command(call)
            await tg.start(announce, ctx, 0.1)
            with anyio.fail_after(10):
                while (await anyio.to_thread.run_sync(ctx.store.healthy_instances, AC_SERVICE, 1))[0]["weight"] != 1:
                    await anyio.sleep(0.05)
            tg.cancel_scope.cancel()


async def test_advertised_addresses_are_announced(tmp_path):
    async with running_server(tmp_path / "srv", advertise_grpc=["hids.example.org:7000", "[2001:db8::1]:7001"]) as ctx:
        assert own_instances(ctx) == [(AC_SERVICE, "hids.example.org", 7000), (AC_SERVICE, "2001:db8::1", 7001),
                                      ("hids_manage", "hids.example.org", ctx.https_port)]  # fmt: skip
