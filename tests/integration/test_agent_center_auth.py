"""The agent center accepts only certificates it issued, for the agent they name."""

from __future__ import annotations

import uuid

import grpc
import pytest

from tests.integration._grpc_client import channel, enroll_identity, exchange, forge_identity, heartbeat_batch


def _new_id() -> str:
    return f"test-{uuid.uuid4()}"


def test_enrolled_agent_is_acknowledged(server):
    aid = _new_id()
    key, cert = enroll_identity(server, aid)
    with channel(server, key, cert) as chan:
        commands = exchange(chan, [heartbeat_batch(aid, 5)])
    assert commands[0].ack_seq == 5


def test_replayed_batch_is_acknowledged_not_stored_twice(server):
    aid = _new_id()
    key, cert = enroll_identity(server, aid)
    with channel(server, key, cert) as chan:
        exchange(chan, [heartbeat_batch(aid, 10, kernel_version="first")])
    with channel(server, key, cert) as chan:
        # seq 10 again with other content: already taken, so only re-acknowledged.
        commands = exchange(chan, [heartbeat_batch(aid, 10, kernel_version="replayed")])
    assert commands[0].ack_seq == 10
    with server.api() as api:
        agent = api.get(f"/api/v1/agents/{aid}").json()
    assert agent["last_heartbeat"]["kernel_version"] == "first"


def test_client_without_certificate_is_refused(server):
    with channel(server, None, None) as chan, pytest.raises(grpc.RpcError) as info:
        exchange(chan, [heartbeat_batch(_new_id(), 1)])
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_certificate_from_another_ca_is_refused(server):
    key, cert = forge_identity(server, _new_id(), other_ca=True)
    with channel(server, key, cert) as chan, pytest.raises(grpc.RpcError) as info:
        exchange(chan, [heartbeat_batch("x", 1)])
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_expired_certificate_is_refused(server):
    aid = _new_id()
    key, cert = forge_identity(server, aid, expired=True)
    with channel(server, key, cert) as chan, pytest.raises(grpc.RpcError) as info:
        exchange(chan, [heartbeat_batch(aid, 1)])
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_certificate_never_issued_by_enrollment_is_refused(server):
    # Signed by our CA (a stolen CA key, say) but never recorded: unknown serial.
    aid = _new_id()
    key, cert = forge_identity(server, aid)
    with channel(server, key, cert) as chan, pytest.raises(grpc.RpcError) as info:
        exchange(chan, [heartbeat_batch(aid, 1)])
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "revoked or unknown" in info.value.details()


def test_claiming_another_agents_id_is_refused(server):
    me, victim = _new_id(), _new_id()
    key, cert = enroll_identity(server, me)
    enroll_identity(server, victim)
    with channel(server, key, cert) as chan, pytest.raises(grpc.RpcError) as info:
        exchange(chan, [heartbeat_batch(victim, 1)])
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert victim in info.value.details()
    with server.api() as api:
        assert api.get(f"/api/v1/agents/{victim}").json()["last_heartbeat"] == {}


def test_switching_agent_id_mid_stream_is_refused(server):
    me, victim = _new_id(), _new_id()
    key, cert = enroll_identity(server, me)
    with channel(server, key, cert) as chan, pytest.raises(grpc.RpcError) as info:
        exchange(chan, [heartbeat_batch(me, 1), heartbeat_batch(victim, 2)], expect=3)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_reenrollment_revokes_the_older_certificate(server):
    aid = _new_id()
    old_key, old_cert = enroll_identity(server, aid)
    new_key, new_cert = enroll_identity(server, aid)
    with channel(server, old_key, old_cert) as chan, pytest.raises(grpc.RpcError) as info:
        exchange(chan, [heartbeat_batch(aid, 1)])
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with channel(server, new_key, new_cert) as chan:
        assert exchange(chan, [heartbeat_batch(aid, 1)])[0].ack_seq == 1
