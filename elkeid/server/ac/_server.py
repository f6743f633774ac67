"""The gRPC listener: mutual TLS, Transfer service."""

from __future__ import annotations

import logging

import anyio
import grpc
from anyio.abc import TaskStatus

from elkeid.config import HostPort
from elkeid.pki import ServerPKI
from elkeid.proto import transfer_pb2_grpc

from ._servicer import TransferServicer

log = logging.getLogger(__name__)

#: Largest PackagedData accepted (bytes); larger ones end the stream with RESOURCE_EXHAUSTED.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


class GrpcListenError(Exception):
    """The gRPC port could not be bound."""


async def serve_grpc(
    servicer: TransferServicer,
    pki: ServerPKI,
    listen: HostPort,
    *,
    task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve Transfer on ``listen`` until cancelled; reports the bound port to ``task_status``.

    Raises:
        GrpcListenError: the address cannot be bound (in use, or not ours).
    """
    creds = grpc.ssl_server_credentials(
        [(pki.server_key_pem, pki.server_cert_pem)], root_certificates=pki.ca_pem, require_client_auth=True
    )
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
            ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ("grpc.keepalive_permit_without_calls", 1),
            # A second server on the same port must fail, not silently share it.
            ("grpc.so_reuseport", 0),
        ]
    )
    transfer_pb2_grpc.add_TransferServicer_to_server(servicer, server)
    try:
        port = server.add_secure_port(str(listen), creds)
    except RuntimeError as exc:
        raise GrpcListenError(f"cannot listen for gRPC on {listen}: {exc}") from exc
    if port == 0:
        raise GrpcListenError(f"cannot listen for gRPC on {listen}: address in use or not available")
    await server.start()
    log.info("agent center (gRPC, mTLS) listening on %s:%d", listen.host, port)
    task_status.started(port)
    try:
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            await server.stop(grace=1.0)
