"""Two real servers on one PostgreSQL database, with a real agent moving between them.

What a cluster needs (docs/service-discovery.md, "Several servers on one
database"): one CA for every server (a server with another CA is refused with
the files to copy), presence per server (one server starting or stopping does
not mark offline the agents another holds), and an agent that finds the other
server when the one holding it stops, then is managed through either.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
import uuid

import pytest

from tests._support import START_DEADLINE, AgentProcess, ServerProcess, agent_record, child_env, join_cluster, wait_until

pytestmark = pytest.mark.slow


def _server_id(server: ServerProcess) -> str:
    return json.loads((server.data_dir / "server.json").read_text())["server_id"]


def _holder(api, aid: str, servers: dict[str, ServerProcess]) -> ServerProcess | None:
    record = agent_record(api, aid)
    return servers.get(record["server_id"]) if record and record["online"] else None


def test_two_servers_share_one_database_and_an_agent_moves_between_them(postgres, tmp_path):
    db = postgres.create_database()
    password = secrets.token_urlsafe(12)
    a = ServerProcess(tmp_path / "a", admin_password=password, db_url=db).start()
    b = None
    agent = None
    try:
        # A server with a CA of its own is refused, saying what to copy (nothing of it is stored).
        lone = subprocess.run([sys.executable, "-m", "elkeid", "server", "--data-dir", str(tmp_path / "c"), "--db", db,
                               "--listen-https", "127.0.0.1:0", "--listen-grpc", "127.0.0.1:0"],
                              capture_output=True, text=True, timeout=START_DEADLINE, env=child_env())  # fmt: skip
        assert lone.returncode != 0 and "ca.crt, ca.key, signing.key, cluster.token" in lone.stderr, lone.stderr
        assert "Elkeid server ready" not in lone.stdout

        join_cluster(a, tmp_path / "b")
        b = ServerProcess(tmp_path / "b", admin_password=password, db_url=db).start()
        assert b.ca_sha256 == a.ca_sha256 and _server_id(a) != _server_id(b)
        servers = {_server_id(a): a, _server_id(b): b}

        aid = f"cluster-{uuid.uuid4()}"
        agent = AgentProcess(tmp_path / "agent", aid).start(a, a.create_token())
        with a.api() as api:
            first = wait_until(lambda: _holder(api, aid, servers), START_DEADLINE, message="agent online")
        other = b if first is a else a

        # The other server restarting leaves the agent online: it marks offline only the agents it held.
        other.stop()
        other.start()
        with other.api() as api:
            time.sleep(1)
            assert _holder(api, aid, servers) is first, agent_record(api, aid)

        # The server holding the agent stops, twice, so that each server is once the one gone: the
        # agent finds the other one through discovery, or, when the server gone is the one it enrolled
        # with (and so its discovery), through the servers discovery named before; it stays managed.
        for _ in range(2):
            first.stop()
            with other.api() as api:
                wait_until(lambda: _holder(api, aid, servers) is other, 120, 0.5, message="agent moved to the other server")
                first.start()
                time.sleep(1)  # its start marks offline only its own agents: still held by `other`
                assert _holder(api, aid, servers) is other
            first, other = other, first
        first, other = other, first  # `other` holds the agent now
        # A task created through `first` reaches the agent through `other`, and its answer is matched.
        with first.api() as api:
            task = api.post("/api/v1/tasks", json={"object_name": "elkeid-agent", "data_type": 1051,
                                                   "data": json.dumps({"idc": "dc-2", "region": "eu"}),
                                                   "targets": {"agent_ids": [aid]}}).json()  # fmt: skip
            sub = wait_until(
                lambda: (s := api.get(f"/api/v1/tasks/{task['id']}/subtasks").json()["items"][0])["status"]
                in ("succeeded", "failed") and s,
                60, message="the agent's answer through the other server",
            )  # fmt: skip
            assert sub["status"] == "succeeded", sub
        assert re.search(rf"task {task['id']} sent to agent {aid}", other.log.text())
    finally:
        if agent is not None:
            agent.stop()
        for server in (a, b):
            if server is not None:
                server.stop()
