"""The detection service: rules in force, the engine runner, notifications, in one server task."""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

import anyio
from anyio.abc import TaskStatus

from elkeid.server.engine import RuleEngine

from ._notifications import NotificationService
from ._rules import RuleManager
from ._runner import EngineRunner

log = logging.getLogger(__name__)

#: Durable batches the engine may fall behind by before ingest waits for it.
SUBSCRIBER_BUFFER = 1024

Listener = Callable[[str, dict[str, Any]], None]


class DetectionService:
    """Everything between durable records and stored, notified alerts; ``ctx.detection`` holds it.

    API routes reach its parts: :attr:`rules` (:class:`RuleManager`), :attr:`runner`
    (:class:`EngineRunner`), :attr:`notifications` (:class:`NotificationService`).
    Other parts of the server (the console's live feed) may listen with :meth:`on_alert`.

    Raises:
        elkeid.server.notify.NotifyConfigError: a ``--notify`` URL is not usable.
    """

    def __init__(self, ctx) -> None:
        config = ctx.config
        self.ctx = ctx
        self.engine = RuleEngine()
        self.lock = threading.Lock()
        self.rules = RuleManager(ctx.store, self.engine, self.lock, rules_dir=config.rules_path,
                                 default_rules=config.default_rules, poll_interval=config.rules_poll)  # fmt: skip
        self.notifications = NotificationService(ctx.store, list(config.notify))
        self.runner = EngineRunner(ctx.store, self.engine, self.lock, dedup_window=config.alert_dedup_window,
                                   on_alerts=self._published)  # fmt: skip
        self._listeners: list[Listener] = []

    def on_alert(self, callback: Listener) -> None:
        """Call ``callback(kind, data)`` in the event loop for each ``new`` alert (the full record),
        each ``repeat`` (``{"dedup_key", "added", "last_seen"}``) and each ``status`` change
        (``{"id", "status", "by", "at"}``). It must not block; errors are logged."""
        self._listeners.append(callback)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        for callback in self._listeners:
            try:
                callback(kind, data)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop detection
                log.exception("alert listener %r failed", callback)

    def _published(self, new: list[dict[str, Any]], repeats: list[dict[str, Any]]) -> None:
        for alert in new:
            self.notifications.submit(alert)
            self.publish("new", alert)
        for repeat in repeats:
            self.publish("repeat", repeat)

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        """Load the rules, then evaluate until cancelled; ``started()`` once subscribed and running."""
        batches = self.ctx.writer.subscribe("engine", SUBSCRIBER_BUFFER)
        await self.rules.start()
        async with anyio.create_task_group() as tg:
            await tg.start(self.notifications.run)
            await tg.start(self.runner.run, batches, self.ctx.derived[1])
            await tg.start(self.rules.watch)
            task_status.started()

    def status(self) -> dict[str, Any]:
        """Rules, runner and notification figures (``GET /api/v1/engine/status``)."""
        stats = self.engine.stats()
        return {
            "rules": self.rules.status(),
            "engine": {"events": stats["events"], "detections": stats["detections"]},
            "runner": self.runner.snapshot(),
            "notifications": self.notifications.snapshot(),
        }
