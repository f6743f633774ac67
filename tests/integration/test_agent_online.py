"""A real agent process enrolls, streams heartbeats and shows up in the API."""

from __future__ import annotations

import platform
import uuid

from elkeid.config import AgentConfig
from tests._support import START_DEADLINE, AgentProcess, ServerProcess, agent_record, wait_until

#: The longest an agent may wait between two attempts to reconnect: its back-off doubles for as
#: long as the server is away, up to ``reconnect_max``, then +-50 % jitter (docs/agent.md). A
#: server that takes 15 s to stop and start again on a loaded machine can meet an agent that
#: has just chosen to wait another 30 s or more.
LONGEST_BACKOFF = AgentConfig().reconnect_max * 1.5


def test_agent_appears_online_with_its_kernel_version(server, tmp_path):
    aid = f"online-{uuid.uuid4()}"
    agent = AgentProcess(tmp_path / "agent", aid).start(server, server.create_token())
    try:
        with server.api() as api:
            rec = wait_until(
                lambda: (r := agent_record(api, aid)) and r["online"] and r["kernel_version"] and r,
                timeout=START_DEADLINE,
                message="agent online with a heartbeat",
            )
            assert rec["kernel_version"] == platform.release()
            hb = rec["last_heartbeat"]
            for key in ("arch", "platform", "nproc", "total_mem", "rss", "pid", "boot_time", "load_1"):
                assert hb[key], key
            assert hb["pid"] == str(agent.proc.pid)
            assert rec["hostname"] == platform.node()
            assert rec["version"]
            agent.stop()
            wait_until(lambda: not agent_record(api, aid)["online"], timeout=30, message="agent offline")
    finally:
        agent.stop()


def test_agent_restarts_from_its_data_dir_without_a_token(server, tmp_path):
    aid = f"restart-{uuid.uuid4()}"
    agent = AgentProcess(tmp_path / "agent", aid).start(server, server.create_token())
    with server.api() as api:
        wait_until(lambda: (r := agent_record(api, aid)) and r["online"], START_DEADLINE, message="first start online")
        agent.stop()
        agent = AgentProcess(tmp_path / "agent", aid).start()  # no --server/--token this time
        try:
            wait_until(lambda: agent_record(api, aid)["online"], START_DEADLINE, message="second start online")
        finally:
            agent.stop()


def test_agent_reconnects_after_the_server_comes_back(fresh_server: ServerProcess, tmp_path):
    fresh_server.start()
    aid = f"reconnect-{uuid.uuid4()}"
    agent = AgentProcess(tmp_path / "agent", aid).start(fresh_server, fresh_server.create_token())
    try:
        with fresh_server.api() as api:
            wait_until(lambda: (r := agent_record(api, aid)) and r["online"], START_DEADLINE, message="online")
        assert fresh_server.stop() == 0
        agent.log.wait_for(r"reconnecting in", START_DEADLINE)
        fresh_server.start()  # same data dir and ports
        with fresh_server.api() as api:
            # However long the server was away, the agent's next attempt comes within one back-off.
            wait_until(lambda: agent_record(api, aid)["online"], LONGEST_BACKOFF + START_DEADLINE,
                       message=f"online again (one reconnect back-off lasts up to {LONGEST_BACKOFF:.0f}s)")
        assert agent.proc.poll() is None
    finally:
        agent.stop()


def test_server_on_postgresql_sees_an_agent_online(postgres, tmp_path):
    srv = ServerProcess(tmp_path / "srv", admin_password="pg-admin-pass", db_url=postgres.create_database())
    srv.start()
    aid = f"pg-{uuid.uuid4()}"
    agent = AgentProcess(tmp_path / "agent", aid).start(srv, srv.create_token())
    try:
        with srv.api() as api:
            wait_until(lambda: (r := agent_record(api, aid)) and r["online"] and r["kernel_version"], START_DEADLINE,
                       message="agent online on PostgreSQL")  # fmt: skip
    finally:
        agent.stop()
        srv.stop()
