"""The console's watcher: one task that keeps what the pages and the live feed show.

- Host status: the agent hub (live streams here) is polled every second; any
  change, and every :data:`REFRESH` seconds in any case (agents held by other
  servers sharing the database, enrollments, revocations), the agent list is
  read and what changed is published on the live feed's ``hosts`` topic.
- Ingest: the batch writer's counters are sampled every :data:`~._ingest.INTERVAL`
  seconds, and every durable batch is observed (records by type, driver and error
  signals) through ``ctx.writer.subscribe``.
- Health problems are computed on demand and kept for :data:`PROBLEMS_TTL` seconds.

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
from elkeid.server.store import NotFound, StoreError

from ._feed import LiveFeed
from ._health import Problem, host_problems
from ._hosts import ONLINE, host_status, status_counts
from ._ingest import INTERVAL, IngestMeter
from ._signals import SignalBook

log = logging.getLogger(__name__)

HUB_POLL = 1.0
REFRESH = 15.0
#: Health problems are recomputed (one agent-list read, one read per online agent) at most this often.
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
        feed.add_topic("hosts", self.hosts_snapshot)

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        """Watch until cancelled; the live feed is closed on the way out."""
        batches = self.ctx.writer.subscribe(SUBSCRIBER, SUBSCRIBER_BUFFER)
        try:
            async with batches, anyio.create_task_group() as tg:
                await self._refresh_hosts()
                self.ingest.sample(self.ctx.writer.stored_records, self.ctx.writer.stored_batches)
                tg.start_soon(self._observe, batches)
                tg.start_soon(self._sample_loop)
                tg.start_soon(self._hosts_loop)
                task_status.started()
        finally:
            self.feed.close()

    # --- durable batches ---------------------------------------------------------------
    async def _observe(self, batches) -> None:
        async for batch in each_soon(batches):
            self.ingest.observe(batch.records)
            self.signals.observe(batch.agent_id, batch.records)

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
        live = set(self.ctx.hub.agent_ids())
        problems = await anyio.to_thread.run_sync(self._collect_problems, live)
        self._problems = (time.monotonic(), problems)
        return problems

    def _collect_problems(self, live: set[str]) -> list[Problem]:
        store, now = self.ctx.store, time.time()
        out: list[Problem] = []
        for agent in store.list_agents():
            status = host_status(agent, live, now)
            # Plugin heartbeats matter while the agent runs; one read per online host.
            try:
                plugins = store.get_agent(agent["id"])["plugins"] if status == ONLINE else []
            except NotFound:  # deleted since the list was read
                continue
            out.extend(host_problems(agent, status, plugins, self.signals.get(agent["id"]), now))
        out.sort(key=lambda p: (p.severity != "critical", p.hostname.lower(), p.summary))
        return out
