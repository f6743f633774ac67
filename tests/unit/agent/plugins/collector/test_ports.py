from __future__ import annotations

import os
import socket

import pytest

from elkeid import datatypes
from elkeid.agent.plugins.collector import Host
from elkeid.agent.plugins.collector._ports import collect_ports

from ._sanity import assert_declared


@pytest.fixture
def sockets():
    made = []

    def make(family, kind, addr):
        s = socket.socket(family, kind)
        s.bind(addr)
        if kind == socket.SOCK_STREAM:
            s.listen()
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def _find(records, sock):
    inode = str(os.fstat(sock.fileno()).st_ino)
    hits = [r for r in records if r["inode"] == inode]
    assert len(hits) == 1, f"socket inode {inode} not listed once: {hits}"
    return hits[0]


def test_own_listening_sockets_appear_with_this_pid(sockets):
    tcp4 = sockets(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0))
    tcp6 = sockets(socket.AF_INET6, socket.SOCK_STREAM, ("::1", 0))
    udp4 = sockets(socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 0))
    udp6 = sockets(socket.AF_INET6, socket.SOCK_DGRAM, ("::1", 0))
    records = collect_ports(Host())
    for sock, family, proto, state in ((tcp4, "2", "6", "10"), (tcp6, "10", "6", "10"),
                                       (udp4, "2", "17", "7"), (udp6, "10", "17", "7")):  # fmt: skip
        rec = _find(records, sock)
        addr = sock.getsockname()
        assert (rec["family"], rec["protocol"], rec["state"]) == (family, proto, state)
        assert rec["sip"] == addr[0] and rec["sport"] == str(addr[1])
        assert rec["pid"] == str(os.getpid()) and rec["exe"] == os.path.realpath("/proc/self/exe")
        assert rec["uid"] == str(os.getuid()) and rec["username"] == "root"
        assert "pytest" in rec["cmdline"]
    assert_declared(datatypes.ASSET_LISTEN_PORT, [dict(r, package_seq="x") for r in records])


def test_connected_udp_and_established_tcp_are_not_listening(sockets):
    server = sockets(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    peer, _ = server.accept()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.connect(("127.0.0.1", 9))
    try:
        inodes = {r["inode"] for r in collect_ports(Host())}
        for s in (client, peer, udp):
            assert str(os.fstat(s.fileno()).st_ino) not in inodes
        assert str(os.fstat(server.fileno()).st_ino) in inodes
    finally:
        for s in (client, peer, udp):
            s.close()
