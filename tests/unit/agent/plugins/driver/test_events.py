"""Decoding ring-buffer records, from structs laid out as probes.h lays them out."""

from __future__ import annotations

import ctypes
import socket

import pytest

from elkeid import datatypes
from elkeid.agent.plugins.driver._events import DecodeError, ExecEv, Hdr, NetEv, SysEv, decode


def header(h: Hdr, data_type: int, layout) -> None:
    h.type, h.size, h.ts, h.pid, h.tgid, h.ppid = data_type, ctypes.sizeof(layout), 123, 11, 10, 9
    h.uid, h.gid, h.res, h.comm = 1000, 1000, -13, b"bash"


def test_layout_sizes_match_the_c_structs():
    # sizes of struct hdr / exec_ev / net_ev / sys_ev in probes.h on x86-64 and arm64
    assert [ctypes.sizeof(t) for t in (Hdr, ExecEv, NetEv, SysEv)] == [64, 1872, 408, 640]


def test_exec_event():
    ev = ExecEv()
    header(ev.h, datatypes.EXECVE, ExecEv)
    args = b"/bin/ls\0-l\0a b\0"
    ctypes.memmove(ev.argv, args, len(args))
    ev.argc, ev.argv_len, ev.flags = 3, len(args), 1
    ev.filename, ev.ssh, ev.ld_preload = b"/bin/ls", b"1.2.3.4 5 6.7.8.9 22", b"/tmp/x.so"
    raw = decode(ctypes.addressof(ev), ctypes.sizeof(ev))
    assert (raw.type, raw.pid, raw.tgid, raw.ppid, raw.uid, raw.res, raw.comm) == (59, 11, 10, 9, 1000, -13, "bash")
    assert raw.argv == ["/bin/ls", "-l", "a b"] and raw.argv_truncated
    assert (raw.filename, raw.ssh, raw.ld_preload) == ("/bin/ls", "1.2.3.4 5 6.7.8.9 22", "/tmp/x.so")


def test_net_event_addresses_by_family():
    ev = NetEv()
    header(ev.h, datatypes.CONNECT, NetEv)
    ev.family, ev.dport, ev.sport, ev.fd = socket.AF_INET6, 443, 50000, 7
    ctypes.memmove(ev.daddr, socket.inet_pton(socket.AF_INET6, "2001:db8::1"), 16)
    raw = decode(ctypes.addressof(ev), ctypes.sizeof(ev))
    assert (raw.daddr, raw.dport, raw.sport, raw.fd) == ("2001:db8::1", 443, 50000, 7)
    assert raw.saddr == "::"  # a port without an address: the unspecified address
    ev.family, ev.sport = socket.AF_INET, 0
    ctypes.memmove(ev.daddr, socket.inet_aton("10.0.0.1"), 4)
    assert decode(ctypes.addressof(ev), ctypes.sizeof(ev)).daddr == "10.0.0.1"


def test_undecodable_bytes_are_kept_as_escapes():
    ev = SysEv()
    header(ev.h, datatypes.RENAME, SysEv)
    ev.p1, ev.p2, ev.a[0] = b"/tmp/\xff\xfe", b"/tmp/ok", -100
    raw = decode(ctypes.addressof(ev), ctypes.sizeof(ev))
    assert (raw.p1, raw.p2, raw.a[0]) == ("/tmp/\\xff\\xfe", "/tmp/ok", -100)


def test_size_mismatch_is_refused_not_misread():
    ev = SysEv()
    header(ev.h, datatypes.EXECVE, SysEv)  # an exec claiming the size of another layout
    with pytest.raises(DecodeError, match="event type 59: size 640/640, expected 1872"):
        decode(ctypes.addressof(ev), ctypes.sizeof(ev))
    with pytest.raises(DecodeError, match="shorter than the event header"):
        decode(ctypes.addressof(ev), 10)
