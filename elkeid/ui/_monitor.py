"""The console's watcher: one task that keeps what the pages and the live feed show.

- Host status: the agent hub (live streams here) is polled every second; any
  change, and every :data:`REFRESH` seconds in any case (agents held by other
  servers sharing the database, enrollments, revocations), the agent list is
  read and what changed is published on the live feed's ``hosts`` topic.
- Ingest: the batch writer's counters are sampled every :data:`~._ingest.INTERVAL`
  seconds, and every durable batch is observed (records by type, driver and error
  signals) through ``ctx.writer.subscribe``.
- Health problems are computed on demand and kept for :data:`PROBLEMS_TTL` seconds.
- At start the driver and error signals are rebuilt from the recent-event store
  (``_signals``), after subscribing to the batch stream; a batch both read back
  and streamed (same agent, same arrival time) is taken once.

Error handling: a store error while refreshing is logged and retried at the next
tick (the pages read the store themselves and show the error). The writer waits
for this subscriber, so the batch handler does only in-memory counting.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
from anyio.abc import TaskStatus

from elkeid.server.pipeline import each_soon
from elkeid.server.store import EventQuery, StoreError

from ._feed import LiveFeed
from ._health import Problem, host_problems
from ._hosts import ONLINE, host_status, status_counts
from ._ingest import INTERVAL, IngestMeter
from ._signals import DRIVER_TYPES, ERROR_TYPES, REPLAY_LIMIT, SignalBook

log = logging.getLogger(__name__)

HUB_POLL = 1.0
REFRESH = 15.0
#: Health problems are recomputed (one read of the agents, one of plugin heartbeats, one of assignments) at most this often.
PROBLEMS_TTL = 5.0
SUBSCRIBER = "console"
SUBSCRIBER_BUFFER = 1024


class ConsoleMonitor:
    def __init__(self, ctx, feed: LiveFeed, *, hub_poll: float = HUB_POLL, refresh: float = REFRESH,
                 sample_interval: float = INTERVAL) -> None:  # fmt: skip
        self.ctx = ctx
        self.feed = feed
        self.hub_poll = hub_poll
        self.refresh = refresh
        self.sample_interval = sample_interval
        self.ingest = IngestMeter()
        self.signals = SignalBook()
        self.hosts: dict[str, dict[str, Any]] = {}
        self.counts: dict[str, int] = {}
        self._problems: tuple[float, list[Problem]] = (0.0, [])
        self._refreshing = anyio.Lock()  # one refresh at a time, so diffs follow each other in order
        self._replayed: set[tuple[str, float]] = set()  # batches read back at start: (agent, received_at)
        self._replayed_until = 0.0
        feed.add_topic("hosts", self.hosts_snapshot)

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        """Watch until cancelled; the live feed is closed on the way out."""
        batches = self.ctx.writer.subscribe(SUBSCRIBER, SUBSCRIBER_BUFFER)
        try:
            async with batches, anyio.create_task_group() as tg:
                await self._replay_signals()
                await self._refresh_hosts()
                self.ingest.sample(self.ctx.writer.stored_records, self.ctx.writer.stored_batches)
                tg.start_soon(self._observe, batches)
                tg.start_soon(self._sample_loop)
                tg.start_soon(self._hosts_loop)
                task_status.started()
        finally:
            self.feed.close()

    # --- durable batches ---------------------------------------------------------------
    async def _replay_signals(self) -> None:
        """Rebuild the driver and error signals from the recent-event store (a restart forgets nothing)."""
        store = self.ctx.store
        for types in (DRIVER_TYPES, ERROR_TYPES):
            query = EventQuery(data_types=list(types), limit=REPLAY_LIMIT)
            try:
                events, _cursor = await anyio.to_thread.run_sync(store.search_events, query)
            except StoreError as exc:
                log.warning("console: cannot read driver and error signals back from the event store (%s); "
                            "they show again as agents report", exc)  # fmt: skip
                return
            self.signals.replay(events)
            for e in events:
                self._replayed.add((e["agent_id"], e["received_at"]))
                self._replayed_until = max(self._replayed_until, e["received_at"])

    async def _observe(self, batches) -> None:
        async for batch in each_soon(batches):
            self.ingest.observe(batch.records)
            if self._replayed:
                if batch.received_at > self._replayed_until:
                    # Subscribers get batches in the order they were stored, and the read-back ones were
                    # stored first: after one that was not, none can follow.
                    self._replayed.clear()
                elif (batch.agent_id, batch.received_at) in self._replayed:
                    continue
            self.signals.observe(batch.agent_id, batch.records, batch.received_at)

    async def _sample_loop(self) -> None:
        while True:
            await anyio.sleep(self.sample_interval)
            self.ingest.sample(self.ctx.writer.stored_records, self.ctx.writer.stored_batches)

    # --- host status -------------------------------------------------------------------
    async def _hosts_loop(self) -> None:
        live = set(self.ctx.hub.agent_ids())
        last_refresh = time.monotonic()
        while True:
            await anyio.sleep(self.hub_poll)
            now_live = set(self.ctx.hub.agent_ids())
            if now_live != live or time.monotonic() - last_refresh >= self.refresh:
                live = now_live
                last_refresh = time.monotonic()
                await self._refresh_hosts()

    async def _refresh_hosts(self) -> None:
        async with self._refreshing:
            try:
                agents = await anyio.to_thread.run_sync(self.ctx.store.list_agents)
            except StoreError as exc:
                log.warning("console: cannot read the agent list (%s); retrying in %.0fs", exc, self.refresh)
                return
            self._update_hosts(agents)

    def _update_hosts(self, agents: list[dict[str, Any]]) -> None:
        live, now = set(self.ctx.hub.agent_ids()), time.time()
        fresh = {a["id"]: {"id": a["id"], "status": host_status(a, live, now), "last_seen": a.get("last_seen")}
                 for a in agents}  # fmt: skip
        changed = [v for k, v in fresh.items() if self.hosts.get(k, {}).get("status") != v["status"]]
        removed = [k for k in self.hosts if k not in fresh]
        self.hosts = fresh
        self.counts = status_counts(agents, live, now)
        if changed or removed:
            self.feed.publish("hosts", {"snapshot": False, "items": changed, "removed": removed, "counts": self.counts})

    async def hosts_snapshot(self) -> dict[str, Any]:
        """The current status of every host, read afresh so it is never older than the page."""
        await self._refresh_hosts()
        return {"snapshot": True, "items": list(self.hosts.values()), "removed": [], "counts": self.counts}

    # --- health --------------------------------------------------------------------------
    async def problems(self) -> list[Problem]:
        """Every host's problems (recomputed at most every PROBLEMS_TTL seconds).

        Raises:
            StoreError: the store cannot be read.
        """
        at, cached = self._problems
        if at and time.monotonic() - at < PROBLEMS_TTL:
            return cached
        live = {c.agent_id: c.connected_at for c in self.ctx.hub.connections()}
        agents, plugins = await anyio.to_thread.run_sync(lambda: (self.ctx.store.list_agents(),
                                                                  self.ctx.store.plugin_heartbeats()))  # fmt: skip
        now = time.time()
        statuses = {a["id"]: host_status(a, live, now) for a in agents}
        online = [aid for aid, status in statuses.items() if status == ONLINE]
        # The assigned plugin sets of every online host: one read of the assignments.
        desired = await self.ctx.manager.configs.compute(online) if online else {}
        # Tens of milliseconds for a thousand hosts: off the event loop, as before the assigned sets were
        # compared. It only reads the signals the loop updates: values swapped whole, the newest error.
        problems = await anyio.to_thread.run_sync(self._collect_problems, agents, statuses, plugins, desired, live, now)
        self._problems = (time.monotonic(), problems)
        return problems

    def _collect_problems(self, agents: list[dict[str, Any]], statuses: dict[str, str],
                          plugins: dict[str, list[dict[str, Any]]], desired: dict[str, list[dict[str, Any]]],
                          live: dict[str, float], now: float) -> list[Problem]:  # fmt: skip
        """Every host's problems from one read of the agents and one of the plugin heartbeats."""
        out: list[Problem] = []
        for agent in agents:
            aid = agent["id"]
            status = statuses[aid]
            names = [c["name"] for c in desired[aid]] if aid in desired else None
            # Plugin heartbeats matter while the agent runs.
            beats = plugins.get(aid, []) if status == ONLINE else []
            out.extend(host_problems(agent, status, beats, self.signals.get(aid), now, desired=names,
                                     connected_at=live.get(aid)))  # fmt: skip
        out.sort(key=lambda p: (p.severity != "critical", p.hostname.lower(), p.summary))
        return out
