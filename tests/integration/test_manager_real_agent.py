"""The Manager with a real ``elkeid agent`` process: config push, a task round trip, delete = revoke."""

from __future__ import annotations

import re
import uuid

import psutil

from tests._support import START_DEADLINE, AgentProcess, agent_record, wait_until

PLUGIN = b"#!/bin/sh\nexec sleep 3600\n"


def _pushes(server, aid: str) -> list[str]:
    return [line for line in server.log.text().splitlines() if re.search(rf"pushed \d+ plugin config\(s\) to agent {aid}:", line)]


def _plugin_pids(agent: AgentProcess, name: str) -> list[int]:
    """Processes the agent started from plugin ``name``'s package (plugins/<name>/<sha>.pkg)."""
    marker = f"/plugins/{name}/"
    out = []
    for child in psutil.Process(agent.proc.pid).children(recursive=True):
        try:
            if any(marker in part for part in child.cmdline()) or (child.cwd() or "").endswith(marker.rstrip("/")):
                out.append(child.pid)
        except psutil.Error:
            continue
    return out


def test_config_push_starts_and_stops_a_plugin_on_a_real_agent(server, tmp_path):
    aid, tag, name = f"cfg-{uuid.uuid4()}", f"cfg-{uuid.uuid4().hex[:8]}", f"probe_{uuid.uuid4().hex[:8]}"
    with server.api() as api:
        comp = api.post("/api/v1/components", data={"name": name, "version": "1"},
                        files={"file": ("p", PLUGIN)}).json()  # fmt: skip
        api.post("/api/v1/components/assignments", json={"component_id": comp["id"], "selector": {"tags": [tag]}})
        agent = AgentProcess(tmp_path / "agent", aid).start(server, server.create_token())
        try:
            wait_until(lambda: (r := agent_record(api, aid)) and r["online"], START_DEADLINE, message="agent online")
            # On connect the agent learns its complete set: nothing assigned yet, so no plugins.
            wait_until(lambda: _pushes(server, aid), 10, message="push on connect")
            assert _pushes(server, aid)[0].endswith(": none")
            assert api.post(f"/api/v1/agents/{aid}/tags", json={"tags": [tag]}).status_code == 200
            wait_until(lambda: len(_pushes(server, aid)) == 2, 10, message="push after tagging")
            assert f"{name}@1" in _pushes(server, aid)[1]
            # The agent downloaded, verified and started the signed package; its heartbeat says so.
            wait_until(lambda: _plugin_pids(agent, name), 20, message="plugin process running")
            config = api.get(f"/api/v1/agents/{aid}/config").json()["configs"]
            assert [(c["name"], c["sha256"]) for c in config] == [(name, comp["sha256"])]
            # Untagged: the set is empty again and the agent stops the plugin.
            assert api.delete(f"/api/v1/agents/{aid}/tags/{tag}").status_code == 200
            wait_until(lambda: not _plugin_pids(agent, name), 20, message="plugin stopped after un-assignment")
        finally:
            agent.stop()


def test_a_task_round_trip_through_a_real_agent_and_its_collector(server, tmp_path):
    aid, tag = f"task-{uuid.uuid4()}", f"col-{uuid.uuid4().hex[:8]}"
    with server.api() as api:
        collector = next(c for c in api.get("/api/v1/components").json()["items"] if c["name"] == "collector")
        api.post("/api/v1/components/assignments", json={"component_id": collector["id"], "selector": {"tags": [tag]}})
        agent = AgentProcess(tmp_path / "agent", aid).start(server, server.create_token())
        try:
            wait_until(lambda: (r := agent_record(api, aid)) and r["online"], START_DEADLINE, message="agent online")
            api.post(f"/api/v1/agents/{aid}/tags", json={"tags": [tag]})
            agent.log.wait_for(r"plugin collector \S+ started", START_DEADLINE)
            task = api.post("/api/v1/tasks", json={"object_name": "collector", "data_type": 5100,
                                                   "data": '{"types": ["volume"]}',
                                                   "targets": {"agent_ids": [aid]}}).json()  # fmt: skip
            sub = wait_until(
                lambda: (s := api.get(f"/api/v1/tasks/{task['id']}/subtasks").json()["items"][0])["status"]
                in ("succeeded", "failed") and s,
                60, message="the collector's answer matched by token",
            )  # fmt: skip
            assert sub["status"] == "succeeded", sub
        finally:
            agent.stop()


def test_delete_revokes_a_real_agent_and_closes_its_stream(server, tmp_path):
    aid = f"revoke-{uuid.uuid4()}"
    agent = AgentProcess(tmp_path / "agent", aid).start(server, server.create_token())
    try:
        with server.api() as api:
            wait_until(lambda: (r := agent_record(api, aid)) and r["online"], START_DEADLINE, message="agent online")
            assert api.delete(f"/api/v1/agents/{aid}").json()["disconnected"] is True
            agent.log.wait_for(r"ended: PERMISSION_DENIED .*revoked", 15)
            wait_until(lambda: not agent_record(api, aid)["online"], 10, message="agent offline")
            # Its reconnects are refused: it stays offline and revoked.
            wait_until(lambda: agent.log.text().count("ended: PERMISSION_DENIED") >= 2, 20,
                       message="a refused reconnect")  # fmt: skip
            rec = agent_record(api, aid)
            assert not rec["online"] and rec["status"] == "revoked"
    finally:
        agent.stop()
