"""The batching writer: one task that makes every ingest write."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from elkeid.server.store import Store

from ._streams import send_soon
from .errors import StorageFailed

log = logging.getLogger(__name__)

#: Batches waiting for the writer before servicers block (backpressure).
QUEUE_SIZE = 1024
#: Most batches, and about the most records, folded into one transaction.
MAX_GROUP = 512
MAX_GROUP_RECORDS = 50_000


@dataclass(eq=False)
class Chain:
    """The batches of one agent stream, which must be stored in order or not at all.

    Once one of them fails, the later ones fail too without being written:
    storing seq k+1 after losing seq k would make the agent's resend of k
    look like a replay, and k would be lost.
    """

    failed: bool = False


@dataclass(eq=False)
class Batch:
    """One PackagedData, decoded: ``records`` are (data_type, timestamp, fields).

    After :meth:`BatchWriter.submit` returns, ``replayed`` tells whether the
    batch had been stored before (its seq was already acknowledged) and was dropped.
    """

    agent_id: str
    seq: int
    records: list[tuple[int, int, dict[str, str]]]
    received_at: float = field(default_factory=time.time)
    done: anyio.Event = field(default_factory=anyio.Event)
    error: BaseException | None = None
    replayed: bool = False
    chain: Chain | None = None


class BatchWriter:
    """Collects batches from all streams and stores them from one worker thread, in arrival order.

    Every transaction takes whatever batches are waiting (up to MAX_GROUP
    batches / about MAX_GROUP_RECORDS records), so under load one commit (one
    fsync) covers many agents' batches, and when idle a batch is written alone
    without waiting.

    Error handling: when a grouped transaction fails, each of its batches is
    tried alone, so one batch the database refuses fails only its own stream
    (which then gets no ack and resends later), never its neighbours.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._send, self._receive = anyio.create_memory_object_stream[Batch](QUEUE_SIZE)
        self._subscribers: dict[str, MemoryObjectSendStream[Batch]] = {}
        self.stored_batches = 0
        self.stored_records = 0
        self.replayed_batches = 0
        self.failed_batches = 0
        self.transactions = 0

    def subscribe(self, name: str, buffer: int = 1024) -> MemoryObjectReceiveStream[Batch]:
        """A stream of every batch once it is durable (rule engine, task results, Kafka ...).

        Replayed batches are not delivered again. Delivery waits when a
        subscriber's buffer is full, so a consumer that stalls slows ingest
        rather than losing batches: consumers must keep up.
        """
        if name in self._subscribers:
            raise ValueError(f"a subscriber named {name!r} already exists")
        send, receive = anyio.create_memory_object_stream[Batch](buffer)
        self._subscribers[name] = send
        return receive

    async def enqueue(self, batch: Batch) -> None:
        """Queue ``batch`` (waiting only while the queue is full); ``batch.done`` is set once it is
        durable, found to be a replay, or failed (``batch.error``)."""
        await send_soon(self._send, batch)

    async def submit(self, batch: Batch) -> None:
        """Queue ``batch`` and wait until it is durable (or found to be a replay).

        Raises:
            StorageFailed: the write failed (the batch is then not acked).
        """
        await self._send.send(batch)
        await batch.done.wait()
        if batch.error is not None:
            raise batch.error

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        try:
            await self._run()
        finally:
            self._send.close()
            for stream in self._subscribers.values():
                stream.close()

    async def _run(self) -> None:
        async with self._receive:
            async for first in self._receive:
                group, records = [first], len(first.records)
                while len(group) < MAX_GROUP and records < MAX_GROUP_RECORDS:
                    try:
                        batch = self._receive.receive_nowait()
                    except anyio.WouldBlock:
                        break
                    group.append(batch)
                    records += len(batch.records)
                try:
                    await anyio.to_thread.run_sync(self._write, group)
                finally:
                    for b in group:
                        b.done.set()
                await self._publish([b for b in group if b.error is None and not b.replayed])

    def _write(self, group: list[Batch]) -> None:
        if any(b.chain is not None and b.chain.failed for b in group):
            for b in group:
                if b.chain is not None and b.chain.failed:
                    self._failed(b, RuntimeError("an earlier batch of the same stream failed"))
            group = [b for b in group if b.error is None]
            if not group:
                return
        try:
            kept = self.store.store_batches(group)
        except Exception as exc:  # noqa: BLE001 - retried batch by batch below
            if len(group) == 1:
                log.exception("storing a batch of agent %s (seq %d) failed", group[0].agent_id, group[0].seq)
                self._failed(group[0], exc)
                return
            log.warning("storing %d batches together failed; storing them one by one", len(group), exc_info=True)
            for batch in group:
                if batch.chain is not None and batch.chain.failed:
                    self._failed(batch, RuntimeError("an earlier batch of the same stream failed"))
                else:
                    self._write([batch])
            return
        self.transactions += 1
        for batch, new in zip(group, kept):
            batch.replayed = not new
            if new:
                self.stored_batches += 1
                self.stored_records += len(batch.records)
            else:
                self.replayed_batches += 1

    def _failed(self, batch: Batch, cause: Exception) -> None:
        self.failed_batches += 1
        if batch.chain is not None:
            batch.chain.failed = True
        batch.error = StorageFailed(f"storing batch seq {batch.seq} of agent {batch.agent_id} failed "
                                    f"({type(cause).__name__}); it was not acknowledged and the agent will resend it")  # fmt: skip
        batch.error.__cause__ = cause

    async def _publish(self, stored: list[Batch]) -> None:
        for name, stream in list(self._subscribers.items()):
            for b in stored:
                try:
                    await send_soon(stream, b)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    log.warning("batch subscriber %s went away", name)
                    del self._subscribers[name]
                    break

