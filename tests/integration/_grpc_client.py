"""A hand-driven gRPC client for probing the agent center's checks."""

from __future__ import annotations

import datetime as dt

import grpc
import httpx
from cryptography.hazmat.primitives import serialization

from elkeid import pki
from elkeid.proto import transfer_pb2, transfer_pb2_grpc


def enroll_identity(server, agent_id: str, token: str | None = None) -> tuple[bytes, bytes]:
    """(key PEM, certificate PEM) for ``agent_id``, enrolled through the real API."""
    key = pki.generate_key()
    csr = pki.make_csr(key, agent_id)
    token = token or server.create_token()
    with server.client() as c:
        r = c.post("/api/v1/enroll", json={"token": token, "agent_id": agent_id, "csr": csr.decode()})
    assert r.status_code == 200, r.text
    return pki.key_pem(key), r.json()["certificate"].encode()


def forge_identity(server, agent_id: str, *, expired: bool = False, other_ca: bool = False) -> tuple[bytes, bytes]:
    """A certificate made outside enrollment: from another CA, or expired (from ours)."""
    key = pki.generate_key()
    csr = pki.make_csr(key, agent_id)
    if other_ca:
        ca_key, ca_cert = pki.create_ca("Not Elkeid")
    else:
        ca_key = serialization.load_pem_private_key((server.data_dir / "pki" / "ca.key").read_bytes(), None)
        ca_cert = pki.load_cert(server.ca_pem)
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=10) if expired else None
    cert = pki.sign_agent_csr(ca_key, ca_cert, csr, agent_id, days=1 if expired else 30, not_before=start)
    return pki.key_pem(key), pki.cert_pem(cert)


def channel(server, key_pem: bytes | None, cert_pem: bytes | None) -> grpc.Channel:
    if key_pem is None:
        creds = grpc.ssl_channel_credentials(root_certificates=server.ca_pem)
    else:
        creds = grpc.ssl_channel_credentials(root_certificates=server.ca_pem, private_key=key_pem,
                                             certificate_chain=cert_pem)  # fmt: skip
    return grpc.secure_channel(f"localhost:{server.grpc_port}", creds)


def heartbeat_batch(agent_id: str, seq: int, **fields: str) -> transfer_pb2.PackagedData:
    payload = transfer_pb2.Payload(fields={"kernel_version": "test", **fields})
    pd = transfer_pb2.PackagedData(agent_id=agent_id, seq=seq, hostname="probe", version="test")
    pd.records.add(data_type=1000, timestamp=1, data=payload.SerializeToString())
    return pd


def exchange(chan: grpc.Channel, messages: list[transfer_pb2.PackagedData], *, expect: int = 1,
             timeout: float = 15) -> list[transfer_pb2.Command]:  # fmt: skip
    """Send ``messages``; collect ``expect`` Commands, then close. Raises grpc.RpcError.

    Config pushes (the server sends every agent its plugin set on connect) are
    not counted: callers here look at acks and tasks.
    """
    import threading

    done = threading.Event()

    def requests():
        yield from messages
        done.wait(timeout)

    stub = transfer_pb2_grpc.TransferStub(chan)
    call = stub.Transfer(requests(), timeout=timeout)
    out = []
    try:
        for command in call:
            if len(command.configs) and not command.ack_seq and not command.HasField("task"):
                continue
            out.append(command)
            if len(out) >= expect:
                break
    finally:
        done.set()
        call.cancel()
    return out


__all__ = ["channel", "enroll_identity", "exchange", "forge_identity", "heartbeat_batch", "httpx"]
