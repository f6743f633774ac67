"""The live feed's ``alerts`` topic: a small event for each new alert, repeat and triage step.

The detection service calls :meth:`AlertWatch.on_alert` in the event loop
(``ctx.detection.on_alert``) for every new alert, every repeat of a live one
(its count and ``last_seen`` moved) and every status change. The topic carries
only what identifies the change, never host text: pages listening to it re-read
their own server-rendered parts (``[data-fragment]``), so filters, paging and
escaping stay the server's. A snapshot (on connect or reconnect) says only that
the page should be current; the pages re-read then too, in case they missed
events while the stream was down.

Alerts raised or triaged by another server sharing the database never pass
through this server's detection service, so while anyone listens the watcher
also looks at the store every :data:`POLL` seconds (two index reads): when
alerts changed since the last look it publishes ``{"kind": "stored", "ids"}``
with the ids of the alerts that changed (those of this server included, which
costs a listening page at most one more re-read per look). A new listener's
snapshot takes a look first, so what changes after it connects reaches it.

Error handling: a store error is logged and the next look tries again.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from anyio.abc import TaskStatus

from elkeid.server.store import StoreError

from ._feed import LiveFeed, poll_while_listening

log = logging.getLogger(__name__)

TOPIC = "alerts"
#: Seconds between looks at the store for alerts changed elsewhere (while anyone listens).
POLL = 2.0
#: The fields of each kind of change that the topic carries.
_KEYS = {
    "new": ("id", "dedup_key", "status", "severity", "rule_id", "agent_id", "count", "last_seen"),
    "repeat": ("dedup_key", "added", "last_seen"),
    "status": ("id", "status", "at"),
}


class AlertWatch:
    def __init__(self, ctx, feed: LiveFeed, *, poll: float = POLL) -> None:
        self.ctx = ctx
        self.feed = feed
        self.poll = poll
        self.published = 0
        self._marks: tuple[float, int] | None = None
        feed.add_topic(TOPIC, self.snapshot)
        detection = getattr(ctx, "detection", None)
        if detection is not None:  # a server without the rule engine has no alerts to follow
            detection.on_alert(self.on_alert)

    def on_alert(self, kind: str, data: dict[str, Any]) -> None:
        """Publish one change (``new``, ``repeat`` or ``status``); never blocks."""
        keys = _KEYS.get(kind)
        if keys is None:
            return
        self.published += 1
        self.feed.publish(TOPIC, {"snapshot": False, "kind": kind, **{k: data.get(k) for k in keys}})

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await poll_while_listening(self.feed, TOPIC, self.poll, self.check)

    async def check(self) -> list[int]:
        """Look at the store; publish the ids of the alerts changed since the last look (if any)."""
        store = self.ctx.store
        try:
            marks = await anyio.to_thread.run_sync(store.alert_marks)
            if self._marks is None or marks == self._marks:
                self._marks = marks
                return []
            ids = await anyio.to_thread.run_sync(store.alerts_changed_since, self._marks)
        except StoreError as exc:
            log.warning("console: cannot read the alerts (%s); retrying in %.0fs", exc, self.poll)
            return []
        self._marks = marks
        self.published += 1
        self.feed.publish(TOPIC, {"snapshot": False, "kind": "stored", "ids": ids})
        return ids

    async def snapshot(self) -> dict[str, Any]:
        # Marks taken now, as the listener starts: a change made from here on is published to it.
        await self.check()
        return {"snapshot": True}
