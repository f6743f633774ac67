from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from elkeid.agent.plugins.driver import _procfs


def test_stat_of_a_process_whose_name_has_spaces_and_parentheses():
    child = subprocess.Popen([sys.executable, "-c", "import ctypes, sys\nctypes.CDLL(None).prctl(15, b'a) (b c', 0, 0, 0)\n"
                              "print('ok', flush=True)\nsys.stdin.read()"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert child.stdout.readline() == "ok\n"
        st = _procfs.read_stat(child.pid)
        assert st.comm == "a) (b c" and st.ppid == os.getpid()
        assert st.pgid == os.getpgid(0) and st.sid == os.getsid(0)
    finally:
        child.communicate("")


def test_gone_processes_read_as_empty():
    assert _procfs.read_stat(0) is None and _procfs.read_environ(0, ("PATH",)) is None
    assert _procfs.read_cmdline(0) == "" and _procfs.readlink("/proc/0/cwd") == ""
    assert _procfs.ns_inode(0, "pid") == 0 and _procfs.read_uids(0) is None


def test_cmdline_environ_and_uids_of_this_process():
    expected = Path("/proc/self/cmdline").read_bytes().rstrip(b"\0").replace(b"\0", b" ").decode()
    assert _procfs.read_cmdline(os.getpid()) == expected
    child = subprocess.Popen(["/bin/sleep", "5"], env={"POD_NAME": "web-1", "OTHER": "x"})
    try:
        while not _procfs.read_environ(child.pid, ("OTHER",)):  # until the exec has set it up
            time.sleep(0.01)
        assert _procfs.read_environ(child.pid, ("POD_NAME", "MISSING")) == {"POD_NAME": "web-1"}
    finally:
        child.kill()
        child.wait()
    uids = _procfs.read_uids(os.getpid())
    assert uids[0] == os.getuid() and uids[1] == os.geteuid()


def test_tty_names_as_the_kernel_writes_them():
    assert _procfs.tty_name(0) == ""
    assert _procfs.tty_name((136 << 8) | 3) == "pts3"
    assert _procfs.tty_name((137 << 8) | 1) == "pts257"
    assert _procfs.tty_name((4 << 8) | 1) == "tty1"
    assert _procfs.tty_name((4 << 8) | 65) == "ttyS1"


def test_parents_lists_running_processes():
    parents = _procfs.parents()
    assert parents[os.getpid()] == os.getppid()
