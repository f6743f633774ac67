"""The engine runner: durable batches and derived records in, alerts out.

Two streams feed it: every batch the writer has made durable
(``ctx.writer.subscribe``) and the records the server derives itself
(``ctx.derived``, e.g. asset changes). Each consumer takes what is waiting (up
to :data:`MAX_CHUNK_RECORDS` records) and evaluates it in a worker thread, so
the event loop keeps serving agents meanwhile; the rule engine costs a few
microseconds per event, so one chunk of 20,000 records is about 0.1 s of CPU.

Detections become alerts: a detection whose de-duplication key was seen within
the window (:class:`AlertDeduplicator`, seeded from the live alerts in the
store at start) raises the stored alert's ``count`` and ``last_seen``; any other
makes a new alert with its process chain, built from the recent-event store
within a time budget per chunk (:data:`CHAIN_BUDGET`; past it, chains come
from the event's ``pid_tree`` alone), so a storm of new alerts cannot hold up
ingest for long.

Error handling: if storing alerts fails (the database is away) the chunk's
store step is retried :data:`STORE_ATTEMPTS` times with back-off, then its
alerts are counted in ``alerts_lost`` and logged; the runner carries on.
Backpressure: while a chunk is being evaluated, ingest's subscription buffer
fills, and once it is full the writer waits, so agents keep their records
spooled rather than anything being lost.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream

from elkeid.server.engine import Alert, AlertDeduplicator, Detection, RuleEngine, build_process_chain
from elkeid.server.pipeline import Batch

from ._chains import chain_for

log = logging.getLogger(__name__)

#: Most records evaluated in one worker-thread call.
MAX_CHUNK_RECORDS = 20_000
#: Seconds per chunk spent querying process chains before falling back to ``pid_tree`` alone.
CHAIN_BUDGET = 0.5
#: Tries of a chunk's store step, and the first pause between them (doubling).
STORE_ATTEMPTS = 4
STORE_RETRY_DELAY = 0.5
#: Seconds a host name looked up for an agent id is trusted.
HOSTNAME_TTL = 300.0


@dataclass
class RunnerStats:
    batches: int = 0
    records: int = 0
    derived_batches: int = 0
    derived_records: int = 0
    detections: int = 0
    alerts_new: int = 0
    alerts_repeated: int = 0
    alerts_lost: int = 0
    chains_from_pid_tree_only: int = 0
    chunks: int = 0
    busy_seconds: float = 0.0  # wall time in process_chunk (waiting for the GIL included)
    cpu_seconds: float = 0.0  # CPU time of the worker thread in process_chunk
    last_lag_seconds: float = 0.0  # durable -> evaluated, of the last batch
    max_lag_seconds: float = 0.0


AlertsCallback = Callable[[list[dict[str, Any]], list[dict[str, Any]]], None]


class EngineRunner:
    """Evaluates batches with ``engine`` and stores the alerts.

    Args:
        store: the server's store.
        engine: the rule engine (its set is swapped under ``lock`` by reloads).
        lock: held while evaluating.
        dedup_window: seconds within which a repeat counts on the same alert.
        on_alerts: called in the event loop with (new alerts, repeats) after each
            chunk; new alerts are full records with ``id``, repeats are
            ``{"dedup_key", "added", "last_seen"}``. Must not block.
    """

    def __init__(self, store, engine: RuleEngine, lock: threading.Lock, *, dedup_window: float = 3600.0,
                 on_alerts: AlertsCallback | None = None) -> None:  # fmt: skip
        self.store = store
        self.engine = engine
        self.lock = lock
        self.dedup = AlertDeduplicator(dedup_window)
        self.on_alerts = on_alerts
        self.stats = RunnerStats()
        self._store_lock = threading.Lock()  # one chunk's alerts are stored before the next one's
        self._hostnames: dict[str, tuple[str, float]] = {}
        self._streams: list[MemoryObjectReceiveStream[Batch]] = []

    async def run(self, *streams: MemoryObjectReceiveStream[Batch],
                  task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:  # fmt: skip
        """Consume ``streams`` (the first: agents' durable batches; the others: derived records) until cancelled."""
        since = time.time() - self.dedup.window
        for key, first, last, count in await anyio.to_thread.run_sync(self.store.live_alerts_since, since):
            self.dedup.seed(key, first, last, count)
        self._streams = list(streams)
        async with anyio.create_task_group() as tg:
            for i, stream in enumerate(streams):
                tg.start_soon(self._consume, stream, i > 0)
            task_status.started()

    def queued(self) -> int:
        """Batches waiting for the runner."""
        return sum(s.statistics().current_buffer_used for s in self._streams)

    async def _consume(self, stream: MemoryObjectReceiveStream[Batch], derived: bool) -> None:
        async with stream:
            await self._consume_open(stream, derived)

    async def _consume_open(self, stream: MemoryObjectReceiveStream[Batch], derived: bool) -> None:
        async for first in stream:
            chunk, records = [first], len(first.records)
            while records < MAX_CHUNK_RECORDS:
                try:
                    batch = stream.receive_nowait()
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
                chunk.append(batch)
                records += len(batch.records)
            new, repeats = await anyio.to_thread.run_sync(self.process_chunk, chunk, derived)
            if (new or repeats) and self.on_alerts is not None:
                try:
                    self.on_alerts(new, repeats)
                except Exception:  # noqa: BLE001 - a listener's bug must not stop detection
                    log.exception("an alert listener failed")

    # --- worker thread ------------------------------------------------------------------
    def process_chunk(self, chunk: list[Batch], derived: bool = False) -> tuple[list[dict], list[dict]]:
        """Evaluate ``chunk`` and store its alerts; (new alerts, repeats). Runs in a worker thread."""
        started, cpu = time.monotonic(), time.thread_time()
        self._resolve_hostnames({b.agent_id for b in chunk})
        detections: list[Detection] = []
        with self.lock:
            for b in chunk:
                hostname = self._hostnames.get(b.agent_id, ("", 0.0))[0]
                detections.extend(self.engine.process_batch(b.agent_id, b.records, hostname=hostname))
            now = time.time()
            observed = [(d, self.dedup.observe(d, now)) for d in detections]
        s = self.stats
        s.chunks += 1
        n = sum(len(b.records) for b in chunk)
        if derived:
            s.derived_batches += len(chunk)
            s.derived_records += n
        else:
            s.batches += len(chunk)
            s.records += n
            lag = max(0.0, now - min(b.received_at for b in chunk))
            s.last_lag_seconds, s.max_lag_seconds = lag, max(s.max_lag_seconds, lag)
        s.detections += len(detections)
        out: tuple[list[dict], list[dict]] = ([], [])
        if observed:
            with self._store_lock:
                out = self._store(observed, now)
        s.busy_seconds += time.monotonic() - started
        s.cpu_seconds += time.thread_time() - cpu
        return out

    def _store(self, observed: list, now: float) -> tuple[list[dict], list[dict]]:
        fresh = [d for d, occ in observed if occ.new]
        repeats: dict[str, list] = {}  # key -> [added, last_seen, latest detection]
        for d, occ in observed:
            if not occ.new:
                entry = repeats.setdefault(occ.key, [0, now, d])
                entry[0] += 1
                entry[2] = d
        deadline = time.monotonic() + CHAIN_BUDGET
        alerts = [self._alert(d, now, deadline) for d in fresh]
        delay = STORE_RETRY_DELAY
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                return self._write(alerts, repeats, now, deadline)
            except Exception as exc:  # noqa: BLE001 - the database's errors vary by driver; retried, then counted
                if attempt == STORE_ATTEMPTS:
                    lost = len(alerts) + sum(e[0] for e in repeats.values())
                    self.stats.alerts_lost += lost
                    log.error("storing %d alerts failed %d times (%s); they are lost", lost, attempt, exc)
                    return [], []
                log.warning("storing alerts failed (%s); retrying in %.1fs", exc, delay)
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _write(self, alerts: list[Alert], repeats: dict[str, list], now: float,
               deadline: float) -> tuple[list[dict], list[dict]]:  # fmt: skip
        reraised: dict[str, int] = {}

        def reraise(key: str, added: int) -> dict[str, Any]:
            # Its alert ended (resolved or a false positive) since: a new alert, counting the repeats.
            alert = self._alert(repeats[key][2], now, deadline)
            alert.count = added
            reraised[key] = added
            return alert.as_dict()

        records = self.store.record_alerts([a.as_dict() for a in alerts],
                                           {k: (e[0], e[1]) for k, e in repeats.items()}, reraise)  # fmt: skip
        for key, added in reraised.items():
            self.dedup.seed(key, now, repeats.pop(key)[1], added)
        self.stats.alerts_new += len(records)
        self.stats.alerts_repeated += sum(e[0] for e in repeats.values())
        return records, [{"dedup_key": k, "added": e[0], "last_seen": e[1]} for k, e in repeats.items()]

    def _alert(self, d: Detection, now: float, deadline: float) -> Alert:
        chain = None
        if time.monotonic() < deadline:
            try:
                chain = chain_for(self.store, d.event)
            except Exception as exc:  # noqa: BLE001 - the alert matters more than its chain
                log.warning("cannot read recent events for a process chain (%s); using the event's pid_tree", exc)
        if chain is None:
            self.stats.chains_from_pid_tree_only += 1
            chain = build_process_chain(d.event, ())
        return Alert.from_detection(d, chain=chain, now=now)

    def _resolve_hostnames(self, agent_ids: set[str]) -> None:
        now = time.monotonic()
        stale = [a for a in agent_ids if now - self._hostnames.get(a, ("", -HOSTNAME_TTL * 2))[1] > HOSTNAME_TTL]
        if not stale:
            return
        try:
            found = self.store.agent_hostnames(stale)
        except Exception as exc:  # noqa: BLE001 - a missing host name must not stop detection
            log.warning("cannot look up host names (%s); alerts carry none until the next try", exc)
            return
        for a in stale:
            self._hostnames[a] = (found.get(a, ""), now)

    def snapshot(self) -> dict[str, Any]:
        return {**asdict(self.stats), "queued_batches": self.queued(), "dedup_keys": len(self.dedup)}
