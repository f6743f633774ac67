"""The manager's long-lived parts, started in the server's task group."""

from __future__ import annotations

import logging

import anyio
from anyio.abc import TaskStatus

from elkeid.agent.plugins import REGISTRY

from ._configs import ConfigPusher
from ._dispatch import TaskDispatcher
from ._throttle import LoginThrottle

log = logging.getLogger(__name__)

#: Plugins every agent carries as ``elkeid plugin NAME`` (offered as ``builtin`` components).
BUILTIN_PLUGINS = ("driver", "collector", "journal_watcher")
#: Batches the task-result and heartbeat watchers may fall behind by before ingest waits for them.
SUBSCRIBER_BUFFER = 1024


def builtin_plugins() -> list[str]:
    return sorted(set(BUILTIN_PLUGINS) | set(REGISTRY))


#: Settings key recording that the default plugins were assigned once (first start).
DEFAULTS_ASSIGNED = "default_plugins_assigned"


def assign_default_plugins(store, names) -> list[str]:
    """On a new database, assign the built-in plugins ``names`` to every agent; returns those assigned.

    Runs once per database: an admin who removes such an assignment later keeps it removed.

    Raises:
        ValueError: a name is not a built-in plugin.
    """
    if store.get_setting(DEFAULTS_ASSIGNED) is not None:
        return []
    unknown = sorted(set(names) - set(builtin_plugins()))
    if unknown:
        raise ValueError(f"--default-plugins names unknown plugins {', '.join(unknown)}; "
                         f"built-in plugins: {', '.join(builtin_plugins())}")  # fmt: skip
    by_name = {c["name"]: c for c in store.list_components() if c["type"] == "builtin"}
    for name in names:
        store.add_assignment(by_name[name]["id"], {}, None, "server (default plugins)")
    store.set_setting(DEFAULTS_ASSIGNED, ",".join(names))
    return list(names)


class Manager:
    """Task rollout and results, config pushes, and login throttling for one server process.

    ``ctx.manager`` holds it, so API routes reach its parts.
    """

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.throttle = LoginThrottle()
        self.configs = ConfigPusher(ctx)
        self.tasks = TaskDispatcher(ctx)

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; started once subscribed to batches and connections."""
        ctx = self.ctx
        await anyio.to_thread.run_sync(ctx.store.ensure_builtin_components, builtin_plugins())
        await anyio.to_thread.run_sync(assign_default_plugins, ctx.store, ctx.config.default_plugins)
        results = ctx.writer.subscribe("tasks", SUBSCRIBER_BUFFER)
        heartbeats = ctx.writer.subscribe("configs", SUBSCRIBER_BUFFER)
        ctx.hub.on_connect(self._on_connect)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.tasks.consume_results, results)
            tg.start_soon(self.tasks.run_rollout)
            tg.start_soon(self.configs.watch_heartbeats, heartbeats)
            tg.start_soon(self.configs.run)
            task_status.started()

    async def _on_connect(self, conn) -> None:
        self.tasks.wake()
        await self.configs.on_connect(conn)
