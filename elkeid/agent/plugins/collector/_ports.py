"""5051 listening ports: TCP sockets in LISTEN and bound, unconnected UDP sockets, IPv4 and IPv6.

Sockets come from the kernel's sock_diag netlink interface (pyroute2
``DiagSocket``), the owning process from the socket inode found among
/proc/PID/fd links. ``family`` (2 or 10), ``protocol`` (6 or 17) and ``state``
(10 LISTEN, 7 CLOSE for an unconnected UDP socket) are the kernel's numbers,
as in Elkeid.

Only the collector's own network namespace is seen: sockets inside other
network namespaces (containers with their own network) are not listed.

Error handling: a netlink failure is translated once into :class:`SourceError`.
"""

from __future__ import annotations

import socket
from contextlib import contextmanager

from pyroute2 import DiagSocket
from pyroute2.netlink.exceptions import NetlinkError

from ._host import Host, pids
from ._proc import container_id, read_cmdline, read_comm, readlink, socket_inodes
from .errors import SourceError

TCP_LISTEN = 10
UDP_UNCONNECTED = 7  # TCP_CLOSE: a UDP socket bound but not connected
_QUERIES = [
    (family, proto, state)
    for family in (socket.AF_INET, socket.AF_INET6)
    for proto, state in ((socket.IPPROTO_TCP, TCP_LISTEN), (socket.IPPROTO_UDP, UDP_UNCONNECTED))
]


@contextmanager
def _netlink_errors():
    try:
        yield
    except (NetlinkError, OSError) as exc:
        raise SourceError(f"sock_diag netlink query failed: {exc}; is the kernel built with INET_DIAG?") from exc


def list_sockets() -> list[dict]:
    """Raw sock_diag answers: dicts with family, protocol, state, sip, sport, dip, dport, uid, inode."""
    out = []
    with _netlink_errors(), DiagSocket() as ds:
        ds.bind()
        for family, proto, state in _QUERIES:
            for msg in ds.get_sock_stats(family=family, protocol=proto, states=1 << state):
                if msg["idiag_state"] != state or (proto == socket.IPPROTO_UDP and msg["idiag_sport"] == 0):
                    continue
                out.append({
                    "family": family, "protocol": proto, "state": state,
                    "sip": msg["idiag_src"], "sport": msg["idiag_sport"],
                    "dip": msg["idiag_dst"], "dport": msg["idiag_dport"],
                    "uid": msg["idiag_uid"], "inode": msg["idiag_inode"],
                })  # fmt: skip
    return out


def collect_ports(host: Host) -> list[dict[str, str]]:
    sockets = list_sockets()
    owners = socket_inodes(host, pids(host)) if sockets else {}
    records = []
    for s in sockets:
        pid = owners.get(s["inode"])
        exe = comm = cmdline = cid = ""
        if pid is not None:
            exe = readlink(host.proc / str(pid) / "exe").removesuffix(" (deleted)")
            comm = read_comm(host, pid)
            cmdline = read_cmdline(host, pid)
            cid = container_id(host, pid)
        records.append({
            "family": str(s["family"]), "protocol": str(s["protocol"]), "state": str(s["state"]),
            "sip": s["sip"], "sport": str(s["sport"]), "dip": s["dip"], "dport": str(s["dport"]),
            "uid": str(s["uid"]), "username": host.username(s["uid"]), "inode": str(s["inode"]),
            "pid": "" if pid is None else str(pid), "exe": exe, "comm": comm, "cmdline": cmdline,
            "container_id": cid,
        })  # fmt: skip
    return records
