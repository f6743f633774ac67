"""The gRPC listener: mutual TLS, Transfer and FileExt services."""

from __future__ import annotations

import logging

import anyio
import grpc
from anyio.abc import TaskStatus

from elkeid.config import HostPort
from elkeid.pki import ServerPKI
from elkeid.proto import transfer_pb2

from ._servicer import TransferServicer
from ._upload import FileExtServicer

log = logging.getLogger(__name__)

#: Default largest message accepted (bytes); larger ones end the stream with RESOURCE_EXHAUSTED.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


class GrpcListenError(Exception):
    """The gRPC port could not be bound."""


def _handlers(transfer: TransferServicer, upload: FileExtServicer) -> list[grpc.GenericRpcHandler]:
    # No request deserializer: the servicers parse the bytes themselves, so a
    # malformed message gets INVALID_ARGUMENT with a message, not gRPC's bare error.
    return [
        grpc.method_handlers_generic_handler("grpc.Transfer", {
            "Transfer": grpc.stream_stream_rpc_method_handler(
                transfer.Transfer, response_serializer=transfer_pb2.Command.SerializeToString),
        }),
        grpc.method_handlers_generic_handler("grpc.FileExt", {
            "Upload": grpc.stream_unary_rpc_method_handler(
                upload.Upload, response_serializer=transfer_pb2.FileUploadResponse.SerializeToString),
        }),
    ]  # fmt: skip


async def serve_grpc(
    transfer: TransferServicer,
    upload: FileExtServicer,
    pki: ServerPKI,
    listen: HostPort,
    *,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve Transfer and FileExt on ``listen`` until cancelled; reports the bound port to ``task_status``.

    Raises:
        GrpcListenError: the address cannot be bound (in use, or not ours).
    """
    creds = grpc.ssl_server_credentials(
        [(pki.server_key_pem, pki.server_cert_pem)], root_certificates=pki.ca_pem, require_client_auth=True
    )
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
            ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ("grpc.keepalive_permit_without_calls", 1),
            # An agent needs one Transfer stream and at times an Upload.
            ("grpc.max_concurrent_streams", 8),
            # A second server on the same port must fail, not silently share it.
            ("grpc.so_reuseport", 0),
        ]
    )
    server.add_generic_rpc_handlers(_handlers(transfer, upload))
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
