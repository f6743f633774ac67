"""The batching writer: one task that makes every ingest write."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from elkeid import datatypes
from elkeid.server.store import Store

log = logging.getLogger(__name__)

#: Batches waiting for the writer before servicers block (backpressure).
QUEUE_SIZE = 1024
#: Most batches folded into one transaction.
MAX_GROUP = 256


@dataclass(eq=False)
class Batch:
    """One PackagedData, decoded: ``records`` are (data_type, timestamp, fields)."""

    agent_id: str
    seq: int
    records: list[tuple[int, int, dict[str, str]]]
    received_at: float = field(default_factory=time.time)
    done: anyio.Event = field(default_factory=anyio.Event)
    error: BaseException | None = None


class BatchWriter:
    """Collects batches from all streams and stores them from one worker thread, in arrival order."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._send, self._receive = anyio.create_memory_object_stream[Batch](QUEUE_SIZE)
        self._subscribers: dict[str, MemoryObjectSendStream[Batch]] = {}
        self.stored_batches = 0
        self.stored_records = 0

    def subscribe(self, name: str, buffer: int = 1024) -> MemoryObjectReceiveStream[Batch]:
        """A stream of every batch once it is durable (rule engine, task results, Kafka ...).

        Delivery waits when a subscriber's buffer is full, so a consumer that
        stalls slows ingest rather than losing batches: consumers must keep up.
        """
        if name in self._subscribers:
            raise ValueError(f"a subscriber named {name!r} already exists")
        send, receive = anyio.create_memory_object_stream[Batch](buffer)
        self._subscribers[name] = send
        return receive

    async def submit(self, batch: Batch) -> None:
        """Queue ``batch`` and wait until it is durable.

        Raises:
            Exception: whatever made the write fail (the batch is then not acked).
        """
        await self._send.send(batch)
        await batch.done.wait()
        if batch.error is not None:
            raise batch.error

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async with self._receive:
            async for first in self._receive:
                group = [first]
                while len(group) < MAX_GROUP:
                    try:
                        group.append(self._receive.receive_nowait())
                    except anyio.WouldBlock:
                        break
                try:
                    await anyio.to_thread.run_sync(self._write, group)
                except Exception as exc:  # noqa: BLE001 - reported to every waiting servicer
                    log.exception("storing %d batches failed", len(group))
                    for b in group:
                        b.error = exc
                finally:
                    for b in group:
                        b.done.set()
                for name, stream in list(self._subscribers.items()):
                    for b in group:
                        if b.error is not None:
                            continue
                        try:
                            await stream.send(b)
                        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                            log.warning("batch subscriber %s went away", name)
                            del self._subscribers[name]
                            break

    def _write(self, group: list[Batch]) -> None:
        for batch in group:
            agent_beats, plugin_beats = [], []
            for data_type, ts, fields in batch.records:
                if data_type == datatypes.AGENT_HEARTBEAT:
                    agent_beats.append((ts, fields))
                elif data_type == datatypes.PLUGIN_HEARTBEAT:
                    plugin_beats.append((ts, fields))
            if agent_beats or plugin_beats:
                self.store.store_heartbeats(batch.agent_id, agent_beats, plugin_beats)
            if batch.seq:
                self.store.set_last_seq(batch.agent_id, batch.seq)
            self.stored_batches += 1
            self.stored_records += len(batch.records)
