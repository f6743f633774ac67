from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from elkeid.agent.plugins.driver._namespaces import Namespaces
from elkeid.agent.plugins.driver._procfs import ns_inode


def test_our_own_namespaces():
    ns = Namespaces()
    assert ns.root_pns == os.stat("/proc/self/ns/pid").st_ino or ns.root_pns == ns_inode(1, "pid")
    assert ns.nodename(ns.host_uts, os.getpid()) == socket.gethostname()
    assert ns.pod_name(ns.root_pns, os.getpid()) == ""


@pytest.mark.skipif(os.geteuid() != 0, reason="a new UTS namespace needs root")
def test_the_host_name_inside_another_uts_namespace():
    child = subprocess.Popen(["unshare", "--uts", "sh", "-c", "hostname elkeid-inner && exec sleep 30"])
    try:
        ns = Namespaces()
        for _ in range(200):
            uts = ns_inode(child.pid, "uts")
            if uts != ns.host_uts and Path(f"/proc/{child.pid}/comm").read_text().strip() == "sleep":
                break
            time.sleep(0.02)
        assert ns.nodename(uts, child.pid) == "elkeid-inner"
    finally:
        child.kill()
        child.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="a new PID namespace needs root")
def test_pod_name_from_the_environment_of_a_process_in_another_pid_namespace():
    env = dict(os.environ, MY_POD_NAME="web-7")
    child = subprocess.Popen(["unshare", "--pid", "--fork", "sleep", "30"], env=env)
    try:
        ns = Namespaces()
        pid = 0
        for _ in range(200):  # unshare forks: the sleeper is its child
            kids = Path(f"/proc/{child.pid}/task/{child.pid}/children").read_text().split()
            if kids and Path(f"/proc/{kids[0]}/comm").read_text().strip() == "sleep":
                pid = int(kids[0])
                break
            time.sleep(0.02)
        pns = ns_inode(pid, "pid")
        assert pns != ns.root_pns
        for _ in range(200):  # the environment appears a moment after the exec
            if ns.pod_name(pns, pid):
                break
            time.sleep(0.02)
        assert ns.pod_name(pns, pid) == "web-7"
    finally:
        child.kill()
        child.wait()
