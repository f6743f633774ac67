"""Delivering alerts to sinks without ever blocking the caller.

:meth:`Notifier.submit` puts the alert on each sink's bounded queue and
returns at once; when a queue is full the alert is dropped for that sink and
counted (``dropped``), so a dead receiver can never slow ingest. One worker
task per sink sends in order, retrying failed deliveries with exponential
back-off and jitter; an alert that still fails after ``max_attempts`` (or fails
in a way retrying cannot fix) is counted as ``failed`` and logged.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Protocol, Sequence

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .errors import DeliveryError, NotifyConfigError

log = logging.getLogger(__name__)

_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


class Sink(Protocol):
    name: str
    min_severity: str

    async def send(self, alert: Mapping[str, Any]) -> None: ...

    async def aclose(self) -> None: ...


@dataclass
class SinkStats:
    queued: int = 0
    sent: int = 0
    retries: int = 0
    failed: int = 0
    dropped: int = 0
    filtered: int = 0


class Notifier:
    """Fans alerts out to sinks through bounded queues; :meth:`run` is the service.

    Args:
        sinks: where to deliver (:class:`WebhookSink`, :class:`SyslogSink`, or anything with
            ``name``, ``min_severity``, ``async send(alert)`` and ``async aclose()``).
        queue_size: alerts waiting per sink before new ones are dropped.
        max_attempts: deliveries tried per alert (1 = no retry).
        base_delay, max_delay: back-off before retry n is ``min(max_delay, base_delay * 2**(n-1))``,
            scaled by a random factor in [0.5, 1] so many servers do not retry in step.

    Raises:
        NotifyConfigError: two sinks share a name, or a setting is out of range.
    """

    def __init__(self, sinks: Sequence[Sink], *, queue_size: int = 1000, max_attempts: int = 6,
                 base_delay: float = 1.0, max_delay: float = 60.0) -> None:  # fmt: skip
        names = [s.name for s in sinks]
        if len(set(names)) != len(names):
            raise NotifyConfigError(f"sink names must differ: {names}")
        if queue_size < 1 or max_attempts < 1 or base_delay < 0 or max_delay < base_delay:
            raise NotifyConfigError("queue_size and max_attempts must be >= 1, and 0 <= base_delay <= max_delay")
        for s in sinks:
            if s.min_severity not in _RANK:
                raise NotifyConfigError(f"{s.name}: min_severity {s.min_severity!r} is not one of {', '.join(_RANK)}")
        self.sinks = list(sinks)
        self.max_attempts, self.base_delay, self.max_delay = max_attempts, base_delay, max_delay
        self.stats = {s.name: SinkStats() for s in self.sinks}
        self._queues: dict[str, tuple[MemoryObjectSendStream, MemoryObjectReceiveStream]] = {
            s.name: anyio.create_memory_object_stream[Mapping[str, Any]](queue_size) for s in self.sinks
        }

    def submit(self, alert: Mapping[str, Any]) -> None:
        """Queue ``alert`` (an alert record mapping) for every sink; never blocks, never raises."""
        rank = _RANK.get(str(alert.get("severity")), 0)
        for sink in self.sinks:
            stats = self.stats[sink.name]
            if rank < _RANK[sink.min_severity]:
                stats.filtered += 1
                continue
            try:
                self._queues[sink.name][0].send_nowait(alert)
                stats.queued += 1
            except anyio.WouldBlock:
                stats.dropped += 1
                if stats.dropped == 1 or math.log2(stats.dropped).is_integer():  # 1, 2, 4, 8 ...: no log flood
                    log.warning("notification queue of %s is full: %d alerts dropped so far", sink.name, stats.dropped)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                stats.dropped += 1

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Deliver until cancelled (one worker per sink); ``started()`` once every worker runs.

        Run it once: when it ends, the queues close and alerts still waiting are lost
        (counted in ``queued`` but not in ``sent`` or ``failed``).
        """
        try:
            async with anyio.create_task_group() as tg:
                for sink in self.sinks:
                    await tg.start(self._worker, sink)
                task_status.started()
        finally:
            for send, receive in self._queues.values():
                send.close()
                receive.close()

    async def _worker(self, sink: Sink, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        receive = self._queues[sink.name][1]
        stats = self.stats[sink.name]
        try:
            task_status.started()
            async for alert in receive:
                await self._deliver(sink, alert, stats)
        finally:
            with anyio.CancelScope(shield=True):
                await sink.aclose()

    async def _deliver(self, sink: Sink, alert: Mapping[str, Any], stats: SinkStats) -> None:
        for attempt in range(1, self.max_attempts + 1):
            try:
                await sink.send(alert)
                stats.sent += 1
                return
            except DeliveryError as exc:
                if not exc.retryable or attempt == self.max_attempts:
                    stats.failed += 1
                    log.error("notification to %s failed after %d attempts: %s", sink.name, attempt, exc)
                    return
                stats.retries += 1
                delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
                log.warning("notification to %s failed (%s); retry %d in %.1fs", sink.name, exc, attempt, delay)
                await anyio.sleep(delay)

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Per sink: queued, sent, retries, failed, dropped (queue full), filtered (below min_severity)."""
        return {name: asdict(s) for name, s in self.stats.items()}
