"""Whether an ``open(O_CREAT)`` created its file: the decision behind data_type 602.

The kernel side reports every successful open with O_CREAT (enter time, flags,
fd, path). A tracepoint cannot see whether the file existed, and the probes
never read kernel structs, so the decision is made here:

* ``O_EXCL`` succeeded: the call created the file, certainly.
* Otherwise the file's **birth time** (statx ``STX_BTIME``) is compared with the
  moment the call entered the kernel: a file born at or after that moment (less
  :data:`COARSE_SLACK_NS`, since file timestamps come from a clock that lags
  by up to one timer tick) was created by this call. An existing file keeps its
  old birth time, even when ``O_TRUNC`` empties it.
* Without a birth time (a filesystem that keeps none), the change time stands
  in, but only without ``O_TRUNC`` (which changes it on existing files too).
* A file is born once: the identity (device, inode, birth time) of every file
  reported is remembered, so a second open within the slack — by the same
  process or another — is not taken for a second creation.

The file is examined through ``/proc/PID/fd/FD`` — the very file opened, even if
renamed or deleted since — and otherwise through its path. When neither is
reachable any more the answer is unknown: counted as ``create_undecided`` in
the 900 record, not reported.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections import OrderedDict

O_CREAT = os.O_CREAT
O_EXCL = os.O_EXCL
O_TRUNC = os.O_TRUNC
COARSE_SLACK_NS = 10_000_000

_STATX_CTIME = 0x80
_STATX_BTIME = 0x800
_AT_FDCWD = -100


class _Timestamp(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_int64), ("nsec", ctypes.c_uint32), ("reserved", ctypes.c_int32)]


class _Statx(ctypes.Structure):
    _fields_ = [
        ("mask", ctypes.c_uint32), ("blksize", ctypes.c_uint32), ("attributes", ctypes.c_uint64),
        ("nlink", ctypes.c_uint32), ("uid", ctypes.c_uint32), ("gid", ctypes.c_uint32),
        ("mode", ctypes.c_uint16), ("spare0", ctypes.c_uint16), ("ino", ctypes.c_uint64),
        ("size", ctypes.c_uint64), ("blocks", ctypes.c_uint64), ("attributes_mask", ctypes.c_uint64),
        ("atime", _Timestamp), ("btime", _Timestamp), ("ctime", _Timestamp), ("mtime", _Timestamp),
        ("rdev_major", ctypes.c_uint32), ("rdev_minor", ctypes.c_uint32),
        ("dev_major", ctypes.c_uint32), ("dev_minor", ctypes.c_uint32), ("spare", ctypes.c_uint64 * 14),
    ]  # fmt: skip


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class Times:
    """Birth and change time (ns since the epoch; birth 0 when unknown), device and inode."""

    __slots__ = ("btime", "ctime", "dev", "ino")

    def __init__(self, btime: int, ctime: int, dev: tuple[int, int], ino: int = 0) -> None:
        self.btime, self.ctime, self.dev, self.ino = btime, ctime, dev, ino


def file_times(path: str) -> Times | None:
    """statx(2) of ``path`` (following links), or None when it cannot be examined."""
    buf = _Statx()
    if _libc.statx(_AT_FDCWD, path.encode(errors="surrogateescape"), 0, _STATX_BTIME | _STATX_CTIME,
                   ctypes.byref(buf)) != 0:  # fmt: skip
        return None
    btime = buf.btime.sec * 1_000_000_000 + buf.btime.nsec if buf.mask & _STATX_BTIME else 0
    ctime = buf.ctime.sec * 1_000_000_000 + buf.ctime.nsec
    return Times(btime, ctime, (buf.dev_major, buf.dev_minor), buf.ino)


class CreationJudge:
    """:func:`created`, plus the memory that a file is born only once."""

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self._born: OrderedDict[tuple, None] = OrderedDict()

    def __call__(self, flags: int, entered_ns: int, times: Times | None) -> bool | None:
        verdict = created(flags, entered_ns, times)
        if not verdict or times is None or not times.ino:
            return verdict
        key = (times.dev, times.ino, times.btime or times.ctime)
        if key in self._born and not flags & O_EXCL:
            return False
        self._born[key] = None
        if len(self._born) > self.size:
            self._born.popitem(last=False)
        return True


def created(flags: int, entered_ns: int, times: Times | None) -> bool | None:
    """True/False whether the open created the file, None when it cannot be told.

    ``entered_ns`` is when the call entered the kernel, on the same clock as the
    file times (real time, ns).
    """
    if flags & O_EXCL:
        return True
    if times is None:
        return None
    since = entered_ns - COARSE_SLACK_NS
    if times.btime:
        return times.btime >= since
    if flags & O_TRUNC:
        return None
    return times.ctime >= since
