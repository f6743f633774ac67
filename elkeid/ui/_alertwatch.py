"""The live feed's ``alerts`` topic: a small event for each new alert, repeat and triage step.

The detection service calls :meth:`AlertWatch.on_alert` in the event loop
(``ctx.detection.on_alert``) for every new alert, every repeat of a live one
(its count and ``last_seen`` moved) and every status change. The topic carries
only what identifies the change, never host text: pages listening to it re-read
their own server-rendered parts (``[data-fragment]``), so filters, paging and
escaping stay the server's. A snapshot (on connect or reconnect) says only that
the page should be current; the pages re-read then too, in case they missed
events while the stream was down.
"""

from __future__ import annotations

from typing import Any

from ._feed import LiveFeed

TOPIC = "alerts"
#: The fields of each kind of change that the topic carries.
_KEYS = {
    "new": ("id", "dedup_key", "status", "severity", "rule_id", "agent_id", "count", "last_seen"),
    "repeat": ("dedup_key", "added", "last_seen"),
    "status": ("id", "status", "at"),
}


class AlertWatch:
    def __init__(self, ctx, feed: LiveFeed) -> None:
        self.feed = feed
        self.published = 0
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

    async def snapshot(self) -> dict[str, Any]:
        return {"snapshot": True}
