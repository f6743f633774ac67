"""Raw events from the ring buffer: ctypes layouts mirroring probes.h, decoded to Python.

Each event carries its own size; a record whose size does not match the layout
for its type is refused (:class:`DecodeError`) rather than misread, so a C
change without the matching Python change shows up as ``decode_errors`` in the
900 record instead of as garbage fields.
"""

from __future__ import annotations

import ctypes
import socket
from dataclasses import dataclass, field

from elkeid import datatypes

COMM_LEN = 16
PATH_LEN = 256
ARGV_LEN = 1024
ARG_LEN = 256
ENV_VAL_LEN = 128
DNS_LEN = 288
SHORT_LEN = 32


class Hdr(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_uint32), ("size", ctypes.c_uint32), ("ts", ctypes.c_uint64),
        ("pid", ctypes.c_uint32), ("tgid", ctypes.c_uint32), ("ppid", ctypes.c_uint32),
        ("uid", ctypes.c_uint32), ("gid", ctypes.c_uint32), ("res", ctypes.c_int32),
        ("cgroup", ctypes.c_uint64), ("comm", ctypes.c_char * COMM_LEN),
    ]  # fmt: skip


class ExecEv(ctypes.Structure):
    _fields_ = [
        ("h", Hdr), ("argc", ctypes.c_uint32), ("argv_len", ctypes.c_uint32), ("flags", ctypes.c_uint32),
        ("pad", ctypes.c_uint32), ("filename", ctypes.c_char * PATH_LEN), ("ssh", ctypes.c_char * ENV_VAL_LEN),
        ("ld_preload", ctypes.c_char * ENV_VAL_LEN), ("argv", ctypes.c_ubyte * (ARGV_LEN + ARG_LEN)),
    ]  # fmt: skip


class NetEv(ctypes.Structure):
    _fields_ = [
        ("h", Hdr), ("fd", ctypes.c_int32), ("family", ctypes.c_uint16), ("dport", ctypes.c_uint16),
        ("sport", ctypes.c_uint16), ("pad", ctypes.c_uint16), ("dns_len", ctypes.c_uint32),
        ("sk", ctypes.c_uint64), ("daddr", ctypes.c_ubyte * 16), ("saddr", ctypes.c_ubyte * 16),
        ("dns", ctypes.c_ubyte * DNS_LEN),
    ]  # fmt: skip


class SysEv(ctypes.Structure):
    _fields_ = [
        ("h", Hdr), ("a", ctypes.c_int64 * 4), ("p1", ctypes.c_char * PATH_LEN),
        ("p2", ctypes.c_char * PATH_LEN), ("p3", ctypes.c_char * SHORT_LEN),
    ]  # fmt: skip


_NET_TYPES = {datatypes.CONNECT, datatypes.ACCEPT, datatypes.BIND, datatypes.DNS_QUERY}
_HDR_TYPES = {datatypes.EXIT, datatypes.SETSID}


def layout_for(data_type: int) -> type[ctypes.Structure]:
    if data_type == datatypes.EXECVE:
        return ExecEv
    if data_type in _NET_TYPES:
        return NetEv
    if data_type in _HDR_TYPES:
        return Hdr
    return SysEv


class DecodeError(ValueError):
    """A ring-buffer record that does not match any known layout."""


def text(raw: bytes) -> str:
    """Kernel bytes as text: UTF-8, with undecodable bytes kept as \\x escapes."""
    return raw.decode("utf-8", "backslashreplace")


def address(family: int, raw) -> str:
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, bytes(raw[:4]))
    if family == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, bytes(raw[:16]))
    return ""


@dataclass(slots=True)
class RawEvent:
    """One decoded event. Fields beyond the header are set by the event's layout."""

    type: int
    ts: int
    pid: int
    tgid: int
    ppid: int
    uid: int
    gid: int
    res: int
    cgroup: int
    comm: str
    # execve
    filename: str = ""
    argv: list[str] = field(default_factory=list)
    argv_truncated: bool = False
    ssh: str = ""
    ld_preload: str = ""
    # network
    fd: int = -1
    family: int = 0
    dport: int = 0
    sport: int = 0
    daddr: str = ""
    saddr: str = ""
    dns: bytes = b""
    # other syscalls
    a: tuple[int, int, int, int] = (0, 0, 0, 0)
    p1: str = ""
    p2: str = ""
    p3: str = ""


def decode(addr: int, size: int) -> RawEvent:
    """The event at ``addr`` (valid only during the ring-buffer callback).

    Raises:
        DecodeError: too short, or its size does not match its type's layout.
    """
    if size < ctypes.sizeof(Hdr):
        raise DecodeError(f"ring-buffer record of {size} bytes is shorter than the event header")
    h = Hdr.from_address(addr)
    layout = layout_for(h.type)
    if h.size != ctypes.sizeof(layout) or size < h.size:
        raise DecodeError(f"event type {h.type}: size {h.size}/{size}, expected {ctypes.sizeof(layout)}")
    ev = RawEvent(h.type, h.ts, h.pid, h.tgid, h.ppid, h.uid, h.gid, h.res, h.cgroup, text(h.comm))
    if layout is ExecEv:
        e = ExecEv.from_address(addr)
        blob = bytes(e.argv[: min(e.argv_len, ARGV_LEN + ARG_LEN)])
        ev.argv = [text(a) for a in blob.split(b"\0")[: e.argc]]
        ev.argv_truncated = bool(e.flags & 1)
        ev.filename = text(e.filename)
        ev.ssh = text(e.ssh)
        ev.ld_preload = text(e.ld_preload)
    elif layout is NetEv:
        e = NetEv.from_address(addr)
        ev.fd, ev.family, ev.dport, ev.sport = e.fd, e.family, e.dport, e.sport
        ev.daddr = address(e.family, e.daddr) if e.dport or any(e.daddr) else ""
        ev.saddr = address(e.family, e.saddr) if e.sport or any(e.saddr) else ""
        ev.dns = bytes(e.dns[: min(e.dns_len, DNS_LEN)])
    elif layout is SysEv:
        e = SysEv.from_address(addr)
        ev.a = (e.a[0], e.a[1], e.a[2], e.a[3])
        ev.p1, ev.p2, ev.p3 = text(e.p1), text(e.p2), text(e.p3)
    return ev
