"""PluginProcess with real children: fds 3/4, process group, framing limits."""

from __future__ import annotations

import os
import sys
import textwrap

import anyio
import pytest

from elkeid.agent._logfile import RotatingLog
from elkeid.agent._plugin import PluginProcess, PluginSpec
from elkeid.agent.errors import PluginError, TaskError
from elkeid.proto import bridge_pb2, transfer_pb2


def _spawn(tmp_path, body: str) -> PluginProcess:
    script = tmp_path / "plugin.py"
    script.write_text(textwrap.dedent(body))
    spec = PluginSpec("t", "1", "exec", [sys.executable, str(script)])
    return PluginProcess.spawn(spec, tmp_path, dict(os.environ), RotatingLog(tmp_path / "t.log", 1 << 16))


def _run(proc: PluginProcess, work) -> object:
    async def main():
        try:
            return await work(proc)
        finally:
            await proc.stop(2)
            proc.close()

    return anyio.run(main, backend="asyncio")


def test_records_arrive_from_fd_4_and_tasks_reach_fd_3(tmp_path):
    proc = _spawn(tmp_path, """
        import os, sys
        from elkeid.agent.plugins import PluginClient
        c = PluginClient()
        print("hello on stderr", file=sys.stderr, flush=True)
        c.send(5, {"pgid": str(os.getpgid(0)), "pid": str(os.getpid()), "cwd": os.getcwd(),
                   "stdin": os.readlink("/proc/self/fd/0")})
        c.flush()
        for task in c.tasks():
            c.send(6, {"token": task.token})
            c.flush()
    """)
    got: list[bytes] = []

    async def work(p: PluginProcess):
        async def sink(records):
            got.extend(records)

        async with anyio.create_task_group() as tg:
            tg.start_soon(p.pump_records, sink, print)
            tg.start_soon(p.pump_stderr)
            with anyio.fail_after(20):
                while not got:
                    await anyio.sleep(0.02)
                await p.send_task(transfer_pb2.Task(data_type=6, object_name="t", token="tk").SerializeToString())
                while len(got) < 2:
                    await anyio.sleep(0.02)
            await p.stop(2)
            tg.cancel_scope.cancel()
        return p.returncode

    _run(proc, work)
    first = dict(transfer_pb2.Payload.FromString(transfer_pb2.EncodedRecord.FromString(got[0]).data).fields)
    assert first["pgid"] == first["pid"] == str(proc.pid)  # its own process group
    assert first["cwd"] == str(tmp_path) and first["stdin"] == "/dev/null"
    assert dict(transfer_pb2.Payload.FromString(transfer_pb2.EncodedRecord.FromString(got[1]).data).fields) == {"token": "tk"}
    assert "hello on stderr" in (tmp_path / "t.log").read_text()
    assert proc.tx_tasks == 1 and proc.rx_records == 2


def test_an_oversized_frame_breaks_the_pipe(tmp_path):
    proc = _spawn(tmp_path, """
        import os, struct, time
        os.write(4, struct.pack("<I", 64 * 1024 * 1024))
        time.sleep(30)
    """)

    async def work(p):
        with pytest.raises(PluginError, match="out of step"):
            await p.pump_records(lambda r: None, print)

    _run(proc, work)


def test_a_plugin_ignoring_sigterm_is_killed(tmp_path):
    proc = _spawn(tmp_path, """
        import signal, time, os
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.write(4, b"")
        time.sleep(60)
    """)

    async def work(p):
        await anyio.sleep(0.5)
        return await p.stop(grace=0.5)

    assert _run(proc, work) == -9


def test_a_task_to_a_plugin_that_has_gone_fails_clearly(tmp_path):
    proc = _spawn(tmp_path, "import os; os.close(3)\n")

    async def work(p):
        await p.wait()
        with pytest.raises(TaskError, match="not reading tasks"):
            await p.send_task(bridge_pb2.Task(token="x").SerializeToString())

    _run(proc, work)


def test_a_missing_executable_is_a_plugin_exit(tmp_path):
    spec = PluginSpec("t", "1", "exec", [str(tmp_path / "missing")])
    proc = PluginProcess.spawn(spec, tmp_path, dict(os.environ), RotatingLog(tmp_path / "t.log", 4096))

    async def work(p):
        return await p.wait()

    assert _run(proc, work) == 127  # env(1) reports "No such file or directory" and exits 127
