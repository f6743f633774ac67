"""One plugin child process and its three pipes (PROTOCOL.md, "Agent ⇄ plugin").

The child gets Tasks on fd 3 and writes Records on fd 4, each a u32
little-endian length and protobuf bytes; its stdout and stderr go to one pipe
the core copies into a rotated log file; stdin is /dev/null. It runs in its
own process group (so the core can signal the plugin and anything it forked)
with the plugin's folder as working directory, and these variables:

    ELKEID_PLUGIN_NAME, ELKEID_PLUGIN_VERSION, ELKEID_PLUGIN_DETAIL (Config.detail),
    ELKEID_PLUGIN_DIR (its folder), ELKEID_AGENT_ID

Spawning uses ``os.posix_spawn`` (thread-safe, unlike ``preexec_fn``) with
file actions that put the pipes on fds 3 and 4. posix_spawn has no chdir action
in Python, so the command is run through coreutils ``env --chdir``, which
changes directory and execs the plugin, keeping the descriptors.

Reads are non-blocking on the event loop; a frame is checked and re-headed by
:func:`._wire.record_from_frame`, its payload bytes forwarded untouched.

Error handling: a frame over :data:`~elkeid.agent.plugins.MAX_FRAME` raises
:class:`PluginError` (the pipe can no longer be trusted: the caller kills and
restarts the plugin); a frame that is not a valid Record is skipped, counted in
``bad_records`` and reported through ``on_bad_record``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import signal
import struct
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Awaitable, Callable

import anyio

from .errors import PluginError, RecordError, TaskError
from ._logfile import RotatingLog
from ._wire import record_from_frame
from .plugins import MAX_FRAME, encode_frame

log = logging.getLogger(__name__)

READ_SIZE = 256 * 1024
TASK_WRITE_TIMEOUT = 10.0
_LEN = struct.Struct("<I")
_ENV = shutil.which("env") or "/usr/bin/env"


@dataclass
class PluginSpec:
    """What to run for one plugin: the resolved form of a ``Config``."""

    name: str
    version: str
    type: str
    argv: list[str]
    sha256: str = ""
    signature: str = ""
    detail: str = ""
    download_urls: list[str] = field(default_factory=list)

    def runs_like(self, other: "PluginSpec") -> bool:
        """True when switching from ``other`` to this spec needs no restart."""
        return (self.argv, self.version, self.sha256, self.detail) == (other.argv, other.version, other.sha256, other.detail)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "PluginSpec":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


RecordSink = Callable[[list[bytes]], Awaitable[None]]


def _high(fd: int) -> int:
    """A close-on-exec duplicate of ``fd`` numbered 10 or above; closes ``fd``.

    dup2 onto a descriptor equal to its source would keep close-on-exec set, so
    the sources of the file actions must never be 0..4.
    """
    try:
        return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    finally:
        os.close(fd)


class PluginProcess:
    """A running plugin child; create with :meth:`spawn`."""

    def __init__(self, spec: PluginSpec, pid: int, task_w: int, rec_r: int, err_r: int, log_file: RotatingLog) -> None:
        self.spec = spec
        self.pid = pid
        self.task_w, self.rec_r, self.err_r = task_w, rec_r, err_r
        self.log = log_file
        self.started = time.monotonic()
        self.returncode: int | None = None
        self.rx_records = self.rx_bytes = self.tx_tasks = self.tx_bytes = self.bad_records = 0
        for fd in (task_w, rec_r, err_r):
            os.set_blocking(fd, False)
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except OSError:  # kernels before 5.3: wait from a worker thread instead
            self._pidfd = None

    @classmethod
    def spawn(cls, spec: PluginSpec, workdir: Path, env: dict[str, str], log_file: RotatingLog) -> "PluginProcess":
        """Start the child.

        Raises:
            PluginError: the executable cannot be started.
        """
        task_r, task_w = os.pipe()
        rec_r, rec_w = os.pipe()
        err_r, err_w = os.pipe()
        child_ends = [_high(task_r), _high(rec_w), _high(err_w)]
        tr, rw, ew = child_ends
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, ew, 1),
            (os.POSIX_SPAWN_DUP2, ew, 2),
            (os.POSIX_SPAWN_DUP2, tr, 3),
            (os.POSIX_SPAWN_DUP2, rw, 4),
        ]
        argv = ["env", "--chdir", str(workdir), "--", *spec.argv]
        try:
            pid = os.posix_spawn(
                _ENV, argv, env, file_actions=actions, setpgroup=0,
                # Python ignores SIGPIPE and SIGXFSZ; an ignored signal stays ignored across exec.
                setsigdef=(signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM), setsigmask=(),
            )  # fmt: skip
        except OSError as exc:
            for fd in (task_w, rec_r, err_r):
                os.close(fd)
            raise PluginError(f"cannot start plugin {spec.name} ({spec.argv[0]}): {exc}") from exc
        finally:
            for fd in child_ends:
                os.close(fd)
        return cls(spec, pid, task_w, rec_r, err_r, log_file)

    # -- pipes --------------------------------------------------------------------------

    async def pump_records(self, sink: RecordSink, on_bad_record: Callable[[str], None]) -> None:
        """Forward record frames to ``sink`` until the plugin closes fd 4.

        Raises:
            PluginError: a frame is longer than MAX_FRAME.
        """
        buf = bytearray()
        while True:
            await anyio.wait_readable(self.rec_r)
            try:
                chunk = os.read(self.rec_r, READ_SIZE)
            except BlockingIOError:
                continue
            if not chunk:
                if buf:
                    on_bad_record(f"plugin {self.spec.name} closed its record pipe inside a frame ({len(buf)} bytes)")
                return
            buf += chunk
            out: list[bytes] = []
            pos, end = 0, len(buf)
            now = int(time.time())
            view = memoryview(buf)
            try:
                while end - pos >= 4:
                    (length,) = _LEN.unpack_from(buf, pos)
                    if length > MAX_FRAME:
                        raise PluginError(f"plugin {self.spec.name} sent a frame of {length} bytes (limit {MAX_FRAME}); "
                                          "its record pipe is out of step")  # fmt: skip
                    if end - pos - 4 < length:
                        break
                    frame = bytes(view[pos + 4 : pos + 4 + length])
                    pos += 4 + length
                    try:
                        out.append(record_from_frame(frame, now)[1])
                    except RecordError as exc:
                        self.bad_records += 1
                        on_bad_record(f"plugin {self.spec.name} sent a bad record ({exc}); skipped")
            finally:
                view.release()
            self.rx_bytes += pos
            del buf[:pos]
            if out:
                self.rx_records += len(out)
                await sink(out)

    async def pump_stderr(self) -> None:
        """Copy the plugin's stdout/stderr into its log until the pipe closes."""
        while True:
            await anyio.wait_readable(self.err_r)
            try:
                chunk = os.read(self.err_r, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                return
            await anyio.to_thread.run_sync(self.log.write, chunk)

    async def send_task(self, task_bytes: bytes) -> None:
        """Write one Task frame to the plugin's fd 3.

        Raises:
            TaskError: the plugin has gone, or has not read its tasks for 10 s.
        """
        data = memoryview(encode_frame(task_bytes))
        with anyio.move_on_after(TASK_WRITE_TIMEOUT) as scope:
            while data:
                try:
                    n = os.write(self.task_w, data)
                except BlockingIOError:
                    await anyio.wait_writable(self.task_w)
                    continue
                except (BrokenPipeError, OSError) as exc:
                    raise TaskError(f"plugin {self.spec.name} is not reading tasks: {exc}") from exc
                data = data[n:]
        if scope.cancelled_caught:
            raise TaskError(f"plugin {self.spec.name} has not read its task pipe for {TASK_WRITE_TIMEOUT:.0f}s")
        self.tx_tasks += 1
        self.tx_bytes += len(task_bytes)

    # -- life and death -----------------------------------------------------------------

    async def wait(self) -> int:
        """Wait for the child to exit; its exit code (negative: killed by that signal)."""
        if self.returncode is not None:
            return self.returncode
        if self._pidfd is not None:
            await anyio.wait_readable(self._pidfd)
            _pid, status = os.waitpid(self.pid, 0)
        else:
            _pid, status = await anyio.to_thread.run_sync(os.waitpid, self.pid, 0, abandon_on_cancel=True)
        self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    async def stop(self, grace: float = 5.0) -> int:
        """Close the task pipe, SIGTERM the group, SIGKILL it after ``grace`` seconds."""
        self._close_task_pipe()
        if self.returncode is None:
            self.signal_group(signal.SIGTERM)
            with anyio.move_on_after(grace):
                await self.wait()
            if self.returncode is None:
                log.warning("plugin %s (pid %d) ignored SIGTERM for %.0fs; killing it", self.spec.name, self.pid, grace)
                self.signal_group(signal.SIGKILL)
                await self.wait()
        self.signal_group(signal.SIGKILL)  # whatever it forked and left behind in its group
        return self.returncode

    def _close_task_pipe(self) -> None:
        if self.task_w >= 0:
            anyio.notify_closing(self.task_w)
            os.close(self.task_w)
            self.task_w = -1

    def close(self) -> None:
        """Release every descriptor (after the pumps have stopped)."""
        self._close_task_pipe()
        for attr in ("rec_r", "err_r", "_pidfd"):
            fd = getattr(self, attr)
            if fd is not None and fd >= 0:
                anyio.notify_closing(fd)
                os.close(fd)
                setattr(self, attr, -1)
