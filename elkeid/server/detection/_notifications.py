"""Where alerts are sent: sinks from ``--notify`` flags and sinks set through the API.

Flag sinks are fixed for the life of the process. API sinks are kept in the
database (setting ``notify.sinks``), so every server sharing it sends to them;
each server polls the setting and restarts its :class:`Notifier` when it
changes. Alerts waiting in the old notifier's queues when it is replaced are
not sent (counted as ``discarded``). Counters are kept per sink name across
restarts, so ``dropped`` (queue full: the receiver is too slow or away) stays
visible.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import Any, Mapping

import anyio
from anyio.abc import TaskGroup, TaskStatus
from sqlalchemy.exc import SQLAlchemyError

from elkeid.server.engine import SEVERITIES
from elkeid.server.notify import Notifier, NotifyConfigError, Sink, SinkStats, sink_from_url

log = logging.getLogger(__name__)

SETTING_KEY = "notify.sinks"
#: Seconds between looks at the database's sink setting.
POLL_INTERVAL = 5.0
#: Most sinks one server sends to.
MAX_SINKS = 32


def _counters() -> dict[str, int]:
    return {**asdict(SinkStats()), "discarded": 0}


def build_sinks(specs: list[Mapping[str, Any]]) -> list[Sink]:
    """Sinks for ``specs`` (``{"url", "name"?, "headers"?}``), checked together.

    Raises:
        NotifyConfigError: a bad URL or option, two sinks with one name, too many sinks.
    """
    if len(specs) > MAX_SINKS:
        raise NotifyConfigError(f"at most {MAX_SINKS} notification sinks, not {len(specs)}")
    sinks = [sink_from_url(s["url"], name=s.get("name") or None, headers=s.get("headers") or None) for s in specs]
    names = [s.name for s in sinks]
    for name in names:
        if names.count(name) > 1:
            raise NotifyConfigError(f"two sinks are named {name!r}; give each its own name")
    for sink in sinks:
        if sink.min_severity not in SEVERITIES:
            raise NotifyConfigError(f"{sink.name}: min_severity {sink.min_severity!r} is not one of "
                                    f"{', '.join(SEVERITIES)}")  # fmt: skip
    return sinks


class NotificationService:
    """Runs a :class:`Notifier` for the configured sinks and replaces it when they change.

    Args:
        store: the server's store (settings).
        flag_urls: sinks given on the command line (``--notify URL``).
        poll_interval: seconds between looks at the stored setting.
        notifier_options: passed to each :class:`Notifier` (queue_size, max_attempts, delays).

    Raises:
        NotifyConfigError: a flag's URL is not a sink we can send to.
    """

    def __init__(self, store, flag_urls: list[str] = (), *, poll_interval: float = POLL_INTERVAL,
                 **notifier_options: Any) -> None:  # fmt: skip
        self.store = store
        self.flag_specs = [{"url": u, "source": "flag"} for u in flag_urls]
        build_sinks(self.flag_specs)
        self.api_specs: list[dict[str, Any]] = []
        self.poll_interval = poll_interval
        self._options = notifier_options
        self._notifier: Notifier | None = None
        self._scope: anyio.CancelScope | None = None
        self._tg: TaskGroup | None = None
        self._setting_text: str | None = None
        self._totals: dict[str, dict[str, int]] = {}
        self._restart_lock = anyio.Lock()

    def submit(self, alert: Mapping[str, Any]) -> None:
        """Queue ``alert`` for every sink (never blocks; a full queue counts ``dropped``)."""
        if self._notifier is not None:
            self._notifier.submit(alert)

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            text = await anyio.to_thread.run_sync(self.store.get_setting, SETTING_KEY)
            await self._restart(self._parse(text), text)
            task_status.started()
            while True:
                await anyio.sleep(self.poll_interval)
                try:
                    text = await anyio.to_thread.run_sync(self.store.get_setting, SETTING_KEY)
                except SQLAlchemyError as exc:
                    log.warning("cannot read the notification settings (%s)", exc)
                    continue
                if text != self._setting_text:
                    await self._restart(self._parse(text), text)

    def _parse(self, text: str | None) -> list[dict[str, Any]]:
        if not text:
            return []
        try:
            specs = json.loads(text)
            build_sinks(specs)
            return specs
        except (ValueError, TypeError, KeyError, NotifyConfigError) as exc:
            log.error("the stored notification sinks are not usable (%s); sending to the --notify sinks only", exc)
            return []

    async def configure(self, specs: list[dict[str, Any]]) -> None:
        """Replace the API sinks (kept in the database).

        Raises:
            NotifyConfigError: a bad sink, or a name also used by a --notify sink.
        """
        build_sinks(self.flag_specs + [{k: v for k, v in s.items() if k != "source"} for s in specs])
        text = json.dumps(specs, sort_keys=True)
        await anyio.to_thread.run_sync(self.store.set_setting, SETTING_KEY, text)
        await self._restart(specs, text)

    async def _restart(self, specs: list[dict[str, Any]], text: str | None) -> None:
        async with self._restart_lock:
            try:
                sinks = build_sinks(self.flag_specs + specs)
            except NotifyConfigError as exc:  # an API sink clashing with a flag's name: keep the flags
                log.error("notification sinks not usable (%s); sending to the --notify sinks only", exc)
                specs, sinks = [], build_sinks(self.flag_specs)
            notifier = Notifier(sinks, **self._options)
            scope = anyio.CancelScope()

            async def serve(*, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
                with scope:
                    await notifier.run(task_status=task_status)

            assert self._tg is not None
            await self._tg.start(serve)
            old, old_scope = self._notifier, self._scope
            self._notifier, self._scope = notifier, scope
            self.api_specs, self._setting_text = specs, text
            if old is not None and old_scope is not None:
                old_scope.cancel()
                self._merge(old)
            log.info("notifications go to %d sinks: %s", len(sinks), ", ".join(s.name for s in sinks) or "none")

    def _merge(self, old: Notifier) -> None:
        for name, stats in old.snapshot().items():
            total = self._totals.setdefault(name, _counters())
            for key, value in stats.items():
                total[key] += value
            total["discarded"] += max(0, stats["queued"] - stats["sent"] - stats["failed"])

    def snapshot(self) -> dict[str, Any]:
        """Every sink (flag ones first) with its settings and counters, and the totals."""
        current = self._notifier.snapshot() if self._notifier is not None else {}
        sinks = []
        names = [s.name for s in self._notifier.sinks] if self._notifier is not None else []
        for spec, name in zip(self.flag_specs + self.api_specs, names):
            counters = _counters()
            for key, value in self._totals.get(name, {}).items():
                counters[key] += value
            for key, value in current.get(name, {}).items():
                counters[key] += value
            sinks.append({"name": name, "url": spec["url"], "source": spec.get("source", "api"),
                          "headers": sorted((spec.get("headers") or {}).keys()), "stats": counters})  # fmt: skip
        totals = _counters()
        for sink in sinks:
            for key, value in sink["stats"].items():
                totals[key] += value
        return {"sinks": sinks, "totals": totals}
