"""The agent's plugin host, config sync and task routing, with real processes over real mTLS gRPC."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from elkeid.proto import transfer_pb2
from tests._support import wait_until
from tests.integration._agent_peer import peer, pids_of, plugin_package, start_agent, stored_events  # noqa: F401


def _command(*configs, task=None) -> transfer_pb2.Command:
    cmd = transfer_pb2.Command(configs=list(configs))
    if task is not None:
        cmd.task.CopyFrom(task)
    return cmd


def test_a_signed_plugin_runs_and_answers_a_task_by_token(peer, tmp_path):
    agent = start_agent(peer, tmp_path / "agent")
    try:
        aid = agent.agent_id
        cfg = peer.publish("echo", "1.0.0", plugin_package())
        peer.push(aid, _command(cfg))
        started = wait_until(lambda: stored_events(peer, aid, 7000), 30, message="plugin started record")
        assert started[0]["version"] == "1.0.0"
        assert started[0]["cwd"] == str(tmp_path / "agent" / "plugins" / "echo")
        task = transfer_pb2.Task(data_type=7100, object_name="echo", data="hello", token="tok-42")
        peer.push(aid, _command(task=task))
        answer = wait_until(lambda: stored_events(peer, aid, 7100), 30, message="task answer")
        assert answer == [{"token": "tok-42", "status": "succeed", "msg": "echo hello", "pid": started[0]["pid"]}]
    finally:
        assert agent.stop() == 0


def _errors(peer, aid, data_type, plugin="echo"):
    return [f for f in stored_events(peer, aid, data_type) if f.get("plugin") == plugin]


def test_a_plugin_killed_with_sigkill_is_restarted_and_reported(peer, tmp_path):
    agent = start_agent(peer, tmp_path / "agent")
    try:
        aid = agent.agent_id
        peer.push(aid, _command(peer.publish("echo", "1.0.0", plugin_package())))
        first = wait_until(lambda: pids_of(peer, aid), 30, message="plugin started")[0]
        os.kill(int(first), signal.SIGKILL)
        pids = wait_until(lambda: (p := pids_of(peer, aid)) and len(p) >= 2 and p, 30, message="plugin restarted")
        assert pids[1] != first and psutil.pid_exists(int(pids[1]))
        assert not psutil.pid_exists(int(first))
        errors = wait_until(lambda: _errors(peer, aid, 1011), 10, message="1011 error record")
        assert "was killed by SIGKILL" in errors[0]["msg"] and "restarting in" in errors[0]["msg"]
        assert errors[0]["source"] == "agent"
        beats = wait_until(lambda: [b for b in stored_events(peer, aid, 1001) if b["name"] == "echo"
                                    and b["state"] == "running" and b["restarts"] == "1" and "cpu" in b], 15,
                           message="a 1001 heartbeat of the restarted plugin with figures")  # fmt: skip
        beat = beats[-1]
        assert beat["pid"] == pids[1] and int(beat["rss"]) > 1_000_000 and int(beat["nfd"]) >= 5
        assert beat["pversion"] == "1.0.0" and "killed by SIGKILL" in beat["last_exit"]
        for key in ("read_speed", "write_speed", "rx_tps", "tx_tps", "rx_speed", "tx_speed", "start_time", "du"):
            assert key in beat, key
        assert any(b["state"] == "restarting" for b in stored_events(peer, aid, 1001) if b["name"] == "echo")
    finally:
        assert agent.stop() == 0


def test_a_plugin_that_exits_is_restarted_with_its_last_output_reported(peer, tmp_path):
    agent = start_agent(peer, tmp_path / "agent")
    try:
        aid = agent.agent_id
        peer.push(aid, _command(peer.publish("echo", "1.0.0", plugin_package())))
        wait_until(lambda: pids_of(peer, aid), 30, message="plugin started")
        peer.push(aid, _command(task=transfer_pb2.Task(data_type=7100, object_name="echo", data="exit:3", token="t")))
        errors = wait_until(lambda: _errors(peer, aid, 1011), 30, message="1011 error record")
        assert "exited with status 3" in errors[0]["msg"] and "exiting on request" in errors[0]["msg"]
        wait_until(lambda: len(pids_of(peer, aid)) >= 2, 30, message="plugin restarted")
        log = (tmp_path / "agent" / "logs" / "plugin-echo.log").read_text()
        assert log.count("started in") >= 2
    finally:
        agent.stop()


def test_a_tampered_or_badly_signed_package_is_refused_while_the_old_plugin_keeps_running(peer, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import ed25519

    agent = start_agent(peer, tmp_path / "agent")
    try:
        aid = agent.agent_id
        v1 = plugin_package()
        v2 = v1 + b"\n# version 2\n"
        peer.push(aid, _command(peer.publish("echo", "1.0.0", v1)))
        old_pid = wait_until(lambda: pids_of(peer, aid), 30, message="v1 started")[0]

        peer.push(aid, _command(peer.publish("echo", "2.0.0", v2, serve=v2 + b"# tampered on the way\n")))
        refused = wait_until(lambda: _errors(peer, aid, 1010), 30, message="1010 refusal of the tampered package")
        assert "sha256" in refused[0]["msg"] and "tampered" in refused[0]["msg"]
        assert "echo 1.0.0 keeps running" in refused[0]["msg"]

        downloads_before = sum("/components/download/" in r for r in peer.requests)
        peer.push(aid, _command(peer.publish("echo", "2.0.0", v2, signing_key=ed25519.Ed25519PrivateKey.generate())))
        refused = wait_until(lambda: (r := _errors(peer, aid, 1010)) and len(r) >= 2 and r, 30, message="second refusal")
        assert "signature does not verify" in refused[1]["msg"]
        assert sum("/components/download/" in r for r in peer.requests) == downloads_before  # refused before download

        assert psutil.pid_exists(int(old_pid)) and pids_of(peer, aid) == [old_pid]
        folder = tmp_path / "agent" / "plugins" / "echo"
        assert [p.name for p in folder.glob("*.pkg")] == [peer.publish("echo", "1.0.0", v1).sha256 + ".pkg"]

        peer.push(aid, _command(peer.publish("echo", "2.0.0", v2)))
        wait_until(lambda: len(pids_of(peer, aid)) == 2, 30, message="v2 started")
        assert stored_events(peer, aid, 7000)[-1]["version"] == "2.0.0"
        wait_until(lambda: not psutil.pid_exists(int(old_pid)), 10, message="v1 stopped")
    finally:
        agent.stop()


def _run_echo_once(peer, tmp_path) -> str:
    """Start an agent, let it run the echo plugin, stop it cleanly; the agent id."""
    agent = start_agent(peer, tmp_path / "agent")
    try:
        peer.push(agent.agent_id, _command(peer.publish("echo", "1.0.0", plugin_package())))
        wait_until(lambda: pids_of(peer, agent.agent_id), 30, message="plugin started")
    finally:
        assert agent.stop() == 0
    return agent.agent_id


def test_a_package_changed_on_disk_is_not_restarted_after_an_agent_restart(peer, tmp_path):
    aid = _run_echo_once(peer, tmp_path)
    pkg = next((tmp_path / "agent" / "plugins" / "echo").glob("*.pkg"))
    pkg.write_bytes(pkg.read_bytes() + b"\n# changed on the host\n")
    agent = start_agent(peer, tmp_path / "agent", agent_id=aid)
    try:
        refused = wait_until(lambda: _errors(peer, aid, 1010), 30, message="refusal of the changed package")
        assert "changed on disk" in refused[0]["msg"]
        assert len(pids_of(peer, aid)) == 1
    finally:
        agent.stop()


def test_the_saved_plugin_set_starts_before_the_server_answers(peer, tmp_path):
    aid = _run_echo_once(peer, tmp_path)
    peer.stop()
    agent = start_agent(peer, tmp_path / "agent", agent_id=aid)
    try:
        children = wait_until(lambda: [c for c in psutil.Process(agent.proc.pid).children()
                                       if any(a.endswith(".pkg") for a in c.cmdline())], 30,
                              message="plugin started with the server down")  # fmt: skip
        assert children[0].environ()["ELKEID_PLUGIN_NAME"] == "echo"
        peer.start()
        wait_until(lambda: len(pids_of(peer, aid)) == 2, 60, message="its records arrive once the server is back")
        assert pids_of(peer, aid)[1] == str(children[0].pid)
    finally:
        agent.stop()


def test_a_plugin_left_out_of_the_set_is_stopped_and_removed(peer, tmp_path):
    agent = start_agent(peer, tmp_path / "agent")
    try:
        aid = agent.agent_id
        peer.push(aid, _command(peer.publish("echo", "1.0.0", plugin_package())))
        pid = int(wait_until(lambda: pids_of(peer, aid), 30, message="plugin started")[0])
        peer.push(aid, _command(transfer_pb2.Config(name="elkeid-agent", version="0.0.0")))
        wait_until(lambda: not psutil.pid_exists(pid), 15, message="plugin stopped")
        wait_until(lambda: not (tmp_path / "agent" / "plugins" / "echo").exists(), 10, message="plugin folder removed")
        peer.push(aid, _command(task=transfer_pb2.Task(data_type=7100, object_name="echo", data="x", token="t-gone")))
        answer = wait_until(lambda: stored_events(peer, aid, 7100), 15, message="failed answer")
        assert answer[0]["token"] == "t-gone" and answer[0]["status"] == "failed"
        assert "no plugin named 'echo'" in answer[0]["msg"]
    finally:
        agent.stop()


@pytest.mark.parametrize(
    ("config", "match"),
    [
        (transfer_pb2.Config(name="../../etc", type="exec", version="1"), "not allowed"),
        (transfer_pb2.Config(name="nobuiltin", type="builtin", version="1"), "no built-in plugin of that name"),
        (transfer_pb2.Config(name="x", type="exec", version="1", sha256="abc"), "not 64 hex digits"),
        (transfer_pb2.Config(name="x", type="exec", version="1", sha256="a" * 64, signature="!!"), "not base64"),
        (transfer_pb2.Config(name="x", type="builtin", detail="[1, 2]"), "detail is not a JSON object"),
    ],
)
def test_hostile_configs_are_refused_with_a_reason(peer, tmp_path, config, match):
    agent = start_agent(peer, tmp_path / "agent")
    try:
        aid = agent.agent_id
        peer.push(aid, _command(config))
        refused = wait_until(lambda: stored_events(peer, aid, 1010), 30, message="1010 refusal")
        assert match in refused[0]["msg"]
        assert agent.proc.poll() is None
    finally:
        agent.stop()


def test_bad_record_frames_are_skipped_and_reported(peer, tmp_path):
    agent = start_agent(peer, tmp_path / "agent")
    try:
        aid = agent.agent_id
        peer.push(aid, _command(peer.publish("echo", "1.0.0", plugin_package(), detail={"garbage": True})))
        wait_until(lambda: pids_of(peer, aid), 30, message="the good records after the bad one still arrive")
        warning = wait_until(lambda: _errors(peer, aid, 1011), 15, message="bad record report")[0]
        assert warning["level"] == "warning" and "not a valid bridge.Record" in warning["msg"]
    finally:
        agent.stop()


def test_a_builtin_plugin_runs_as_an_elkeid_plugin_subcommand(peer, tmp_path, monkeypatch):
    root = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("PYTHONPATH", f"{root / 'tests' / 'plugins' / 'builtin_site'}{os.pathsep}{root}")
    agent = start_agent(peer, tmp_path / "agent")
    try:
        aid = agent.agent_id
        peer.push(aid, _command(transfer_pb2.Config(name="testbuiltin", type="builtin", version="", detail="{}")))
        started = wait_until(lambda: stored_events(peer, aid, 7000), 30, message="built-in plugin started")[0]
        cmdline = psutil.Process(int(started["pid"])).cmdline()
        assert cmdline[1:] == ["-m", "elkeid", "plugin", "testbuiltin"]
        assert started["version"]  # the agent's own version when the config names none
        assert not list((tmp_path / "agent" / "plugins" / "testbuiltin").glob("*.pkg"))
    finally:
        agent.stop()
