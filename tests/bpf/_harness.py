"""A real ``elkeid plugin driver`` child with the plugin pipes on its fds 3 and 4.

The test plays the agent core: it writes Tasks to the child's fd 3 and decodes
the Records the child writes to fd 4 (4-byte little-endian length, then a
bridge.Record), collecting them in a thread.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from elkeid import datatypes
from elkeid.agent.plugins import encode_frame, read_frame
from elkeid.proto import bridge_pb2


@dataclass(frozen=True)
class Rec:
    data_type: int
    timestamp: int
    fields: dict[str, str]

    def __getitem__(self, key: str) -> str:
        return self.fields[key]


def _high_fd(fd: int) -> int:
    """The fd moved to 10 or above (CLOEXEC), so dup2 onto 3 and 4 never meets itself."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


class DriverProcess:
    def __init__(self, workdir: Path, detail: dict | None = None, extra_env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.detail = detail or {}
        self.extra_env = extra_env or {}
        self.pid = 0
        self.returncode: int | None = None
        self.records: list[Rec] = []
        self._cond = threading.Condition()
        self._task_w = -1
        self._rec_r = -1
        self.log_path = workdir / "driver.log"

    def start(self) -> "DriverProcess":
        self.workdir.mkdir(parents=True, exist_ok=True)
        task_r, task_w = (_high_fd(fd) for fd in os.pipe())
        rec_r, rec_w = (_high_fd(fd) for fd in os.pipe())
        log_fd = _high_fd(os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644))
        env = dict(os.environ, ELKEID_PLUGIN_DETAIL=json.dumps(self.detail), **self.extra_env)
        self.pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-m", "elkeid", "plugin", "driver"],
            env,
            file_actions=[(os.POSIX_SPAWN_DUP2, task_r, 3), (os.POSIX_SPAWN_DUP2, rec_w, 4),
                          (os.POSIX_SPAWN_DUP2, log_fd, 1), (os.POSIX_SPAWN_DUP2, log_fd, 2)],
            setsid=True,
        )  # fmt: skip
        for fd in (task_r, rec_w, log_fd):
            os.close(fd)
        self._task_w, self._rec_r = task_w, rec_r
        threading.Thread(target=self._read, name="driver-records", daemon=True).start()
        return self

    def _read(self) -> None:
        while True:
            try:
                frame = read_frame(self._rec_r)
            except OSError:
                frame = None
            if frame is None:
                break
            rec = bridge_pb2.Record.FromString(frame)
            with self._cond:
                self.records.append(Rec(rec.data_type, rec.timestamp, dict(rec.data.fields)))
                self._cond.notify_all()
        os.close(self._rec_r)
        with self._cond:
            self._cond.notify_all()

    def log(self) -> str:
        try:
            return self.log_path.read_text()[-6000:]
        except OSError:
            return ""

    def mark(self) -> int:
        """A position in the record list: pass it as ``since`` to look only at later records."""
        with self._cond:
            return len(self.records)

    def wait_for(self, predicate, timeout: float = 30.0, what: str = "a record", since: int = 0) -> Rec:
        """The first record after position ``since`` for which ``predicate`` is true."""
        deadline = time.monotonic() + timeout
        seen = since
        with self._cond:
            while True:
                for rec in self.records[seen:]:
                    if predicate(rec):
                        return rec
                seen = len(self.records)
                left = deadline - time.monotonic()
                if left <= 0 or not self.alive():
                    kinds = sorted({r.data_type for r in self.records})
                    raise AssertionError(f"no {what} within {timeout}s ({len(self.records)} records of types "
                                         f"{kinds}); driver log:\n{self.log()}")  # fmt: skip
                self._cond.wait(min(left, 0.5))

    def matching(self, predicate, since: int = 0) -> list[Rec]:
        with self._cond:
            return [r for r in self.records[since:] if predicate(r)]

    def status(self) -> dict[str, str]:
        """The driver's counters now (through a status task)."""
        return json.loads(self.task({"action": "status"})["msg"])["status"]

    def wait_ready(self, timeout: float = 120.0) -> Rec:
        """The first 900 (probes running) or 901 (unavailable) record."""
        return self.wait_for(lambda r: r.data_type in (datatypes.DRIVER_STATUS, datatypes.DRIVER_UNAVAILABLE),
                             timeout, "900/901 record")  # fmt: skip

    def task(self, data: dict | str, token: str = "", data_type: int = datatypes.DRIVER_CONTROL,
             timeout: float = 30.0) -> Rec:  # fmt: skip
        """Send a task and wait for the reply carrying its token (a fresh one by default)."""
        token = token or uuid.uuid4().hex
        since = self.mark()
        body = data if isinstance(data, str) else json.dumps(data)
        task = bridge_pb2.Task(data_type=data_type, object_name="driver", data=body, token=token)
        self.write_raw(encode_frame(task.SerializeToString()))
        return self.wait_for(lambda r: r.fields.get("token") == token, timeout, f"reply to task {token}", since)

    def write_raw(self, data: bytes) -> None:
        os.write(self._task_w, data)

    def alive(self) -> bool:
        if self.returncode is not None:
            return False
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return True
        self.returncode = os.waitstatus_to_exitcode(status)
        return False

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                raise TimeoutError(f"driver {self.pid} still running after {timeout}s")
            time.sleep(0.05)
        return self.returncode

    def close_tasks(self) -> None:
        if self._task_w >= 0:
            os.close(self._task_w)
            self._task_w = -1

    def stop(self, timeout: float = 15.0) -> int:
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.wait(timeout)
            except TimeoutError:
                os.killpg(self.pid, signal.SIGKILL)
                self.wait(5)
        self.close_tasks()
        return self.returncode


def bpf_unavailable_reason() -> str:
    """Why eBPF cannot be tested here ('' when it can): checked before any test loads probes."""
    if os.geteuid() != 0:
        return "loading eBPF programs needs root"
    try:
        import bcc  # noqa: F401
    except ImportError:
        return "bcc (python3-bpfcc) is not importable"
    if not Path("/sys/kernel/tracing").exists() and not Path("/sys/kernel/debug").exists():
        return "the kernel has no tracefs"
    return ""
