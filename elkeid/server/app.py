"""Wiring of the all-in-one server: every part is a task in one task group."""

from __future__ import annotations

import logging
import os
import sys

import anyio
from anyio.abc import TaskStatus

from elkeid.config import ServerConfig
from elkeid.pki import ServerPKI, default_sans
from elkeid.server import sd
from elkeid.server.ac import AgentHub, FileExtServicer, TransferServicer, serve_grpc, watch_revocations
from elkeid.server.assets import AssetInventory
from elkeid.server.detection import DetectionService
from elkeid.server.manager import Manager, create_app, generate_password, hash_password, serve_https
from elkeid.server.pipeline import BatchWriter, run_retention
from elkeid.server.store import Store

from ._cluster import check_cluster_ca
from ._context import ServerContext, derived_stream

log = logging.getLogger(__name__)

ADMIN_PASSWORD_ENV = "ELKEID_ADMIN_PASSWORD"


def ensure_admin(store: Store) -> str | None:
    """Create the ``admin`` user on first start; return its password if we made it."""
    if store.count_users():
        return None
    password = os.environ.get(ADMIN_PASSWORD_ENV) or generate_password()
    store.add_user("admin", hash_password(password), "admin")
    return password


def open_store(config: ServerConfig) -> Store:
    return Store(config.resolve_db_url())


async def run_server(config: ServerConfig, *, task_status: TaskStatus[ServerContext] = anyio.TASK_STATUS_IGNORED) -> None:
    """Run every server part until cancelled.

    Raises:
        elkeid.pki.PKIError, elkeid.server.store.StoreError: the data directory or
            database cannot be used.
        elkeid.server.ac.GrpcListenError, OSError: a port cannot be bound.
    """
    config.data_dir.mkdir(parents=True, exist_ok=True)
    pki = await anyio.to_thread.run_sync(ServerPKI.load_or_create, config.pki_dir, config.sans or default_sans())
    cluster_token = await anyio.to_thread.run_sync(sd.load_or_create_cluster_token, config.pki_dir)
    store = await anyio.to_thread.run_sync(open_store, config)
    server_id = await anyio.to_thread.run_sync(config.resolve_server_id)
    ctx: ServerContext | None = None
    try:
        await anyio.to_thread.run_sync(lambda: check_cluster_ca(store, pki.ca_fingerprint, config.pki_dir,
                                                                adopt=config.adopt_ca))  # fmt: skip
        new_password = await anyio.to_thread.run_sync(ensure_admin, store)
        if new_password is not None and not os.environ.get(ADMIN_PASSWORD_ENV):
            print(f"Created user 'admin' with password: {new_password}  (shown once; change it after logging in)",
                  flush=True)  # fmt: skip
        # Agents this server held before it stopped (or crashed); other servers' agents stay as they are.
        await anyio.to_thread.run_sync(store.mark_offline, server_id)
        hub = AgentHub()
        writer = BatchWriter(store)
        ctx = ServerContext(config=config, pki=pki, store=store, hub=hub, writer=writer, derived=derived_stream(),
                            server_id=server_id)  # fmt: skip
        async with ctx.derived[0], ctx.derived[1], anyio.create_task_group() as tg:
            await tg.start(writer.run)
            ctx.manager = Manager(ctx)  # task rollout and results, plugin config pushes
            await tg.start(ctx.manager.run)
            ctx.assets = AssetInventory(ctx)  # inventory, change feed, derived change records
            await tg.start(ctx.assets.run)
            await tg.start(run_retention, store, config.event_retention, config.event_max_rows)
            ctx.detection = DetectionService(ctx)  # rules, engine runner, alerts, notifications
            await tg.start(ctx.detection.run)
            transfer = TransferServicer(store, hub, writer, max_batch_records=config.max_batch_records,
                                        max_agents=config.max_agents, server_id=server_id)  # fmt: skip
            await tg.start(transfer.presence.run)
            upload = FileExtServicer(store, config.upload_dir, config.max_upload_bytes)
            ctx.grpc_port = await tg.start(lambda task_status: serve_grpc(
                transfer, upload, pki, config.listen_grpc, max_message_bytes=config.max_message_bytes,
                task_status=task_status))  # fmt: skip
            await tg.start(watch_revocations, store, hub)
            app = create_app(ctx)
            app.register_blueprint(sd.bp)
            app.extensions["elkeid_cluster_token"] = cluster_token
            ctx.https_port = await tg.start(serve_https, app, ctx, config.listen_https)
            await tg.start(sd.announce, ctx)
            print(f"Elkeid server ready: console https://{_display_host(config)}:{ctx.https_port}/  "
                  f"gRPC {config.listen_grpc.host}:{ctx.grpc_port}  CA sha256 {pki.ca_fingerprint}",
                  flush=True)  # fmt: skip
            if config.local_agent:
                tg.start_soon(run_local_agent, ctx)
            task_status.started(ctx)
    finally:
        if ctx is not None:
            for stream in ctx.derived:
                stream.close()
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(store.mark_offline, server_id)
            store.close()


def _display_host(config: ServerConfig) -> str:
    host = config.listen_https.host
    return "localhost" if host in ("0.0.0.0", "::", "127.0.0.1") else host


async def run_local_agent(ctx: ServerContext) -> None:
    """Run ``elkeid agent`` on this host as a child process, enrolled on first start."""
    agent_dir = ctx.config.data_dir / "local-agent"
    args = [sys.executable, "-m", "elkeid", "agent", "--data-dir", str(agent_dir)]
    if not (agent_dir / "agent.json").exists():
        token, _ = await anyio.to_thread.run_sync(
            lambda: ctx.store.create_enroll_token(3600, created_by="server", note="local agent")
        )
        args += ["--server", f"https://localhost:{ctx.https_port}", "--token", token,
                 "--ca-sha256", ctx.pki.ca_fingerprint]  # fmt: skip
    log.info("starting the local agent (data in %s)", agent_dir)
    process = await anyio.open_process(args, stdin=None, stdout=None, stderr=None)
    try:
        code = await process.wait()
        log.error("the local agent exited with status %s", code)
    finally:
        with anyio.CancelScope(shield=True):
            if process.returncode is None:
                process.terminate()
                with anyio.move_on_after(5):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
                    await process.wait()


__all__ = ["ServerContext", "ensure_admin", "open_store", "run_server"]
