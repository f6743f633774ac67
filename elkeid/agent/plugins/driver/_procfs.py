"""Small, forgiving readers of /proc/PID/*: a process that is gone yields empty values.

The driver runs in the host's PID namespace, so the pids the kernel reports
are the pids under /proc.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

PROC = "/proc"
_GONE = (FileNotFoundError, ProcessLookupError, NotADirectoryError, PermissionError)


@dataclass(frozen=True, slots=True)
class Stat:
    """The fields of /proc/PID/stat the driver uses."""

    comm: str
    ppid: int
    pgid: int
    sid: int
    tty_nr: int
    start_time: int


def read_stat(pid: int, proc: str = PROC) -> Stat | None:
    try:
        with open(f"{proc}/{pid}/stat", "rb") as f:
            raw = f.read()
    except (OSError, ValueError):
        return None
    # comm may hold spaces and parentheses: it ends at the last ')'
    left, right = raw.find(b"("), raw.rfind(b")")
    if left < 0 or right < 0:
        return None
    rest = raw[right + 2 :].split()
    try:
        return Stat(raw[left + 1 : right].decode(errors="backslashreplace"), int(rest[1]), int(rest[2]),
                    int(rest[3]), int(rest[4]), int(rest[19]))  # fmt: skip
    except (IndexError, ValueError):
        return None


def readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except (OSError, ValueError):
        return ""


def read_text(path: str, limit: int = 65536) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode(errors="backslashreplace")
    except (OSError, ValueError):
        return ""


def read_cmdline(pid: int, proc: str = PROC, limit: int = 4096) -> str:
    """The command line, arguments joined by spaces (Elkeid's argv format)."""
    try:
        with open(f"{proc}/{pid}/cmdline", "rb") as f:
            raw = f.read(limit)
    except (OSError, ValueError):
        return ""
    return raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="backslashreplace").strip()


def read_uids(pid: int, proc: str = PROC) -> tuple[int, int, int, int] | None:
    """(real, effective, saved, filesystem) uid from /proc/PID/status."""
    for line in read_text(f"{proc}/{pid}/status").splitlines():
        if line.startswith("Uid:"):
            parts = line.split()[1:5]
            if len(parts) == 4:
                return tuple(int(p) for p in parts)  # type: ignore[return-value]
    return None


def ns_inode(pid: int, ns: str, proc: str = PROC) -> int:
    """The inode number of a namespace (``pid:[4026531836]`` -> 4026531836), 0 if gone."""
    link = readlink(f"{proc}/{pid}/ns/{ns}")
    start = link.find("[")
    return int(link[start + 1 : -1]) if start >= 0 and link.endswith("]") else 0


def read_environ(pid: int, names: tuple[str, ...], proc: str = PROC) -> dict[str, str] | None:
    """The values of ``names`` in the process's initial environment; None when the
    environment cannot be read or is empty (also for a moment during an exec)."""
    out: dict[str, str] = {}
    try:
        with open(f"{proc}/{pid}/environ", "rb") as f:
            raw = f.read(1 << 20)
    except (OSError, ValueError):
        return None
    if not raw:
        return None
    wanted = {n.encode() + b"=": n for n in names}
    for entry in raw.split(b"\0"):
        for prefix, name in wanted.items():
            if entry.startswith(prefix) and name not in out:
                out[name] = entry[len(prefix) :].decode(errors="backslashreplace")
    return out


def tty_name(tty_nr: int) -> str:
    """The kernel's name for a controlling terminal (``pts0``, ``tty1``, ``ttyS0``), '' for none."""
    if tty_nr <= 0:
        return ""
    major = (tty_nr >> 8) & 0xFFF
    minor = (tty_nr & 0xFF) | ((tty_nr >> 12) & 0xFFF00)
    if 136 <= major <= 143:
        return f"pts{(major - 136) * 256 + minor}"
    if major == 4:
        return f"tty{minor}" if minor < 64 else f"ttyS{minor - 64}"
    if major == 5 and minor == 1:
        return "console"
    return f"tty({major}:{minor})"


def parents(proc: str = PROC) -> dict[int, int]:
    """pid -> ppid for every process now running."""
    out = {}
    try:
        names = os.listdir(proc)
    except OSError:
        return out
    for name in names:
        if name.isdigit():
            st = read_stat(int(name), proc)
            if st is not None:
                out[int(name)] = st.ppid
    return out
