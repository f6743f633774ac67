"""Who is on the other end of a gRPC stream, from its verified client certificate."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

import grpc

from elkeid.pki import PKIError, cert_common_name, cert_serial, load_cert


@dataclass(frozen=True)
class PeerIdentity:
    agent_id: str
    serial: str
    peer: str

    @property
    def source_ip(self) -> str:
        # peer() looks like "ipv4:127.0.0.1:5555" or "ipv6:%5B::1%5D:5555" (URL-quoted)
        kind, _, rest = unquote(self.peer).partition(":")
        if kind == "ipv6":
            return rest.rpartition(":")[0].strip("[]")
        return rest.rpartition(":")[0] if kind == "ipv4" else ""


def peer_identity(context: grpc.aio.ServicerContext) -> PeerIdentity | None:
    """The agent id (certificate CN) and certificate serial of the peer, or None.

    The TLS layer has already checked the chain against our CA and the validity
    period (require_client_auth); revocation is checked by the caller.
    """
    auth = context.auth_context()
    pems = auth.get("x509_pem_cert") or []
    if not pems:
        return None
    try:
        cert = load_cert(pems[0])
    except PKIError:
        return None
    agent_id = cert_common_name(cert)
    if not agent_id:
        return None
    return PeerIdentity(agent_id=agent_id, serial=cert_serial(cert), peer=context.peer())
