"""Network events from real sockets on loopback: connect, accept, bind, DNS queries, and
an exec whose stdin and stdout are a TCP socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import pytest

from elkeid import datatypes

pytestmark = pytest.mark.bpf


def of_pid(data_type: int, pid: int):
    return lambda r: r.data_type == data_type and r.fields.get("pid") == str(pid)


@pytest.fixture
def listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    yield srv
    srv.close()


def connect_child(port: int, times: int = 1) -> tuple[subprocess.CompletedProcess, list[int]]:
    code = (f"import socket\nfor _ in range({times}):\n"
            f"    s = socket.create_connection(('127.0.0.1', {port}))\n"
            "    print(s.getsockname()[1], flush=True)\n    s.close()\n")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out, [int(p) for p in out.stdout.split()]


def test_connect_to_a_loopback_listener_reports_both_ports(driver, options, listener):
    options(drop_loopback=False)
    port = listener.getsockname()[1]
    mark = driver.mark()
    proc = subprocess.Popen([sys.executable, "-c", f"import socket\ns = socket.create_connection(('127.0.0.1', {port}))\n"
                             "print(s.getsockname()[1], flush=True)\ninput()\n"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        sport = int(proc.stdout.readline())
        rec = driver.wait_for(of_pid(datatypes.CONNECT, proc.pid), since=mark, what="connect")
    finally:
        proc.communicate("\n", timeout=30)
    f = rec.fields
    assert set(f) == set(datatypes.get(datatypes.CONNECT).fields)
    assert (f["sa_family"], f["dip"], f["dport"]) == (str(socket.AF_INET), "127.0.0.1", str(port))
    assert (f["sip"], f["sport"], f["res"]) == ("127.0.0.1", str(sport), "0")
    assert f["comm"].startswith("python") and f["ppid"] == str(os.getpid())


def test_loopback_connects_are_dropped_and_counted_by_default(driver, listener):
    before = int(driver.status()["loopback_drops"])
    mark = driver.mark()
    out, _ports = connect_child(listener.getsockname()[1])
    exec_rec = driver.wait_for(lambda r: r.data_type == datatypes.EXIT and r["ppid"] == str(os.getpid())
                               and r["comm"].startswith("python"), since=mark, what="exit of the child")  # fmt: skip
    pid = exec_rec["pid"]
    assert not driver.matching(lambda r: r.data_type == datatypes.CONNECT and r["pid"] == pid, mark)
    assert int(driver.status()["loopback_drops"]) > before


def test_identical_connects_are_reported_once_within_the_window(driver, options, listener):
    options(drop_loopback=False, connect_dedup_seconds=60)
    before = int(driver.status()["dedup_drops"])
    mark = driver.mark()
    out, ports = connect_child(listener.getsockname()[1], times=3)
    first = driver.wait_for(lambda r: r.data_type == datatypes.CONNECT and r["sport"] == str(ports[0]),
                            since=mark, what="first connect")  # fmt: skip
    driver.wait_for(lambda r: r.data_type == datatypes.EXIT and r["pid"] == first["pid"], since=mark)
    assert len(driver.matching(lambda r: r.data_type == datatypes.CONNECT and r["pid"] == first["pid"], mark)) == 1
    assert int(driver.status()["dedup_drops"]) >= before + 2


def test_accept_reports_the_peer_and_our_end(driver, options):
    options(drop_loopback=False)
    mark = driver.mark()
    server = subprocess.Popen([sys.executable, "-c", "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\n"
                               "s.listen()\nprint(s.getsockname()[1], flush=True)\nc, a = s.accept()\nc.recv(1)\n"],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    port = int(server.stdout.readline())
    with socket.create_connection(("127.0.0.1", port)) as client:
        sport = client.getsockname()[1]
        rec = driver.wait_for(of_pid(datatypes.ACCEPT, server.pid), since=mark, what="accept")
        client.sendall(b"x")
    server.wait(30)
    server.stdout.close()
    f = rec.fields
    assert (f["sa_family"], f["dip"], f["dport"]) == ("2", "127.0.0.1", str(port))
    assert (f["sip"], f["sport"], f["res"]) == ("127.0.0.1", str(sport), "0")
    bind = driver.wait_for(of_pid(datatypes.BIND, server.pid), since=mark, what="bind")
    assert (bind["sa_family"], bind["sip"], bind["sport"], bind["res"]) == ("2", "127.0.0.1", str(port), "0")


def test_bind_of_an_ipv6_udp_socket_to_a_port_the_kernel_chose(driver):
    """Port 0: the chosen port is read from the socket itself while the process lives
    (a process already gone leaves sport "0": no tracepoint carries the chosen port)."""
    mark = driver.mark()
    child = subprocess.Popen([sys.executable, "-c", "import socket\ns = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
                              "s.bind(('::1', 0))\nprint(s.getsockname()[1], flush=True)\ninput()\n"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        port = child.stdout.readline().strip()
        rec = driver.wait_for(of_pid(datatypes.BIND, child.pid), since=mark, what="IPv6 bind")
    finally:
        child.communicate("\n", timeout=30)
    assert (rec["sa_family"], rec["sip"], rec["sport"], rec["res"]) == (str(socket.AF_INET6), "::1", port, "0")


def _dns_query(name: str, ident: int = 0x1234) -> bytes:
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return ident.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + qname + b"\x00\x01\x00\x01"


def test_dns_queries_by_sendto_and_by_a_connected_socket(driver):
    first = f"a{uuid.uuid4().hex[:10]}.elkeid-test.example"
    second = f"b{uuid.uuid4().hex[:10]}.elkeid-test.example"
    code = ("import socket, sys\n"
            "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            f"u.sendto({_dns_query(first)!r}, ('127.0.0.1', 53))\n"
            "print(u.getsockname()[1])\n"
            "c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nc.connect(('127.0.0.1', 53))\n"
            f"c.send({_dns_query(second)!r})\nprint(c.getsockname()[1])\n"
            "u.sendto(b'not a dns packet at all', ('127.0.0.1', 53))\n"
            "sys.stdout.flush()\ninput()\n")  # fmt: skip
    mark = driver.mark()
    # the child waits: the source ports are read from its sockets while it lives
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    sport1, sport2 = child.stdout.readline().strip(), child.stdout.readline().strip()
    rec = driver.wait_for(lambda r: r.data_type == datatypes.DNS_QUERY and r["query"] == first, since=mark, what="dns")
    # an unconnected UDP socket is bound to the wildcard address
    assert (rec["sa_family"], rec["dip"], rec["dport"], rec["sip"], rec["sport"]) == ("2", "127.0.0.1", "53",
                                                                                        "0.0.0.0", sport1)  # fmt: skip
    assert (rec["opcode"], rec["rcode"]) == ("0", "0")
    rec2 = driver.wait_for(lambda r: r.data_type == datatypes.DNS_QUERY and r["query"] == second, since=mark)
    child.communicate("\n", timeout=30)
    assert (rec2["sip"], rec2["sport"], rec2["pid"]) == ("127.0.0.1", sport2, rec["pid"])
    driver.wait_for(lambda r: r.data_type == datatypes.EXIT and r["pid"] == rec["pid"], since=mark)
    assert len(driver.matching(lambda r: r.data_type == datatypes.DNS_QUERY and r["pid"] == rec["pid"], mark)) == 2


def test_bash_with_a_tcp_socket_as_stdin_and_stdout(driver, listener):
    """A reverse shell's shape: the exec record names the socket behind stdin/stdout."""
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = listener.accept()
    sport, inode = client.getsockname()[1], os.fstat(client.fileno()).st_ino
    mark = driver.mark()
    bash = subprocess.Popen(["/bin/bash", "-c", "read line; echo got-$line"], stdin=client, stdout=client)
    try:
        rec = driver.wait_for(of_pid(datatypes.EXECVE, bash.pid), since=mark, what="execve of bash")
        conn.sendall(b"ping\n")
        assert conn.recv(100) == b"got-ping\n"
    finally:
        bash.wait(30)
        client.close()
        conn.close()
    f = rec.fields
    assert f["stdin"] == f"socket:[{inode}]" and f["stdout"] == f"socket:[{inode}]"
    assert (f["sa_family"], f["sip"], f["sport"]) == ("2", "127.0.0.1", str(sport))
    assert (f["dip"], f["dport"], f["socket_pid"]) == ("127.0.0.1", str(port), str(bash.pid))
    assert f["argv"] == "/bin/bash -c read line; echo got-$line"
