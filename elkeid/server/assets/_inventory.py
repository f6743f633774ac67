"""The inventory service: durable batches in, snapshots applied, changes out to the feed and the rule engine.

It subscribes to the batching writer (``ctx.writer.subscribe("assets")``), so it
sees every record once it is durable, in each agent's stream order. Asset
records wait in the :class:`~._assembler.Assembler` until their snapshot's 5101
marker; the snapshot is then applied in one transaction (``Store.apply_asset_snapshot``
with :func:`~._snapshot.plan_snapshot`), and its changes are sent to the rule
engine as derived records: ``Batch(agent_id, seq=0, records=[(data_type,
timestamp, fields)])`` on ``ctx.derived[0]``, where ``fields`` are the item's
plus ``change`` and, for a changed item, ``previous_<field>``.

Error handling: a database error while applying a snapshot is logged and that
snapshot is skipped (the next one of that type repairs the state; its changes
are then reported against the older state). When the rule engine does not take
derived records within DERIVED_WAIT seconds they are dropped and counted (they
stay in the change feed): ingest must not stall behind a stuck consumer.
"""

from __future__ import annotations

import functools
import logging
import time

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream
from sqlalchemy.exc import SQLAlchemyError

from elkeid.server.pipeline import Batch, each_soon
from elkeid.server.store import AssetPlan, StoreError

from ._assembler import Assembler
from ._policy import POLICIES
from ._snapshot import Snapshot, derived_fields, plan_snapshot

log = logging.getLogger(__name__)

SUBSCRIBER_BUFFER = 1024
#: Seconds to wait for room in the derived stream before dropping a snapshot's change records.
DERIVED_WAIT = 10.0
#: Change feed entries older than this are deleted (checked every PRUNE_EVERY seconds).
CHANGE_RETENTION = 90 * 86400.0
PRUNE_EVERY = 3600.0
TRANSIENT = (SQLAlchemyError, StoreError, OSError)


class AssetInventory:
    """Keeps the server's asset inventory and change feed up to date (see the module docstring)."""

    def __init__(self, ctx, *, change_retention: float = CHANGE_RETENTION) -> None:
        self.ctx = ctx
        self.assembler = Assembler()
        self.change_retention = change_retention
        self.stats = dict.fromkeys(("applied", "apply_failed", "changes", "derived_sent", "derived_dropped"), 0)

    async def run(self, *, task_status: TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; started once subscribed to the durable batches."""
        batches = self.ctx.writer.subscribe("assets", SUBSCRIBER_BUFFER)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.consume, batches)
            tg.start_soon(self._prune_changes)
            task_status.started()

    async def consume(self, batches: MemoryObjectReceiveStream[Batch]) -> None:
        async with batches:
            async for batch in each_soon(batches):
                for data_type, ts, fields in batch.records:
                    snap = self.assembler.feed(batch.agent_id, data_type, ts, fields)
                    if snap is not None:
                        await self.apply(snap)
                self.assembler.expire()

    async def apply(self, snap: Snapshot) -> AssetPlan | None:
        """Apply one assembled snapshot and send its changes on; None if the database failed."""
        policy = POLICIES[snap.data_type]
        planner = functools.partial(plan_snapshot, policy, snap)
        try:
            plan = await anyio.to_thread.run_sync(self.ctx.store.apply_asset_snapshot, snap.agent_id, snap.data_type,
                                                  planner)  # fmt: skip
        except TRANSIENT:
            self.stats["apply_failed"] += 1
            log.exception("applying the %s snapshot %s of agent %s failed; the next one will repair the state",
                          policy.name, snap.package_seq, snap.agent_id)  # fmt: skip
            return None
        self.stats["applied"] += 1
        if plan.changes:
            self.stats["changes"] += len(plan.changes)
            records = [(snap.data_type, int(snap.taken_at), derived_fields(policy, c, snap.package_seq))
                       for c in plan.changes]  # fmt: skip
            await self._derive(Batch(agent_id=snap.agent_id, seq=0, records=records))
        return plan

    async def _derive(self, batch: Batch) -> None:
        send = self.ctx.derived[0]
        try:
            try:
                send.send_nowait(batch)
            except anyio.WouldBlock:
                with anyio.move_on_after(DERIVED_WAIT):
                    await send.send(batch)
                    self.stats["derived_sent"] += len(batch.records)
                    return
                self.stats["derived_dropped"] += len(batch.records)
                log.warning("the rule engine took no derived records for %.0fs: dropped %d asset change(s) of agent "
                            "%s (they are in the change feed)", DERIVED_WAIT, len(batch.records), batch.agent_id)  # fmt: skip
                return
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            self.stats["derived_dropped"] += len(batch.records)
            log.warning("the derived-record stream is closed: %d asset change(s) not sent", len(batch.records))
            return
        self.stats["derived_sent"] += len(batch.records)

    async def _prune_changes(self) -> None:
        while True:
            await anyio.sleep(PRUNE_EVERY)
            try:
                n = await anyio.to_thread.run_sync(self.ctx.store.prune_asset_changes,
                                                   time.time() - self.change_retention)  # fmt: skip
            except TRANSIENT:
                log.exception("pruning the asset change feed failed; retrying in %.0fs", PRUNE_EVERY)
                continue
            if n:
                log.info("asset change feed: deleted %d change(s) older than %.0f days", n,
                         self.change_retention / 86400)  # fmt: skip
