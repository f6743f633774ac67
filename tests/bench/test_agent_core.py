"""Agent core CPU and RSS while forwarding 10,000 records/s from a plugin, vs. the plugin alone.

The agent is a real process talking mTLS gRPC to the in-test peer (which only
counts records, so its cost stays out of the figures). The baseline runs the
same emitter with its record pipe drained by a thread that discards the bytes.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid

import psutil

from elkeid.agent._logfile import RotatingLog
from elkeid.agent._plugin import PluginProcess, PluginSpec
from elkeid.proto import transfer_pb2
from tests._support import AgentProcess, wait_until
from tests.integration._agent_peer import PLUGINS, AgentPeer, plugin_package
from tests.integration.test_agent_limits import _remove_cgroups

RATE = 10_000
WARMUP = 5.0
WINDOW = 15.0
DATA_TYPE = 7001


def _cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def _plugin_alone(tmp_path, detail: dict) -> tuple[float, int, float]:
    """(CPUs used, RSS, bytes/s) of the emitter writing into a pipe nobody parses."""
    workdir = tmp_path / "alone"
    workdir.mkdir()
    env = dict(os.environ, ELKEID_PLUGIN_DETAIL=json.dumps(detail), ELKEID_PLUGIN_DIR=str(workdir))
    spec = PluginSpec("alone", "1", "exec", [sys.executable, str(PLUGINS / "echo_emitter.py")])
    proc = PluginProcess.spawn(spec, workdir, env, RotatingLog(workdir / "log", 1 << 20))
    os.set_blocking(proc.rec_r, True)
    got = [0]

    def drain():
        while chunk := os.read(proc.rec_r, 1 << 18):
            got[0] += len(chunk)

    threading.Thread(target=drain, daemon=True).start()
    p = psutil.Process(proc.pid)
    time.sleep(WARMUP)
    c0, b0, t0 = _cpu(p), got[0], time.monotonic()
    time.sleep(WINDOW)
    used, rss, wall = _cpu(p) - c0, p.memory_info().rss, time.monotonic() - t0
    frame = got[0] - b0
    proc.signal_group(9)
    os.waitpid(proc.pid, 0)
    return used / wall, rss, frame / wall


def test_agent_core_forwarding_10k_records_per_second(tmp_path):
    # 20 extra fields: about 600 bytes per record, the size of an enriched execve event.
    detail = {"count": int(RATE * (WARMUP + WINDOW + 10)), "rate": RATE, "data_type": DATA_TYPE, "fields": 20}
    peer = AgentPeer(tmp_path / "peer").start()
    peer.keep_fields = False
    aid = f"bench-{uuid.uuid4()}"
    peer.enroll(tmp_path / "agent", aid)
    agent = AgentProcess(tmp_path / "agent", aid).start(None, None, "--limits", "off", "--heartbeat-interval", "5")
    try:
        core = psutil.Process(agent.proc.pid)
        wait_until(lambda: aid in peer.conns, 30, message="agent connected")
        time.sleep(2)
        idle0, t0 = _cpu(core), time.monotonic()
        time.sleep(5)
        idle = (_cpu(core) - idle0) / (time.monotonic() - t0)
        idle_rss = core.memory_info().rss
        peer.push(aid, transfer_pb2.Command(configs=[peer.publish("emitter", "1", plugin_package(), detail=detail)]))
        plugin = wait_until(lambda: [c for c in core.children() if any(a.endswith(".pkg") for a in c.cmdline())], 30,
                            message="emitter started")[0]  # fmt: skip
        time.sleep(WARMUP)
        c0, p0, n0, t0 = _cpu(core), _cpu(plugin), peer.counts.get(DATA_TYPE, 0), time.monotonic()
        time.sleep(WINDOW)
        wall = time.monotonic() - t0
        core_cpu, plugin_cpu = (_cpu(core) - c0) / wall, (_cpu(plugin) - p0) / wall
        forwarded = (peer.counts.get(DATA_TYPE, 0) - n0) / wall
        core_rss, plugin_rss = core.memory_info().rss, plugin.memory_info().rss
    finally:
        agent.stop()
        peer.close()
    alone_cpu, alone_rss, alone_bytes = _plugin_alone(tmp_path, detail)
    print(f"\nagent core forwarding from one plugin emitting {RATE} records/s ({WINDOW:.0f} s window)")
    print(f"  records stored per second        {forwarded:10.0f}")
    print(f"  agent core CPU                   {core_cpu * 100:9.1f} % of one CPU   (idle, connected: {idle * 100:.1f} %)")
    print(f"  agent core RSS                   {core_rss / 2**20:9.1f} MiB   (idle: {idle_rss / 2**20:.1f} MiB)")
    print(f"  plugin CPU under the agent       {plugin_cpu * 100:9.1f} %   RSS {plugin_rss / 2**20:.1f} MiB")
    print(f"  plugin CPU alone (pipe drained)  {alone_cpu * 100:9.1f} %   RSS {alone_rss / 2**20:.1f} MiB   "
          f"{alone_bytes / 2**20:.2f} MiB/s of frames")
    print(f"  core overhead vs. the plugin alone: {core_cpu / alone_cpu:.2f}x its CPU; "
          f"{core_cpu / forwarded * 1e6:.1f} µs of core CPU per record")


def test_agent_core_under_its_own_cpu_limit(tmp_path):
    """What gets through when agent and plugin share the default 10 % CPU cgroup."""
    name = f"elkeid-bench-{uuid.uuid4().hex[:8]}"
    detail = {"count": RATE * 60, "rate": RATE, "data_type": DATA_TYPE, "fields": 20}
    peer = AgentPeer(tmp_path / "peer").start()
    peer.keep_fields = False
    aid = f"bench-limited-{uuid.uuid4()}"
    peer.enroll(tmp_path / "agent", aid)
    agent = AgentProcess(tmp_path / "agent", aid).start(None, None, "--limits", "auto", "--cgroup", name,
                                                         "--heartbeat-interval", "5")  # fmt: skip
    try:
        wait_until(lambda: aid in peer.conns, 30, message="agent connected")
        peer.push(aid, transfer_pb2.Command(configs=[peer.publish("emitter", "1", plugin_package(), detail=detail)]))
        time.sleep(WARMUP + 5)
        n0, t0 = peer.counts.get(DATA_TYPE, 0), time.monotonic()
        time.sleep(WINDOW)
        forwarded = (peer.counts.get(DATA_TYPE, 0) - n0) / (time.monotonic() - t0)
        limits = (tmp_path / "agent" / "agent.log").read_text().split("self-limits: ", 1)[-1].splitlines()[0]
    finally:
        agent.stop()
        peer.close()
        _remove_cgroups(name)
    print(f"\nunder the agent's own limits ({limits})")
    print(f"  a plugin offering {RATE} records/s gets {forwarded:.0f} records/s through "
          f"({forwarded / RATE * 100:.0f} %); the rest waits in its pipe")
