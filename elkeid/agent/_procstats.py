"""CPU, memory, file descriptors and I/O speeds of one process, sampled through psutil.

Each :meth:`ProcessSampler.sample` returns rates since the previous call, so a
sampler is kept per process and called once per heartbeat (from a worker
thread: psutil reads /proc). ``cpu`` is a fraction of one CPU, as Elkeid reports it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil


class ProcessSampler:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.proc = psutil.Process(pid)
        self.start_time = int(self.proc.create_time())
        self.proc.cpu_percent(None)
        self._last = (time.monotonic(), *self._io())

    def _io(self) -> tuple[int, int]:
        try:
            io = self.proc.io_counters()
            return io.read_bytes, io.write_bytes
        except (psutil.Error, AttributeError):
            return 0, 0

    def sample(self) -> dict[str, str]:
        """Figures since the previous sample.

        Raises:
            psutil.NoSuchProcess: the process has gone.
        """
        now, read, write = time.monotonic(), *self._io()
        last_t, last_read, last_write = self._last
        self._last = (now, read, write)
        dt = max(now - last_t, 1e-3)
        with self.proc.oneshot():
            cpu = self.proc.cpu_percent(None) / 100
            rss = self.proc.memory_info().rss
            try:
                nfd = self.proc.num_fds()
            except psutil.AccessDenied:
                nfd = 0
        return {
            "pid": str(self.pid),
            "cpu": f"{cpu:.4f}",
            "rss": str(rss),
            "nfd": str(nfd),
            "read_speed": f"{max(read - last_read, 0) / dt:.2f}",
            "write_speed": f"{max(write - last_write, 0) / dt:.2f}",
            "start_time": str(self.start_time),
        }


def dir_size(path: Path) -> int:
    """Bytes in the files under ``path`` (Elkeid's ``du`` heartbeat field); blocking."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total
