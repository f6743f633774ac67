"""Elkeid's plugin pipe framing: a 4-byte little-endian length, then protobuf bytes.

Used on both ends: the agent core writes Tasks to a plugin's fd 3 and reads
Records from its fd 4; a plugin does the opposite.

Error handling: a frame longer than :data:`MAX_FRAME` is treated as a broken
pipe (:class:`FrameError`), since a sane peer never sends one and reading it
would let a confused plugin exhaust the core's memory.
"""

from __future__ import annotations

import os
import struct

MAX_FRAME = 4 * 1024 * 1024
_LEN = struct.Struct("<I")


class FrameError(Exception):
    """The peer sent a frame we cannot accept (too large, or cut short)."""


def encode_frame(payload: bytes) -> bytes:
    if len(payload) > MAX_FRAME:
        raise FrameError(f"frame of {len(payload)} bytes exceeds the {MAX_FRAME}-byte limit")
    return _LEN.pack(len(payload)) + payload


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, n - got)
        if not chunk:
            if got == 0:
                return None
            raise FrameError(f"pipe closed after {got} of {n} bytes")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> bytes | None:
    """The next frame's payload from ``fd``, or None at end of file.

    Raises:
        FrameError: the length is over MAX_FRAME or the pipe closed mid-frame.
    """
    header = _read_exact(fd, 4)
    if header is None:
        return None
    (length,) = _LEN.unpack(header)
    if length > MAX_FRAME:
        raise FrameError(f"frame length {length} exceeds the {MAX_FRAME}-byte limit")
    if length == 0:
        return b""
    body = _read_exact(fd, length)
    if body is None:
        raise FrameError("pipe closed before the frame body")
    return body
