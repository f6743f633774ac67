"""Core tasks (object_name elkeid-agent): 1050 upload, 1051 idc/region, 1060 shut down."""

from __future__ import annotations

import json

import pytest

from elkeid.proto import transfer_pb2
from tests._support import wait_until
from tests.integration._agent_peer import peer, start_agent, stored_events  # noqa: F401


def _task(data_type: int, data: dict | str, token: str) -> transfer_pb2.Command:
    body = data if isinstance(data, str) else json.dumps(data)
    return transfer_pb2.Command(task=transfer_pb2.Task(data_type=data_type, object_name="elkeid-agent", data=body,
                                                       token=token))  # fmt: skip


def _answer(peer, aid, data_type, token):
    return wait_until(lambda: [f for f in stored_events(peer, aid, data_type) if f["token"] == token], 30,
                      message=f"answer to {token}")[0]  # fmt: skip


def test_upload_a_file_through_file_ext(peer, tmp_path):
    target = tmp_path / "evidence.bin"
    target.write_bytes(bytes(range(256)) * 9000)  # 2.3 MB: several chunks
    agent = start_agent(peer, tmp_path / "agent")
    try:
        aid = agent.agent_id
        peer.push(aid, _task(1050, {"path": str(target)}, "up-1"))
        answer = _answer(peer, aid, 1050, "up-1")
        assert answer["status"] == "succeed", answer
        assert peer.uploads["up-1"] == target.read_bytes()
    finally:
        agent.stop()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"path": "relative/file"}, "absolute"),
        ({"path": "/nonexistent/file"}, "cannot open /nonexistent/file"),
        ({"path": "/dev/zero"}, "not a regular file"),
        ("{not json", "not JSON"),
        ('["/etc/hostname"]', "must be a JSON object"),
        ({"path": "BIG"}, "over the 1024-byte upload limit"),
    ],
)
def test_refused_uploads_are_answered_with_the_reason(peer, tmp_path, data, match):
    big = tmp_path / "big"
    big.write_bytes(b"x" * 2048)
    if isinstance(data, dict) and data["path"] == "BIG":
        data = {"path": str(big)}
    agent = start_agent(peer, tmp_path / "agent", "--upload-max", "1K")
    try:
        peer.push(agent.agent_id, _task(1050, data, "up-bad"))
        answer = _answer(peer, agent.agent_id, 1050, "up-bad")
        assert answer["status"] == "failed" and match in answer["msg"], answer
        assert "up-bad" not in peer.uploads
    finally:
        agent.stop()


def test_a_refused_upload_on_the_server_side_is_reported(peer, tmp_path):
    (tmp_path / "f").write_text("data")
    agent = start_agent(peer, tmp_path / "agent")
    try:
        peer.push(agent.agent_id, _task(1050, {"path": str(tmp_path / "f")}, "refuse"))
        answer = _answer(peer, agent.agent_id, 1050, "refuse")
        assert answer["status"] == "failed" and "refused the upload" in answer["msg"]
    finally:
        agent.stop()


def test_idc_and_region_are_kept_and_reported_in_heartbeats(peer, tmp_path):
    agent = start_agent(peer, tmp_path / "agent")
    aid = agent.agent_id
    try:
        peer.push(aid, _task(1051, {"idc": "fra-1", "region": "eu"}, "loc-1"))
        assert _answer(peer, aid, 1051, "loc-1")["status"] == "succeed"
        wait_until(lambda: any(b["idc"] == "fra-1" and b["region"] == "eu" for b in stored_events(peer, aid, 1000)), 15,
                   message="heartbeat with idc and region")  # fmt: skip
        peer.push(aid, _task(1051, {"idc": "x\x00y"}, "loc-bad"))
        assert "printable" in _answer(peer, aid, 1051, "loc-bad")["msg"]
    finally:
        assert agent.stop() == 0
    count = len(stored_events(peer, aid, 1000))
    agent = start_agent(peer, tmp_path / "agent", agent_id=aid)
    try:
        beats = wait_until(lambda: stored_events(peer, aid, 1000)[count:], 30, message="heartbeat after restart")
        assert beats[0]["idc"] == "fra-1" and beats[0]["region"] == "eu"
    finally:
        agent.stop()


def test_shutdown_task_is_answered_and_the_agent_exits_cleanly(peer, tmp_path):
    agent = start_agent(peer, tmp_path / "agent")
    peer.push(agent.agent_id, _task(1060, "", "bye"))
    assert _answer(peer, agent.agent_id, 1060, "bye")["status"] == "succeed"
    assert agent.proc.wait(30) == 0


def test_unknown_core_task_is_answered_failed(peer, tmp_path):
    agent = start_agent(peer, tmp_path / "agent")
    try:
        peer.push(agent.agent_id, _task(1099, "", "what"))
        answer = _answer(peer, agent.agent_id, 1099, "what")
        assert answer["status"] == "failed" and "no task 1099" in answer["msg"]
    finally:
        agent.stop()
