"""The discovery client against a real HTTPS server on loopback (the agent tests' peer)."""

from __future__ import annotations

import dataclasses
import logging
import socket

import pytest

from elkeid.agent import Credentials
from elkeid.agent._discovery import Discovery
from elkeid.agent._discovery_memory import Remembered, load, save
from tests.integration._agent_peer import AgentPeer

pytestmark = pytest.mark.anyio

LOGGER = "elkeid.agent._discovery"
ENROLLED = "127.0.0.1:1"
ANSWER = {"data": [{"name": "hids_svr_grpc", "ip": "10.0.0.7", "port": 6751, "weight": 0, "extra": {}},
                   {"name": "hids_svr_grpc", "ip": "::1", "port": 6752, "weight": 3, "extra": {}}]}  # fmt: skip
FOUND = ["10.0.0.7:6751", "[::1]:6752"]
BEFORE = ("10.0.0.9:6751", "10.0.0.10:6751")


@pytest.fixture
def https_peer(tmp_path):
    """A real HTTPS server with the agent tests' CA; its gRPC side is not started."""
    p = AgentPeer(tmp_path / "peer")
    yield p
    p.close()


@pytest.fixture
def creds(https_peer, tmp_path) -> Credentials:
    https_peer.enroll(tmp_path / "agent", "sd-agent", grpc_addresses=[ENROLLED])
    return Credentials.load(tmp_path / "agent")


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


async def test_an_answer_is_returned_and_remembered(https_peer, creds, tmp_path):
    memory = tmp_path / "agent" / "discovery.json"
    https_peer.sd_answer = ANSWER
    assert await Discovery(creds, memory).addresses() == FOUND
    remembered = load(memory)
    assert remembered.addresses == tuple(FOUND) and remembered.server == creds.server
    assert any(r.startswith("/registry/detail?name=hids_svr_grpc&count=5") for r in https_peer.requests)


async def test_servers_named_before_stay_remembered_behind_the_new_answer(https_peer, creds, tmp_path, caplog):
    # One server was restarting (evicted from the registry) when the newest answer was made: it is
    # still a server of the cluster, so it stays remembered, behind the servers named now, up to 5.
    memory = tmp_path / "agent" / "discovery.json"
    save(memory, Remembered(creds.server, 1.0, (*BEFORE, FOUND[1], "10.0.0.11:6751", "10.0.0.12:6751")))
    https_peer.sd_answer = ANSWER
    assert await Discovery(creds, memory).addresses() == FOUND  # what is dialled now: the answer alone
    assert load(memory).addresses == (*FOUND, *BEFORE, "10.0.0.11:6751")
    save(memory, Remembered("https://other.example:8443", 1.0, BEFORE))  # another enrollment's: replaced
    assert await Discovery(creds, memory).addresses() == FOUND
    assert load(memory).addresses == tuple(FOUND) and not _warnings(caplog)


async def test_an_empty_answer_keeps_the_memory_and_uses_the_enrolled_addresses(https_peer, creds, tmp_path, caplog):
    memory = tmp_path / "agent" / "discovery.json"
    save(memory, Remembered(creds.server, 1.0, BEFORE))
    https_peer.sd_answer = {"msg": "ok", "data": [{"ip": "bad host", "port": 1}]}
    assert await Discovery(creds, memory).addresses() == []
    assert load(memory).addresses == BEFORE and not _warnings(caplog)


def _fail(peer: AgentPeer, how: str) -> None:
    if how == "unreachable":
        peer.stop_https()
    elif how == "404":
        peer.sd_answer = None
    elif how == "503":
        peer.sd_answer, peer.sd_status = {"data": []}, 503
    elif how == "not JSON":
        peer.sd_answer = b"<html>busy</html>"
    elif how == "no data list":
        peer.sd_answer = {"data": {"ip": "10.0.0.7", "port": 6751}}


REASONS = {"unreachable": "All connection attempts failed", "404": "HTTP 404", "503": "HTTP 503",
           "not JSON": "the answer is not JSON", "no data list": "the answer has no data list"}  # fmt: skip


@pytest.mark.parametrize("how", sorted(REASONS))
async def test_a_failed_discovery_tries_the_servers_it_named_before(https_peer, creds, tmp_path, caplog, how):
    memory = tmp_path / "agent" / "discovery.json"
    https_peer.sd_answer = ANSWER
    discovery = Discovery(creds, memory)
    assert await discovery.addresses() == FOUND
    _fail(https_peer, how)
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    assert await discovery.addresses() == FOUND
    assert await discovery.addresses() == FOUND
    [warning] = _warnings(caplog)  # once, then at DEBUG
    assert warning.startswith(f"service discovery at {creds.server}/registry/detail failed (")
    assert REASONS[how] in warning and "; trying 2 servers it named before (received at 20" in warning


async def test_a_timeout_tries_the_servers_it_named_before(creds, tmp_path, caplog):
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never answers TLS
        creds = dataclasses.replace(creds, server=f"https://127.0.0.1:{silent.getsockname()[1]}")
        memory = tmp_path / "agent" / "discovery.json"
        save(memory, Remembered(creds.server, 1764220000.0, BEFORE))
        assert await Discovery(creds, memory, timeout=0.3).addresses() == list(BEFORE)
    [warning] = _warnings(caplog)
    assert "Timeout); trying 2 servers it named before (received at 2025-11-27T05:06:40+00:00)" in warning


async def test_without_a_memory_a_failed_discovery_gives_nothing(https_peer, creds, tmp_path, caplog):
    https_peer.sd_answer = b"not json"
    assert await Discovery(creds, tmp_path / "agent" / "discovery.json").addresses() == []
    assert await Discovery(creds, None).addresses() == []
    assert _warnings(caplog)[0].endswith("failed (the answer is not JSON); using the enrolled addresses")


async def test_a_damaged_memory_is_ignored_with_one_warning_naming_it(https_peer, creds, tmp_path, caplog):
    memory = tmp_path / "agent" / "discovery.json"
    memory.write_text('{"server": "x", "received_at": 1, "addresses": ["evil host/x:1"]}')
    discovery = Discovery(creds, memory)
    assert await discovery.addresses() == []
    assert await discovery.addresses() == []
    assert _warnings(caplog) == [
        f"ignoring the remembered service-discovery answer: {memory}: 'evil host/x:1' is not a HOST:PORT a discovery "
        "answer could name",
    ]  # the failure itself (404: no discovery on that server) is at INFO
    https_peer.sd_answer = ANSWER  # the next good answer replaces the damaged file
    assert await discovery.addresses() == FOUND and load(memory).addresses == tuple(FOUND)


async def test_an_answer_remembered_from_another_server_is_not_used(https_peer, creds, tmp_path, caplog):
    memory = tmp_path / "agent" / "discovery.json"
    save(memory, Remembered("https://old.example.org:8443", 1.0, BEFORE))
    caplog.set_level(logging.INFO, logger=LOGGER)
    assert await Discovery(creds, memory).addresses() == []
    assert any("holds an answer of https://old.example.org:8443" in r.getMessage() for r in caplog.records)


async def test_a_memory_that_cannot_be_written_is_reported_and_the_answer_still_used(https_peer, creds, tmp_path,
                                                                                      caplog):  # fmt: skip
    (tmp_path / "file").write_text("not a folder")
    https_peer.sd_answer = ANSWER
    assert await Discovery(creds, tmp_path / "file" / "discovery.json").addresses() == FOUND
    [warning] = _warnings(caplog)
    assert warning.startswith(f"cannot remember the service-discovery answer in {tmp_path / 'file'}")


async def test_a_refresh_while_connected_remembers_and_fails_quietly(https_peer, creds, tmp_path, caplog):
    memory = tmp_path / "agent" / "discovery.json"
    https_peer.sd_answer = ANSWER
    await Discovery(creds, memory).refresh()
    assert load(memory).addresses == tuple(FOUND)
    https_peer.stop_https()
    await Discovery(creds, memory).refresh()  # nothing is dialled because of it: no warning, memory kept
    assert load(memory).addresses == tuple(FOUND) and not _warnings(caplog)
