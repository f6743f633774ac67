from __future__ import annotations

import os
import subprocess

from elkeid.agent.plugins.driver._proctable import ProcTable


def test_unknown_processes_are_read_from_proc_once():
    table = ProcTable()
    me = table.lookup(os.getpid())
    assert me.ppid == os.getppid() and me.exe == os.path.realpath("/proc/self/exe")
    assert me.pns == os.stat("/proc/self/ns/pid").st_ino
    assert table.lookup(os.getpid()) is me


def test_exec_entries_outlive_the_process_for_their_childrens_ancestry():
    table = ProcTable(recent=2)
    table.on_exec(900001, os.getpid(), "sh", "/usr/bin/dash", "sh -c x")
    table.on_exec(900002, 900001, "true", "/usr/bin/true", "true")
    table.on_exit(900001)  # the shell is gone, its child still names it
    tree = table.pid_tree(900002, "true", 900001)
    assert tree.startswith(f"900002.true<900001.sh<{os.getpid()}.")
    assert table.parent_of(900002) == 900001


def test_a_forked_child_that_never_execd_inherits_its_parents_image():
    table = ProcTable()
    table.on_exec(900011, 1, "server", "/opt/server", "server --port 1")
    entry = table.lookup(900012, ppid=900011)
    assert (entry.exe, entry.argv, entry.ppid) == ("/opt/server", "server --port 1", 900011)
    assert table.lookup(900013) is None


def test_pid_tree_stops_at_twelve_and_at_loops():
    table = ProcTable()
    for pid in range(900100, 900120):
        table.on_exec(pid, pid - 1, f"p{pid}", "/x", "x")
    assert len(table.pid_tree(900119, "p", 900118).split("<")) == 12
    table.on_exec(900200, 900201, "a", "/a", "a")
    table.on_exec(900201, 900200, "b", "/b", "b")
    assert table.pid_tree(900200, "a", 900201) == "900200.a<900201.b"


def test_exec_of_a_gone_process_keeps_the_namespaces_known_before():
    table = ProcTable()
    child = subprocess.Popen(["/bin/true"])
    child.wait()
    old = table.on_exec(os.getpid(), os.getppid(), "py", "/x", "x")  # known namespaces
    table.on_exit(os.getpid())
    table._recent[child.pid] = old  # the table knew the process before it went
    again = table.on_exec(child.pid, os.getpid(), "true", "/usr/bin/true", "true")
    assert again.pns == old.pns and again.pns
