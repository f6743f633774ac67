"""Sockets behind another process's fds, on real loopback sockets."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from elkeid.agent.plugins.driver._sockets import NO_SOCKET, fd_socket, lookup_inode, process_socket, socket_inode


@pytest.fixture
def connection():
    """A listener and a client connected to it, on loopback."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        with socket.create_connection(srv.getsockname()) as client:
            yield srv, client


@pytest.fixture
def spawn():
    children = []

    def start(**kw) -> subprocess.Popen:
        children.append(subprocess.Popen(["/bin/sleep", "10"], **kw))
        return children[-1]

    yield start
    for child in children:
        child.kill()
        child.wait()


def test_a_bound_but_idle_socket_is_seen_exactly():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        info = fd_socket(os.getpid(), s.fileno())
        assert (info.family, info.sip, info.sport, info.connected) == (socket.AF_INET, "127.0.0.1", s.getsockname()[1], False)


def test_a_connected_socket_in_a_child_and_the_proc_net_lookup_agree(connection, spawn):
    srv, client = connection
    child = spawn(stdin=client)
    info = fd_socket(child.pid, 0)
    assert info.connected and (info.dip, info.dport) == srv.getsockname()
    assert info.sport == client.getsockname()[1]
    inode = socket_inode(os.readlink(f"/proc/{child.pid}/fd/0"))
    assert inode == os.fstat(client.fileno()).st_ino
    assert lookup_inode(child.pid, inode) == info
    assert process_socket(child.pid, lambda pid: 0) == (info, child.pid)
    assert info.fields() == {"sa_family": "2", "sip": "127.0.0.1", "sport": str(info.sport),
                             "dip": "127.0.0.1", "dport": str(srv.getsockname()[1])}  # fmt: skip


def test_the_search_walks_up_to_an_ancestor_holding_the_socket(connection, spawn):
    _srv, client = connection
    holder = spawn(stdin=client)
    plain = spawn(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    found = process_socket(plain.pid, lambda pid: holder.pid if pid == plain.pid else 0)
    assert found is not None and found[1] == holder.pid


def test_no_socket_and_not_a_socket():
    assert fd_socket(os.getpid(), 10**6) is None
    with open("/dev/null") as f:
        assert fd_socket(os.getpid(), f.fileno()) is None
    assert socket_inode("pipe:[12]") == 0 and socket_inode("socket:[12]") == 12
    assert set(NO_SOCKET) == {"sa_family", "sip", "sport", "dip", "dport", "socket_pid"}
