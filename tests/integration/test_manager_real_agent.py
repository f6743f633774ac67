"""The Manager with a real ``elkeid agent`` process: config push on connect, a task delivered, delete = revoke.

The agent core does not yet act on configs or answer tasks (another part builds
that), so the config push is checked on the server's side here, and its exact
content in test_manager_components.py with a hand-driven stream; the task's
arrival is checked in the agent's own log, with the subtask's token.
"""

from __future__ import annotations

import re
import uuid

from tests._support import AgentProcess, agent_record, wait_until

PLUGIN = b"#!/bin/sh\nexec sleep 3600\n"


def _pushes(server, aid: str) -> list[str]:
    return [line for line in server.log.text().splitlines() if re.search(rf"pushed \d+ plugin config\(s\) to agent {aid}:", line)]


def test_config_is_pushed_when_a_real_agent_connects(server, tmp_path):
    aid, tag, name = f"cfg-{uuid.uuid4()}", f"cfg-{uuid.uuid4().hex[:8]}", f"probe_{uuid.uuid4().hex[:8]}"
    with server.api() as api:
        comp = api.post("/api/v1/components", data={"name": name, "version": "1"},
                        files={"file": ("p", PLUGIN)}).json()  # fmt: skip
        api.post("/api/v1/components/assignments", json={"component_id": comp["id"], "selector": {"tags": [tag]}})
        agent = AgentProcess(tmp_path / "agent", aid).start(server, server.create_token())
        try:
            wait_until(lambda: (r := agent_record(api, aid)) and r["online"], 20, message="agent online")
            assert _pushes(server, aid) == []  # nothing assigned to it yet: nothing sent
            assert api.post(f"/api/v1/agents/{aid}/tags", json={"tags": [tag]}).status_code == 200
            wait_until(lambda: len(_pushes(server, aid)) == 1, 10, message="push after tagging")
            assert f"{name}@1" in _pushes(server, aid)[0]
            agent.stop()
            wait_until(lambda: not agent_record(api, aid)["online"], 15, message="agent offline")
            agent = AgentProcess(tmp_path / "agent", aid).start()
            wait_until(lambda: len(_pushes(server, aid)) == 2, 20, message="push on reconnect")
            config = api.get(f"/api/v1/agents/{aid}/config").json()["configs"]
            assert [(c["name"], c["sha256"]) for c in config] == [(name, comp["sha256"])]
        finally:
            agent.stop()


def test_a_task_reaches_a_real_agent_with_its_token(server, tmp_path):
    aid = f"task-{uuid.uuid4()}"
    agent = AgentProcess(tmp_path / "agent", aid).start(server, server.create_token())
    try:
        with server.api() as api:
            wait_until(lambda: (r := agent_record(api, aid)) and r["online"], 20, message="agent online")
            task = api.post("/api/v1/tasks", json={"object_name": "collector", "data_type": 5100, "data": "{}",
                                                   "targets": {"agent_ids": [aid]}}).json()  # fmt: skip
            m = agent.log.wait_for(r"task 5100 for 'collector' \(token (\w+)\) received", 20)
            sub = api.get(f"/api/v1/tasks/{task['id']}/subtasks").json()["items"][0]
            assert sub["token"] == m.group(1) and sub["status"] == "sent"
            api.post(f"/api/v1/tasks/{task['id']}/cancel")
    finally:
        agent.stop()


def test_delete_revokes_a_real_agent_and_closes_its_stream(server, tmp_path):
    aid = f"revoke-{uuid.uuid4()}"
    agent = AgentProcess(tmp_path / "agent", aid).start(server, server.create_token())
    try:
        with server.api() as api:
            wait_until(lambda: (r := agent_record(api, aid)) and r["online"], 20, message="agent online")
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
