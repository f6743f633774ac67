"""Self-limits: the agent puts itself and its plugins in a cgroup of its own (real cgroupfs)."""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path

import psutil
import pytest

from elkeid.agent._limits import cgroup_mounts, own_cgroups
from elkeid.proto import transfer_pb2
from tests._support import AgentProcess, wait_until
from tests.integration._agent_peer import peer, plugin_package, stored_events  # noqa: F401


def _remove_cgroups(name: str) -> None:
    mounts, own = cgroup_mounts(), own_cgroups()
    for hierarchy, mount in mounts.items():
        base = mount / own.get(hierarchy, "/").lstrip("/")
        for candidate in {mount / name, base / name}:
            with contextlib.suppress(OSError):
                candidate.rmdir()


def test_agent_and_plugins_run_under_a_cpu_and_memory_limit(peer, tmp_path):
    name = f"elkeid-test-{uuid.uuid4().hex[:8]}"
    aid = f"limits-{uuid.uuid4()}"
    peer.enroll(tmp_path / "agent", aid)
    agent = AgentProcess(tmp_path / "agent", aid).start(None, None, "--heartbeat-interval", "1", "--limits", "auto",
                                                         "--cgroup", name, "--cpu-limit", "10", "--memory-limit", "300M")  # fmt: skip
    try:
        beat = wait_until(lambda: stored_events(peer, aid, 1000), 30, message="first heartbeat")[0]
        if beat["limits"] == "none":
            pytest.skip(f"this machine allows no cgroup limits: {beat['limits_detail']}")
        assert beat["limits"] in ("cgroup1", "cgroup2") and name in beat["limits_detail"]
        assert "10000" in beat["limits_detail"] and str(300 * 1024 * 1024) in beat["limits_detail"]
        cfg = peer.publish("burner", "1.0.0", plugin_package(), detail={"burn": True})
        peer.push(aid, transfer_pb2.Command(configs=[cfg]))
        started = wait_until(lambda: [f for f in stored_events(peer, aid, 7000)], 30, message="burner started")[0]
        pid = int(started["pid"])
        assert f"/{name}" in Path(f"/proc/{pid}/cgroup").read_text()
        assert f"/{name}" in Path(f"/proc/{agent.proc.pid}/cgroup").read_text()
        burner = psutil.Process(pid)
        before, t0 = sum(burner.cpu_times()[:2]), time.monotonic()
        time.sleep(3)
        used = (sum(burner.cpu_times()[:2]) - before) / (time.monotonic() - t0)
        # A spinning thread would take a whole CPU; the group's 10 % quota holds it near 0.1.
        assert used < 0.3, f"the burner used {used:.2f} CPUs despite the 10% limit"
    finally:
        agent.stop()
        _remove_cgroups(name)


def test_limits_off_is_reported(peer, tmp_path):
    aid = f"nolimits-{uuid.uuid4()}"
    peer.enroll(tmp_path / "agent", aid)
    agent = AgentProcess(tmp_path / "agent", aid).start(None, None, "--heartbeat-interval", "1", "--limits", "off")
    try:
        beat = wait_until(lambda: stored_events(peer, aid, 1000), 30, message="first heartbeat")[0]
        assert (beat["limits"], beat["limits_detail"]) == ("none", "disabled (--limits off)")
    finally:
        agent.stop()
