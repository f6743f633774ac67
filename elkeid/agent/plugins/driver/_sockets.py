"""Sockets behind another process's file descriptors.

Used where the kernel side cannot say safely: the socket behind an exec'd
process's stdin/stdout, and the local end of a connect/accept/bind that the
tracepoints did not carry. The socket is borrowed with pidfd_getfd(2) (Linux
5.6+) and asked getsockname/getpeername directly — exact even for a socket that
is bound but not listening, and in any network namespace. Where that is not
allowed, the socket's inode is looked up in the process's own
``/proc/PID/net/{tcp,udp}{,6}``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import errno
import socket
from dataclasses import dataclass

from ._procfs import PROC, readlink

#: Elkeid looks at this many processes (the process, then its ancestors) ...
SOCKET_PID_LIMIT = 4
#: ... and at their first this-many file descriptors.
SOCKET_FD_LIMIT = 12

_TABLES = (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6), ("udp", socket.AF_INET), ("udp6", socket.AF_INET6))
#: The socket fields of an event whose process has no socket to show.
NO_SOCKET = {"sa_family": "", "sip": "", "sport": "", "dip": "", "dport": "", "socket_pid": ""}

_SYS_PIDFD_GETFD = 438  # one number on every architecture (a syscall newer than the split tables)
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

_TCP_LISTEN = 0x0A
_TCP_CLOSE = 0x07
_UDP_CONNECTED = 0x01


@dataclass(frozen=True, slots=True)
class SockInfo:
    """An inet socket: s = our end, d = the peer (empty when not connected)."""

    family: int
    sip: str
    sport: int
    dip: str
    dport: int
    connected: bool

    def fields(self) -> dict[str, str]:
        """sa_family, sip, sport, dip, dport as record fields."""
        return {"sa_family": str(self.family), "sip": self.sip, "sport": str(self.sport), "dip": self.dip,
                "dport": str(self.dport)}  # fmt: skip


def socket_inode(link: str) -> int:
    """``socket:[123]`` -> 123; 0 for anything else."""
    if link.startswith("socket:[") and link.endswith("]"):
        return int(link[8:-1])
    return 0


def _hex_address(text: str, family: int) -> tuple[str, int]:
    addr, _, port = text.partition(":")
    raw = bytes.fromhex(addr)
    # /proc prints each 32-bit word in host (little-endian) order
    raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(family, raw), int(port, 16)


def lookup_inode(pid: int, inode: int, proc: str = PROC) -> SockInfo | None:
    """The inet socket with this inode in the process's network namespace, or None."""
    needle = f" {inode} "
    for table, family in _TABLES:
        try:
            with open(f"{proc}/{pid}/net/{table}") as f:
                next(f, None)
                for line in f:
                    if needle not in line:
                        continue
                    parts = line.split()
                    if len(parts) < 10 or parts[9] != str(inode):
                        continue
                    sip, sport = _hex_address(parts[1], family)
                    dip, dport = _hex_address(parts[2], family)
                    state = int(parts[3], 16)
                    if table.startswith("tcp"):
                        connected = state not in (_TCP_LISTEN, _TCP_CLOSE)
                    else:
                        connected = state == _UDP_CONNECTED
                    return SockInfo(family, sip, sport, dip, dport if connected else 0, connected)
        except (OSError, ValueError):
            continue
    return None


def _borrowed(pid: int, fd: int) -> SockInfo | None | bool:
    """Ask the socket itself through a duplicate of the process's fd; False when not allowed."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return None
    except OSError:
        return False
    try:
        dup = _libc.syscall(_SYS_PIDFD_GETFD, pidfd, fd, 0)
        if dup < 0:
            return None if ctypes.get_errno() == errno.EBADF else False
        try:
            sock = socket.socket(fileno=dup)
        except OSError:
            os.close(dup)
            return None  # not a socket
        try:
            if sock.family not in (socket.AF_INET, socket.AF_INET6):
                return None
            local = sock.getsockname()
            try:
                peer, connected = sock.getpeername(), True
            except OSError:
                peer, connected = ("", 0), False
            return SockInfo(sock.family, local[0], local[1], peer[0], peer[1], connected)
        finally:
            sock.detach()
            os.close(dup)
    finally:
        os.close(pidfd)


def fd_socket(pid: int, fd: int, proc: str = PROC) -> SockInfo | None:
    """The inet socket open as ``fd`` in process ``pid``, or None."""
    info = _borrowed(pid, fd)
    if info is not False:
        return info
    inode = socket_inode(readlink(f"{proc}/{pid}/fd/{fd}"))
    return lookup_inode(pid, inode, proc) if inode else None


def process_socket(pid: int, parent_of, proc: str = PROC) -> tuple[SockInfo, int] | None:
    """The first connected inet socket among the first fds of ``pid`` and its ancestors.

    Elkeid's rule: look at up to :data:`SOCKET_PID_LIMIT` processes (stopping at
    pid 1) and at their fds below :data:`SOCKET_FD_LIMIT`. Returns the socket
    and the pid holding it (``socket_pid``). ``parent_of(pid)`` gives a parent pid.
    """
    current = pid
    for _ in range(SOCKET_PID_LIMIT):
        if current <= 1:
            return None
        for fd in range(SOCKET_FD_LIMIT):
            if not socket_inode(readlink(f"{proc}/{current}/fd/{fd}")):
                continue
            info = fd_socket(current, fd, proc)
            if info is not None and info.connected:
                return info, current
        current = parent_of(current)
    return None
