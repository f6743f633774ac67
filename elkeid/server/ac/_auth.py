"""The identity check every agent-center call starts with (Transfer and FileExt)."""

from __future__ import annotations

import anyio
import grpc

from elkeid.server.store import Store

from ._identity import PeerIdentity, peer_identity


async def authenticate(context: grpc.aio.ServicerContext, store: Store) -> PeerIdentity:
    """The caller's verified identity; aborts the call when it has none we accept.

    TLS has already checked the chain against our CA and the validity period;
    here the certificate must also be one we issued through enrollment and not
    revoked since.
    """
    ident = peer_identity(context)
    if ident is None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, "a client certificate from this server's CA is required")
    owner, revoked = await anyio.to_thread.run_sync(store.certificate_status, ident.serial)
    if revoked or owner != ident.agent_id:
        await context.abort(
            grpc.StatusCode.PERMISSION_DENIED,
            f"certificate {ident.serial} of agent {ident.agent_id} is revoked or unknown; re-enroll the agent",
        )
    return ident
