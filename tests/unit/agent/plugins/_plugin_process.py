"""A built-in plugin as a real child process, with the agent's end of its pipes (fd 3 tasks, fd 4 records)."""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
from pathlib import Path

from elkeid.agent.plugins import encode_frame
from elkeid.proto import bridge_pb2


class PluginProcess:
    """``python -m elkeid plugin NAME`` with Tasks written to its fd 3 and Records read from its fd 4."""

    def __init__(self, name: str, log_path: Path, detail: dict | None = None) -> None:
        task_r, self.task_w = os.pipe()
        self.rec_r, rec_w = os.pipe()
        env = dict(os.environ)
        env["ELKEID_PLUGIN_DETAIL"] = json.dumps(detail or {})
        self.log_path = log_path
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            self.pid = os.posix_spawn(
                sys.executable, [sys.executable, "-m", "elkeid", "plugin", name], env,
                file_actions=[(os.POSIX_SPAWN_DUP2, task_r, 3), (os.POSIX_SPAWN_DUP2, rec_w, 4),
                              (os.POSIX_SPAWN_DUP2, log_fd, 1), (os.POSIX_SPAWN_DUP2, log_fd, 2)],
                setsid=True,
            )  # fmt: skip
        finally:
            for fd in (task_r, rec_w, log_fd):
                os.close(fd)
        self._buf = b""
        self.records: list[bridge_pb2.Record] = []
        self.returncode: int | None = None

    def send_task(self, data_type: int, data: str = "", token: str = "", object_name: str = "collector") -> None:
        task = bridge_pb2.Task(data_type=data_type, object_name=object_name, data=data, token=token)
        os.write(self.task_w, encode_frame(task.SerializeToString()))

    def send_raw(self, payload: bytes) -> None:
        os.write(self.task_w, encode_frame(payload))

    def _pump(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.rec_r], [], [], timeout)
        if not ready:
            return True
        chunk = os.read(self.rec_r, 1 << 20)
        if not chunk:
            return False
        self._buf += chunk
        while len(self._buf) >= 4:
            n = int.from_bytes(self._buf[:4], "little")
            if len(self._buf) < 4 + n:
                break
            self.records.append(bridge_pb2.Record.FromString(self._buf[4 : 4 + n]))
            self._buf = self._buf[4 + n :]
        return True

    def wait_for(self, predicate, timeout: float = 120.0, what: str = "records"):
        """Read records until ``predicate(records)`` is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self.records)
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {what} within {timeout}s; plugin log:\n{self.log()}")
            if not self._pump(min(left, 0.5)):
                value = predicate(self.records)
                if value:
                    return value
                raise AssertionError(f"plugin closed fd 4 before {what}; plugin log:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def close_tasks(self) -> None:
        if self.task_w >= 0:
            os.close(self.task_w)
            self.task_w = -1

    def wait_exit(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                return self.returncode
            self._pump(0.1)
        raise AssertionError(f"plugin did not exit within {timeout}s; log:\n{self.log()}")

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.returncode = -9
        self.close_tasks()
        os.close(self.rec_r)


def fields(record: bridge_pb2.Record) -> dict[str, str]:
    return dict(record.data.fields)
