"""``sb_id``: the name of a file's superblock, as the kernel's ``s_id`` reads.

A block-device filesystem is named by its device (``vda1``), any other by its
type (``tmpfs``, ``overlay``, ``proc``). Learnt from /proc/self/mountinfo, which
is read again (at most once a second) when a device is not known yet.
"""

from __future__ import annotations

import os
import time

from ._procfs import PROC, read_text


def _parse(mountinfo: str) -> dict[tuple[int, int], str]:
    out: dict[tuple[int, int], str] = {}
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 3 or len(tail) < 2:
            continue
        try:
            major, minor = (int(x) for x in fields[2].split(":"))
        except ValueError:
            continue
        fstype, source = tail[0], tail[1]
        name = os.path.basename(source) if source.startswith("/dev/") else fstype
        out.setdefault((major, minor), name)
    return out


class SuperblockNames:
    def __init__(self, proc: str = PROC) -> None:
        self.proc = proc
        self._names: dict[tuple[int, int], str] = {}
        self._read_at = 0.0

    def name(self, dev: tuple[int, int]) -> str:
        found = self._names.get(dev)
        if found is None and time.monotonic() - self._read_at > 1.0:
            self._read_at = time.monotonic()
            self._names = _parse(read_text(f"{self.proc}/self/mountinfo", 1 << 22))
            found = self._names.get(dev)
        return found or ""
