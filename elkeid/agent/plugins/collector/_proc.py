"""Reading one process from procfs: identity, credentials, namespaces, container.

Shared by the process, port, application and jar collectors. Every reader
tolerates the process vanishing mid-read (it returns None or "" then): a
snapshot of a live system is never atomic.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache

from ._host import Host

CMDLINE_MAX = 4096
# Container ids in cgroup paths: docker-<id>.scope, /docker/<id>, cri-containerd-<id>.scope,
# crio-<id>.scope, libpod-<id>.scope, /kubepods/.../<id>.
_CONTAINER_ID = re.compile(r"(?:^|[/-])([0-9a-f]{64})(?:\.scope)?$")


@lru_cache(maxsize=1)
def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def boot_time(host: Host) -> int:
    try:
        for line in (host.proc / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


@dataclass
class ProcInfo:
    pid: int
    ppid: int
    pgid: int
    sid: int
    comm: str
    state: str
    start_time: int
    uid: int
    euid: int
    exe: str
    cmdline: str
    cwd: str


def readlink(path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def read_cmdline(host: Host, pid: int) -> str:
    try:
        raw = (host.proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")[:CMDLINE_MAX]


def read_argv(host: Host, pid: int) -> list[str]:
    try:
        raw = (host.proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.rstrip(b"\0").split(b"\0")] if raw else []


def read_process(host: Host, pid: int, btime: int) -> ProcInfo | None:
    """The process ``pid``, or None when it is gone or unreadable."""
    base = host.proc / str(pid)
    try:
        stat = (base / "stat").read_text(errors="replace")
        status = (base / "status").read_text(errors="replace")
    except OSError:
        return None
    # comm may contain spaces and parentheses: it ends at the last ')'.
    open_, close = stat.find("("), stat.rfind(")")
    if open_ < 0 or close < 0:
        return None
    comm = stat[open_ + 1 : close]
    rest = stat[close + 2 :].split()
    try:
        state, ppid, pgid, sid = rest[0], int(rest[1]), int(rest[2]), int(rest[3])
        start_ticks = int(rest[19])
    except (IndexError, ValueError):
        return None
    uid = euid = -1
    for line in status.splitlines():
        if line.startswith("Uid:"):
            parts = line.split()
            uid, euid = int(parts[1]), int(parts[2])
            break
    return ProcInfo(
        pid=pid, ppid=ppid, pgid=pgid, sid=sid, comm=comm, state=state,
        start_time=btime + start_ticks // _clock_ticks(), uid=uid, euid=euid,
        exe=readlink(base / "exe").removesuffix(" (deleted)"),
        cmdline=read_cmdline(host, pid), cwd=readlink(base / "cwd"),
    )  # fmt: skip


def namespace_inode(host: Host, pid: int | str, kind: str) -> str:
    """Inode number of /proc/PID/ns/KIND as text, or ""."""
    try:
        return str(os.stat(host.proc / str(pid) / "ns" / kind).st_ino)
    except OSError:
        return ""


def container_id(host: Host, pid: int) -> str:
    """The container id found in the process's cgroup path, or "" on the host."""
    try:
        text = (host.proc / str(pid) / "cgroup").read_text(errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        path = line.split(":", 2)[-1]
        for part in reversed(path.split("/")):
            m = _CONTAINER_ID.search(part)
            if m:
                return m.group(1)
    return ""


def socket_inodes(host: Host, pids: list[int]) -> dict[int, int]:
    """socket inode -> pid of the first (lowest) process holding it open."""
    owners: dict[int, int] = {}
    for pid in pids:
        fd_dir = host.proc / str(pid) / "fd"
        try:
            names = os.listdir(fd_dir)
        except OSError:
            continue
        for name in names:
            target = readlink(fd_dir / name)
            if target.startswith("socket:["):
                try:
                    owners.setdefault(int(target[8:-1]), pid)
                except ValueError:
                    pass
    return owners


def open_files(host: Host, pid: int) -> list[str]:
    """Paths of the regular files process ``pid`` holds open (as it names them)."""
    fd_dir = host.proc / str(pid) / "fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return []
    out = []
    for name in names:
        target = readlink(fd_dir / name)
        if target.startswith("/"):
            out.append(target.removesuffix(" (deleted)"))
    return out


def environ(host: Host, pid: int) -> dict[str, str]:
    try:
        raw = (host.proc / str(pid) / "environ").read_bytes()
    except OSError:
        return {}
    env = {}
    for item in raw.split(b"\0"):
        k, sep, v = item.partition(b"=")
        if sep:
            env[k.decode(errors="replace")] = v.decode(errors="replace")
    return env


def read_comm(host: Host, pid: int) -> str:
    try:
        return (host.proc / str(pid) / "comm").read_text(errors="replace").strip()
    except OSError:
        return ""
