from __future__ import annotations

from pathlib import Path

from elkeid.agent._limits import _cgroup2, apply_limits, cgroup_mounts, own_cgroups

HYBRID = """\
30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
36 30 0:32 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
37 30 0:33 / /sys/fs/cgroup/with\\040space rw - cgroup cgroup rw,pids
"""
UNIFIED = "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"


def test_mounts_of_a_hybrid_host():
    mounts = cgroup_mounts(HYBRID)
    assert mounts == {"unified": Path("/sys/fs/cgroup/unified"), "cpu": Path("/sys/fs/cgroup/cpu,cpuacct"),
                      "cpuacct": Path("/sys/fs/cgroup/cpu,cpuacct"), "memory": Path("/sys/fs/cgroup/memory")}  # fmt: skip


def test_mounts_of_a_unified_host():
    assert cgroup_mounts(UNIFIED) == {"unified": Path("/sys/fs/cgroup")}


def test_own_cgroups_by_hierarchy():
    text = "12:memory:/user.slice\n4:cpu,cpuacct:/x\n1:name=systemd:/init.scope\n0::/system.slice/elkeid-agent.service\n"
    own = own_cgroups(text)
    assert own["memory"] == "/user.slice" and own["cpu"] == own["cpuacct"] == "/x"
    assert own["unified"] == "/system.slice/elkeid-agent.service" and own["name=systemd"] == "/init.scope"


def test_limits_off_touches_nothing():
    status = apply_limits("off", 10, 1 << 28, "never-created")
    assert (status.kind, status.detail) == ("none", "disabled (--limits off)")


def test_cgroup2_file_protocol(tmp_path):
    """The v2 steps as file writes, on a folder standing in for cgroupfs.

    This checks the order and content of the writes only; the kernel's side of
    cgroup v2 is exercised where the machine has it (this CI host mounts cpu and
    memory as v1 hierarchies, see test_agent_limits.py for the real thing).
    """
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    status = _cgroup2(tmp_path, "/", "elkeid-agent", 10, 250 << 20, 4242)
    target = tmp_path / "elkeid-agent"
    assert status.kind == "cgroup2" and status.paths == (str(target),)
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+cpu +memory"
    assert (target / "cpu.max").read_text() == "10000 100000"
    assert (target / "memory.max").read_text() == str(250 << 20)
    assert (target / "cgroup.procs").read_text() == "4242"


def test_cgroup2_without_controllers_says_so(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("hugetlb\n")
    assert "lacks the cpu/memory controllers" in _cgroup2(tmp_path, "/", "x", 10, 1, 1)
