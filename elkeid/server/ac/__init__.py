"""Agent center: the mTLS gRPC endpoint agents stream to, and the hub of live streams."""

from ._hub import AgentHub, Connection
from ._identity import PeerIdentity, peer_identity
from ._revoke import revoke_agent, watch_revocations
from ._server import MAX_MESSAGE_BYTES, GrpcListenError, serve_grpc
from ._servicer import MAX_AGENTS, MAX_BATCH_RECORDS, RAW_PAYLOAD_FIELD, TransferServicer
from ._upload import MAX_UPLOAD_BYTES, FileExtServicer

__all__ = [
    "MAX_AGENTS",
    "MAX_BATCH_RECORDS",
    "MAX_MESSAGE_BYTES",
    "MAX_UPLOAD_BYTES",
    "RAW_PAYLOAD_FIELD",
    "AgentHub",
    "Connection",
    "FileExtServicer",
    "GrpcListenError",
    "PeerIdentity",
    "TransferServicer",
    "peer_identity",
    "revoke_agent",
    "serve_grpc",
    "watch_revocations",
]
