"""The agent's plugin host, config sync and task routing, with real processes over real mTLS gRPC."""

from __future__ import annotations

import os
import signal

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
