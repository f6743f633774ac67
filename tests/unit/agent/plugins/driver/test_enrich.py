"""The user-space pipeline on events shaped as the kernel sends them, about real processes."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from elkeid import datatypes
from elkeid.agent.plugins.driver import DriverOptions
from elkeid.agent.plugins.driver._enrich import Enricher
from elkeid.agent.plugins.driver._events import RawEvent
from elkeid.agent.plugins.driver._stats import Stats


def comm_of(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def raw(data_type: int, pid: int, ppid: int = 0, comm: str = "sleep", **kw) -> RawEvent:
    return RawEvent(data_type, time.monotonic_ns(), pid, pid, ppid, 0, 0, kw.pop("res", 0), 0, comm, **kw)


@pytest.fixture
def sleeper():
    child = subprocess.Popen(["/bin/sleep", "30"])
    while comm_of(child.pid) != "sleep":
        time.sleep(0.01)
    yield child
    child.kill()
    child.wait()


def make(**options):
    muted = []
    stats = Stats()
    enricher = Enricher(DriverOptions(**options), stats, mute=lambda tgid, until: muted.append((tgid, until)))
    return enricher, stats, muted


def test_connect_with_source_from_the_socket_when_the_kernel_had_none(sleeper):
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        client = socket.create_connection(srv.getsockname())
        child = subprocess.Popen(["/bin/sleep", "30"], stdin=client)
        try:
            while comm_of(child.pid) != "sleep":
                time.sleep(0.01)
            enricher, stats, _ = make(drop_loopback=False)
            ev = raw(datatypes.CONNECT, child.pid, os.getpid(), fd=0, family=2, daddr="127.0.0.1",
                     dport=srv.getsockname()[1])  # fmt: skip
            [(dt, ts, f)] = enricher.handle(ev)
            assert dt == datatypes.CONNECT and abs(ts - time.time()) < 5
            assert (f["sip"], f["sport"]) == ("127.0.0.1", str(client.getsockname()[1]))
            assert (f["exe"], f["ppid"], f["argv"]) == (os.path.realpath("/bin/sleep"), str(os.getpid()), "/bin/sleep 30")
            assert set(f) == set(datatypes.get(datatypes.CONNECT).fields)
            assert enricher.handle(ev) == [] and stats.counts["dedup_drops"] == 1
        finally:
            child.kill()
            child.wait()
            client.close()


def test_loopback_connects_are_dropped_unless_switched_off(sleeper):
    enricher, stats, _ = make()
    ev = raw(datatypes.CONNECT, sleeper.pid, family=2, daddr="127.0.0.1", dport=9)
    assert enricher.handle(ev) == [] and stats.counts["loopback_drops"] == 1
    ev.daddr = "192.0.2.1"
    assert len(enricher.handle(ev)) == 1


def test_allowlisted_processes_are_dropped_and_muted(sleeper):
    enricher, stats, muted = make(allow_exe=frozenset({os.path.realpath("/bin/sleep")}))
    assert enricher.handle(raw(datatypes.KILL, sleeper.pid, a=(1, 15, 0, 0))) == []
    assert stats.counts["allowlist_drops"] == 1 and muted == [(sleeper.pid, None)]


def test_a_flooding_exe_is_muted_with_a_deadline(sleeper):
    enricher, stats, muted = make(flood_rate=1, flood_window=1, flood_exempt_prefixes=())
    results = [enricher.handle(raw(datatypes.KILL, sleeper.pid, a=(1, 15, 0, 0))) for _ in range(5)]
    assert sum(1 for r in results if r) == 1 and stats.counts["ratelimit_drops"] == 4
    assert muted and muted[0][0] == sleeper.pid and muted[0][1] > time.monotonic_ns()


def test_exit_cleans_the_table_even_when_exit_records_are_off():
    enricher, _stats, _ = make(disabled_events=frozenset({datatypes.EXIT}))
    enricher.procs.on_exec(900301, 1, "x", "/x", "x")
    assert enricher.handle(raw(datatypes.EXIT, 900301, comm="x")) == []
    assert 900301 not in enricher.procs._live


def test_exec_of_a_process_already_gone_uses_the_syscalls_file_name():
    enricher, stats, _ = make()
    child = subprocess.Popen(["/bin/true"])
    child.wait()
    ev = raw(datatypes.EXECVE, child.pid, os.getpid(), comm="true", filename="/bin/true", argv=["/bin/true", "a"])
    [(dt, _ts, f)] = enricher.handle(ev)
    assert stats.counts["proc_gone"] == 1
    assert (f["exe"], f["argv"], f["run_path"], f["stdin"]) == (os.path.realpath("/bin/true"), "/bin/true a", "", "")
    assert f["pid_tree"].startswith(f"{child.pid}.true<{os.getpid()}.")


def test_switched_off_types_and_unix_accepts_give_nothing(sleeper):
    enricher, _stats, _ = make(disabled_events=frozenset({datatypes.KILL}))
    assert enricher.handle(raw(datatypes.KILL, sleeper.pid, a=(1, 15, 0, 0))) == []
    assert enricher.handle(raw(datatypes.ACCEPT, sleeper.pid, fd=0)) == []  # stdin is not an inet socket


def test_file_creation_judged_by_birth_time(tmp_path):
    enricher, stats, _ = make()
    entered = time.monotonic_ns()
    new = tmp_path / "new"
    new.write_text("")
    ev = raw(datatypes.CREATE_FILE, os.getpid(), comm="py", p1=str(new), a=(-100, os.O_CREAT, 0o644, entered), res=999)
    [(dt, _ts, f)] = enricher.handle(ev)
    assert f["file_path"] == str(new) and f["sb_id"]
    old = raw(datatypes.CREATE_FILE, os.getpid(), comm="py", p1=str(new), a=(-100, os.O_CREAT, 0, entered - 10**9), res=999)
    assert enricher.handle(old) == []
    gone = raw(datatypes.CREATE_FILE, os.getpid(), comm="py", p1=str(tmp_path / "gone"), a=(-100, os.O_CREAT, 0, 0), res=999)
    assert enricher.handle(gone) == [] and stats.counts["create_undecided"] == 1


def test_relative_paths_of_a_gone_process_resolve_against_its_cwd_at_exec(tmp_path):
    enricher, _stats, _ = make()
    child = subprocess.Popen(["/bin/sleep", "30"], cwd=tmp_path)
    while comm_of(child.pid) != "sleep":
        time.sleep(0.01)
    [(_dt, _ts, f)] = enricher.handle(raw(datatypes.EXECVE, child.pid, os.getpid(), filename="/bin/sleep",
                                          argv=["/bin/sleep", "30"]))  # fmt: skip
    assert f["run_path"] == str(tmp_path)
    entered = time.monotonic_ns()
    (tmp_path / "rel.txt").write_text("")
    child.kill()
    child.wait()
    ev = raw(datatypes.CREATE_FILE, child.pid, comm="sleep", p1="rel.txt", a=(-100, os.O_CREAT, 0o644, entered), res=3)
    [(_dt, _ts, f)] = enricher.handle(ev)
    assert f["file_path"] == str(tmp_path / "rel.txt")
