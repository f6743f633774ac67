"""This server in its own registry: the agent center and the manager re-register every 30 s."""

from __future__ import annotations

import logging
import os
import socket

import anyio
from anyio.abc import TaskStatus
from sqlalchemy.exc import SQLAlchemyError

from elkeid.config import parse_host_port

log = logging.getLogger(__name__)

#: Service names (PROTOCOL.md).
AC_SERVICE = "hids_svr_grpc"
MANAGER_SERVICE = "hids_manage"
#: How often instances re-register (they turn unhealthy after 45 s unheard).
REGISTER_EVERY = 30.0


def advertised_host(listen_host: str) -> str:
    """The host to announce for a listener: itself, or this machine's name when bound to all addresses."""
    if listen_host in ("0.0.0.0", "::", ""):
        return socket.gethostname()
    return listen_host


def own_instances(ctx) -> list[tuple[str, str, int]]:
    """(service, host, port) of every instance this server announces."""
    if ctx.config.advertise_grpc:
        grpc = [parse_host_port(a, setting="--advertise-grpc") for a in ctx.config.advertise_grpc]
        hosts = [(hp.host, hp.port) for hp in grpc]
    else:
        hosts = [(advertised_host(ctx.config.listen_grpc.host), ctx.grpc_port)]
    out = [(AC_SERVICE, host, port) for host, port in hosts]
    https_host = advertised_host(ctx.config.listen_https.host) if not ctx.config.advertise_grpc else hosts[0][0]
    out.append((MANAGER_SERVICE, https_host, ctx.https_port))
    return out


async def announce(ctx, interval: float = REGISTER_EVERY, *,
                   task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:  # fmt: skip
    """Register this server's instances every ``interval`` seconds and expire dead ones.

    The agent center's weight is its live stream count (agents pick the least
    loaded); the manager's is 0. On the way out the instances are evicted, so
    agents stop being sent to a server that has stopped.

    Error handling: a database error is logged and retried at the next round.
    """
    instances = own_instances(ctx)
    started = False
    try:
        while True:
            try:
                await anyio.to_thread.run_sync(_register_all, ctx, instances)
            except SQLAlchemyError:
                log.exception("registering in service discovery failed; retrying in %.0fs", interval)
            if not started:
                started = True
                task_status.started()
            await anyio.sleep(interval)
    finally:
        with anyio.CancelScope(shield=True):
            try:
                await anyio.to_thread.run_sync(_evict_all, ctx, instances)
            except SQLAlchemyError:
                log.warning("could not remove this server from service discovery", exc_info=True)


def _register_all(ctx, instances: list[tuple[str, str, int]]) -> None:
    for name, host, port in instances:
        weight = len(ctx.hub) if name == AC_SERVICE else 0
        ctx.store.register_instance(name, host, port, weight, {"pid": str(os.getpid()), "server_id": ctx.server_id})
    ctx.store.expire_instances()


def _evict_all(ctx, instances: list[tuple[str, str, int]]) -> None:
    for name, host, port in instances:
        ctx.store.evict_instance(name, host, port)
