"""What a plugin process uses to talk to the agent core (PROTOCOL.md, pipes).

A plugin reads Tasks from fd 3 and writes Records to fd 4::

    client = PluginClient()
    client.send(datatypes.EXECVE, {"pid": "1", ...})
    for task in client.tasks():     # blocks; ends when the core closes fd 3
        ...

``send`` is thread-safe and buffers; records are flushed when the buffer
passes 64 KiB, and at least every 100 ms by a background thread.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Iterator

from elkeid.proto import bridge_pb2

from ._pipe import encode_frame, read_frame

TASK_FD = 3
RECORD_FD = 4
FLUSH_BYTES = 64 * 1024
FLUSH_INTERVAL = 0.1


class PluginClient:
    def __init__(self, task_fd: int = TASK_FD, record_fd: int = RECORD_FD) -> None:
        self.task_fd = task_fd
        self.record_fd = record_fd
        self._lock = threading.Lock()
        self._buf = bytearray()
        self._closed = threading.Event()
        self.sent = 0
        self._flusher = threading.Thread(target=self._flush_loop, name="plugin-flush", daemon=True)
        self._flusher.start()

    def send(self, data_type: int, fields: dict[str, str], timestamp: int | None = None) -> None:
        """Queue one Record; raises BrokenPipeError once the core has gone."""
        rec = bridge_pb2.Record(data_type=data_type, timestamp=timestamp or int(time.time()))
        rec.data.fields.update(fields)
        frame = encode_frame(rec.SerializeToString())
        with self._lock:
            self._buf += frame
            self.sent += 1
            if len(self._buf) >= FLUSH_BYTES:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        view = memoryview(self._buf)
        while view:
            n = os.write(self.record_fd, view)
            view = view[n:]
        del view
        self._buf.clear()

    def _flush_loop(self) -> None:
        while not self._closed.wait(FLUSH_INTERVAL):
            try:
                self.flush()
            except OSError:
                self._closed.set()

    def tasks(self) -> Iterator[bridge_pb2.Task]:
        """Tasks from the core, until it closes the pipe."""
        while True:
            frame = read_frame(self.task_fd)
            if frame is None:
                return
            yield bridge_pb2.Task.FromString(frame)

    def close(self) -> None:
        self._closed.set()
        try:
            self.flush()
        except OSError:
            pass
