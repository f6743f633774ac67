"""Sockets behind file descriptors, from /proc/PID/fd and /proc/PID/net/{tcp,udp}{,6}.

Used where the kernel side cannot say safely: the socket behind an exec'd
process's stdin/stdout, and the local end of a connect/accept/bind that the
tracepoints did not carry. Lookups use the process's own ``/proc/PID/net`` so
sockets in other network namespaces are found too.
"""

from __future__ import annotations

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

_TCP_LISTEN = 0x0A
_TCP_CLOSE = 0x07
_UDP_CONNECTED = 0x01


@dataclass(frozen=True, slots=True)
class SockInfo:
    family: int
    protocol: str
    sip: str
    sport: int
    dip: str
    dport: int
    state: int

    def fields(self) -> dict[str, str]:
        """sa_family, sip, sport, dip, dport as record fields (s = our end)."""
        return {"sa_family": str(self.family), "sip": self.sip, "sport": str(self.sport), "dip": self.dip,
                "dport": str(self.dport)}  # fmt: skip

    @property
    def connected(self) -> bool:
        if self.protocol.startswith("tcp"):
            return self.state not in (_TCP_LISTEN, _TCP_CLOSE)
        return self.state == _UDP_CONNECTED


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
                    return SockInfo(family, table, sip, sport, dip, dport, int(parts[3], 16))
        except (OSError, ValueError):
            continue
    return None


def fd_socket(pid: int, fd: int, proc: str = PROC) -> SockInfo | None:
    """The inet socket open as ``fd`` in process ``pid``, or None."""
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
            inode = socket_inode(readlink(f"{proc}/{current}/fd/{fd}"))
            if not inode:
                continue
            info = lookup_inode(current, inode, proc)
            if info is not None and info.connected:
                return info, current
        current = parent_of(current)
    return None
