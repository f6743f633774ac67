"""Assembling snapshots from the record stream: records wait per (agent, data_type, package_seq)
until the snapshot's 5101 marker arrives, possibly several batches later.

Memory is bounded (the limits below); what does not fit, or waits too long, is
dropped and counted in :attr:`Assembler.stats`:

- ``dropped_stale``: no record for STALE_AFTER seconds and no marker (the plugin died mid-snapshot);
- ``dropped_superseded``: a newer snapshot of the same agent and type began (its marker was lost);
- ``dropped_overflow``: over MAX_PENDING_RECORDS or MAX_PENDING_PER_AGENT, the oldest go first;
- ``records_over_limit``: records past MAX_RECORDS_PER_SNAPSHOT (the snapshot is then merged, never replaces);
- ``unmarked_records``: asset records without a package_seq (cannot be assembled);
- ``bad_markers``: 5101 records that name no inventory type, no package_seq, or a bad count or status.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from elkeid import datatypes
from elkeid.server.store import NUL_STANDIN

from ._policy import POLICIES
from ._snapshot import Snapshot

log = logging.getLogger(__name__)

MAX_RECORDS_PER_SNAPSHOT = 100_000
MAX_PENDING_RECORDS = 500_000
MAX_PENDING_PER_AGENT = 32
STALE_AFTER = 600.0
STATUSES = ("complete", "partial", "failed")
_SEQ_LEN = 64


@dataclass
class _Pending:
    records: list[dict[str, str]] = field(default_factory=list)
    over_limit: int = 0
    last: float = 0.0


def _text(value: str) -> str:
    # As the database will hold it (PostgreSQL has no NUL), so a stored item compares equal to its next sighting.
    return value.replace("\0", NUL_STANDIN) if "\0" in value else value


class Assembler:
    """Collects asset records per snapshot; :meth:`feed` returns a :class:`Snapshot` when its marker arrives."""

    def __init__(self, *, max_records_per_snapshot: int = MAX_RECORDS_PER_SNAPSHOT,
                 max_pending_records: int = MAX_PENDING_RECORDS, max_pending_per_agent: int = MAX_PENDING_PER_AGENT,
                 stale_after: float = STALE_AFTER, clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.max_records_per_snapshot = max_records_per_snapshot
        self.max_pending_records = max_pending_records
        self.max_pending_per_agent = max_pending_per_agent
        self.stale_after = stale_after
        self.clock = clock
        # (agent_id, data_type, package_seq) -> _Pending, oldest first
        self._pending: dict[tuple[str, int, str], _Pending] = {}
        self._records = 0
        self.stats = dict.fromkeys(("snapshots", "dropped_stale", "dropped_superseded", "dropped_overflow",
                                    "records_over_limit", "unmarked_records", "bad_markers", "incomplete"), 0)  # fmt: skip

    @property
    def pending_snapshots(self) -> int:
        return len(self._pending)

    @property
    def pending_records(self) -> int:
        return self._records

    def feed(self, agent_id: str, data_type: int, timestamp: int, fields: dict[str, str]) -> Snapshot | None:
        """Take one record of an agent's stream, in stream order."""
        if data_type == datatypes.ASSET_SNAPSHOT:
            return self._marker(agent_id, timestamp, fields)
        if data_type in POLICIES:
            self._record(agent_id, data_type, fields)
        return None

    def expire(self) -> int:
        """Drop assemblies without a record for ``stale_after`` seconds; how many."""
        cutoff = self.clock() - self.stale_after
        stale = [k for k, p in self._pending.items() if p.last < cutoff]
        for k in stale:
            log.warning("dropping snapshot %s of %s for agent %s: no marker within %.0fs", k[2], k[1], k[0],
                        self.stale_after)  # fmt: skip
            self._drop(k, "dropped_stale")
        return len(stale)

    def _drop(self, key: tuple[str, int, str], reason: str) -> None:
        pending = self._pending.pop(key)
        self._records -= len(pending.records)
        self.stats[reason] += 1

    def _record(self, agent_id: str, data_type: int, fields: dict[str, str]) -> None:
        seq = fields.get("package_seq", "")
        if not seq or len(seq) > _SEQ_LEN:
            self.stats["unmarked_records"] += 1
            return
        key = (agent_id, data_type, seq)
        pending = self._pending.get(key)
        if pending is None:
            for other in [k for k in self._pending if k[0] == agent_id and k[1] == data_type]:
                self._drop(other, "dropped_superseded")
            mine = [k for k in self._pending if k[0] == agent_id]
            while len(mine) >= self.max_pending_per_agent:
                self._drop(mine.pop(0), "dropped_overflow")
            pending = self._pending[key] = _Pending()
        pending.last = self.clock()
        if len(pending.records) >= self.max_records_per_snapshot:
            pending.over_limit += 1
            self.stats["records_over_limit"] += 1
            return
        pending.records.append({_text(k): _text(v) for k, v in fields.items() if k != "package_seq"})
        self._records += 1
        while self._records > self.max_pending_records:
            oldest = next(iter(self._pending))
            log.warning("asset assembly over %d records: dropping snapshot %s of agent %s", self.max_pending_records,
                        oldest[2], oldest[0])  # fmt: skip
            self._drop(oldest, "dropped_overflow")

    def _marker(self, agent_id: str, timestamp: int, fields: dict[str, str]) -> Snapshot | None:
        dt, seq, count, status = (fields.get(k, "") for k in ("data_type", "package_seq", "count", "status"))
        if (not dt.isdigit() or len(dt) > 9 or int(dt) not in POLICIES or not seq or len(seq) > _SEQ_LEN
                or not count.isdigit() or len(count) > 9 or status not in STATUSES):  # fmt: skip
            self.stats["bad_markers"] += 1
            log.debug("agent %s sent a 5101 marker the inventory cannot use: %r", agent_id, fields)
            return None
        pending = self._pending.pop((agent_id, int(dt), seq), None) or _Pending()
        self._records -= len(pending.records)
        self.stats["snapshots"] += 1
        snap = Snapshot(agent_id=agent_id, data_type=int(dt), package_seq=seq, status=status, mode="keep",
                        taken_at=float(timestamp), count=int(count), msg=fields.get("msg", "")[:1024],
                        records=pending.records, received=len(pending.records) + pending.over_limit)  # fmt: skip
        if status == "partial":
            snap.mode = "merge"
        elif status == "complete":
            if pending.over_limit or len(pending.records) != snap.count:
                # Records went missing (a server restart mid-snapshot) or did not fit: removing
                # items on the strength of an incomplete list would invent removals.
                self.stats["incomplete"] += 1
                snap.mode = "merge"
                snap.msg = (f"the server assembled {snap.received} of {snap.count} records "
                            f"(kept {len(snap.records)}); applied as partial")  # fmt: skip
            else:
                snap.mode = "replace"
        return snap
