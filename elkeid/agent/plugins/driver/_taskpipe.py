"""Tasks from fd 3 without a blocked thread: the pipe is read when the event loop says
it is readable, and frames are cut from what arrived (the framing of :mod:`.._pipe`).

A thread blocked in read(2) cannot be cancelled, and would keep the process
alive after SIGTERM; waiting for readability can.
"""

from __future__ import annotations

import os
import struct
from typing import AsyncIterator

import anyio

from .._pipe import MAX_FRAME, FrameError

_LEN = struct.Struct("<I")


class FrameBuffer:
    """Bytes in, whole frames out."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """The frames completed by ``data``.

        Raises:
            FrameError: a length prefix over :data:`MAX_FRAME`.
        """
        self._buf += data
        frames = []
        while len(self._buf) >= 4:
            (length,) = _LEN.unpack_from(self._buf)
            if length > MAX_FRAME:
                raise FrameError(f"frame length {length} exceeds the {MAX_FRAME}-byte limit")
            if len(self._buf) < 4 + length:
                break
            frames.append(bytes(self._buf[4 : 4 + length]))
            del self._buf[: 4 + length]
        return frames

    @property
    def pending(self) -> int:
        return len(self._buf)


async def frames(fd: int) -> AsyncIterator[bytes]:
    """Frames read from ``fd`` until end of file.

    Raises:
        FrameError: an oversized frame, or the pipe closed in the middle of one.
    """
    os.set_blocking(fd, False)
    buf = FrameBuffer()
    while True:
        await anyio.wait_readable(fd)
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            continue
        if not data:
            if buf.pending:
                raise FrameError(f"pipe closed inside a frame ({buf.pending} bytes pending)")
            return
        for frame in buf.feed(data):
            yield frame
