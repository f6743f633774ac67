"""Revoking an agent: its certificates become unusable and its live stream ends."""

from __future__ import annotations

import logging

import anyio
import grpc
from anyio.abc import TaskStatus

from elkeid.server.store import Store

from ._hub import AgentHub

log = logging.getLogger(__name__)

#: How often live streams are checked against revocations made by other servers.
RECHECK_INTERVAL = 30.0


def _reason(agent_id: str) -> str:
    return f"the certificate of agent {agent_id} was revoked; re-enroll the agent to connect again"


async def revoke_agent(ctx, agent_id: str) -> list[str]:
    """Revoke every certificate of ``agent_id`` and close its live stream on this server.

    The stream ends with PERMISSION_DENIED; later connections with those
    certificates are refused. Streams held by other servers on the same
    database end within :data:`RECHECK_INTERVAL` (:func:`watch_revocations`).

    Returns:
        The serials revoked.

    Raises:
        elkeid.server.store.NotFound: no such agent.
    """
    serials = await anyio.to_thread.run_sync(ctx.store.revoke_agent, agent_id)
    if ctx.hub.disconnect(agent_id, _reason(agent_id), grpc.StatusCode.PERMISSION_DENIED):
        log.info("closed the live stream of revoked agent %s", agent_id)
    return serials


async def watch_revocations(store: Store, hub: AgentHub, interval: float = RECHECK_INTERVAL, *,
                            task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:  # fmt: skip
    """Close live streams whose certificate was revoked elsewhere (another server, the CLI)."""
    task_status.started()
    while True:
        await anyio.sleep(interval)
        conns = hub.connections()
        if not conns:
            continue
        revoked = await anyio.to_thread.run_sync(store.revoked_among, [c.serial for c in conns])
        for conn in conns:
            if conn.serial in revoked:
                log.info("agent %s: certificate %s was revoked; closing its stream", conn.agent_id, conn.serial)
                conn.close(_reason(conn.agent_id), grpc.StatusCode.PERMISSION_DENIED)
