"""Agent center: the mTLS gRPC endpoint agents stream to, and the hub of live streams."""

from ._hub import AgentHub, Connection
from ._identity import PeerIdentity, peer_identity
from ._server import MAX_MESSAGE_BYTES, GrpcListenError, serve_grpc
from ._servicer import TransferServicer

__all__ = [
    "MAX_MESSAGE_BYTES",
    "AgentHub",
    "Connection",
    "GrpcListenError",
    "PeerIdentity",
    "TransferServicer",
    "peer_identity",
    "serve_grpc",
]
