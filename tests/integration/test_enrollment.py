"""One-time enrollment tokens and the agent's CA pin."""

from __future__ import annotations

import base64
import time
import uuid

import pytest

from elkeid import pki
from tests._support import START_DEADLINE, AgentProcess


def _enroll(server, token: str, agent_id: str | None = None, csr: str | None = None):
    agent_id = agent_id or f"enroll-{uuid.uuid4()}"
    csr = csr or pki.make_csr(pki.generate_key(), agent_id).decode()
    with server.client() as c:
        return c.post("/api/v1/enroll", json={"token": token, "agent_id": agent_id, "csr": csr})


def test_a_good_token_enrolls_once(server):
    token = server.create_token()
    aid = f"enroll-{uuid.uuid4()}"
    first = _enroll(server, token, aid)
    assert first.status_code == 200
    cert = pki.load_cert(first.json()["certificate"])
    assert pki.cert_common_name(cert) == aid
    assert pki.fingerprint(first.json()["ca_certificate"]) == server.ca_sha256
    second = _enroll(server, token)
    assert second.status_code == 403
    assert "already used" in second.json()["error"]["message"]


def test_certificate_names_the_agent_id_whatever_the_csr_says(server):
    aid = f"enroll-{uuid.uuid4()}"
    csr = pki.make_csr(pki.generate_key(), "someone-else").decode()
    r = _enroll(server, server.create_token(), aid, csr)
    assert r.status_code == 200
    assert pki.cert_common_name(pki.load_cert(r.json()["certificate"])) == aid
    assert r.json()["grpc"] == [f"127.0.0.1:{server.grpc_port}"]
    assert len(base64.b64decode(r.json()["signing_public_key"])) == 32


def test_an_unknown_token_is_refused(server):
    r = _enroll(server, "not-a-token")
    assert r.status_code == 403
    assert "unknown enrollment token" in r.json()["error"]["message"]


def test_an_expired_token_is_refused(server):
    token = server.create_token(ttl="1s")
    time.sleep(1.5)
    r = _enroll(server, token)
    assert r.status_code == 403
    assert "expired" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"token": "t", "agent_id": "a b", "csr": "x"}, "field agent_id 'a b' is not valid"),
        ({"token": 5, "agent_id": "a", "csr": "x"}, "field token must be a string, not an integer"),
        ({"agent_id": "a", "csr": "x"}, "field token is required"),
        ({"token": "t", "agent_id": "a", "csr": "not a csr"}, "not a PEM certificate signing request"),
    ],
)
def test_malformed_enrollment_requests_get_400(server, body, message):
    with server.client() as c:
        r = c.post("/api/v1/enroll", json=body)
    assert r.status_code == 400
    assert message in r.json()["error"]["message"]


def test_non_json_enrollment_gets_400(server):
    with server.client() as c:
        r = c.post("/api/v1/enroll", content=b"\x00\xffgarbage", headers={"content-type": "application/json"})
    assert r.status_code == 400


def test_agent_refuses_a_server_whose_ca_does_not_match_the_pin(server, tmp_path):
    agent = AgentProcess(tmp_path / "agent", agent_id=f"pin-{uuid.uuid4()}")
    wrong = "00" * 32
    agent.start(None, None, "--server", server.url, "--token", server.create_token(), "--ca-sha256", wrong)
    assert agent.proc.wait(START_DEADLINE) == 1
    agent.log.wait_for(r"not the pinned 0000", 5)
    assert not (tmp_path / "agent" / "agent.crt").exists()


def test_agent_without_enrollment_says_how_to_enroll(tmp_path):
    agent = AgentProcess(tmp_path / "agent", agent_id="lonely")
    agent.start()
    assert agent.proc.wait(START_DEADLINE) == 1
    agent.log.wait_for(r"holds no enrollment .*elkeid agent --server", 5)
