"""The recent-event store: search (newest first, cursor paging) and retention."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select

from ._engine import NUL_STANDIN
from ._ingest import clean_text
from ._models import EVENT_EXE_LEN, EVENT_PID_LEN, Event

#: Fields copied into indexed columns at ingest, and how long a value may be to be there.
INDEXED_FIELDS = {"pid": (Event.pid, EVENT_PID_LEN), "exe": (Event.exe, EVENT_EXE_LEN)}


@dataclass
class EventQuery:
    """A search of the recent-event store; every condition given must hold."""

    agent_id: str | None = None
    data_types: list[int] = field(default_factory=list)
    since: float | None = None  # event timestamp >= since (unix seconds)
    until: float | None = None  # event timestamp <= until
    fields: dict[str, str] = field(default_factory=dict)  # field name -> exact value
    before_id: int | None = None  # the cursor: only events older than this id
    limit: int = 100


def event_dict(row: Event) -> dict[str, Any]:
    return {"id": row.id, "agent_id": row.agent_id, "data_type": row.data_type, "timestamp": row.timestamp,
            "received_at": row.received_at, "fields": row.fields}  # fmt: skip


class EventsMixin:
    """Store methods over the ``events`` table."""

    def search_events(self, q: EventQuery) -> tuple[list[dict[str, Any]], int | None]:
        """Events matching ``q``, newest (highest id) first, and the cursor of the next page.

        Field conditions on ``pid`` and ``exe`` use their indexed columns; any
        other field is matched through JSON path access (``->>`` on PostgreSQL,
        ``json_extract`` on SQLite), with the name and value as bound parameters.
        """
        stmt = select(Event)
        if q.agent_id is not None:
            stmt = stmt.where(Event.agent_id == q.agent_id)
        if q.data_types:
            stmt = stmt.where(Event.data_type.in_(q.data_types))
        if q.since is not None:
            stmt = stmt.where(Event.timestamp >= q.since)
        if q.until is not None:
            stmt = stmt.where(Event.timestamp <= q.until)
        if q.before_id is not None:
            stmt = stmt.where(Event.id < q.before_id)
        for name, value in q.fields.items():
            value = value.replace("\0", NUL_STANDIN)  # as stored (see dumps_json)
            column = INDEXED_FIELDS.get(name)
            if column is not None and (indexed := clean_text(value, column[1])) is not None:
                stmt = stmt.where(column[0] == indexed)
            else:
                stmt = stmt.where(Event.fields[name].as_string() == value)
        stmt = stmt.order_by(Event.id.desc()).limit(q.limit + 1)
        with self.session() as s:  # type: ignore[attr-defined]
            rows = list(s.scalars(stmt))
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        return [event_dict(r) for r in rows], (rows[-1].id if more and rows else None)

    def count_events(self, agent_id: str | None = None) -> int:
        stmt = select(func.count()).select_from(Event)
        if agent_id is not None:
            stmt = stmt.where(Event.agent_id == agent_id)
        with self.session() as s:  # type: ignore[attr-defined]
            return s.scalar(stmt) or 0

    def prune_events(self, older_than: float, max_rows: int, chunk: int = 5000) -> int:
        """Delete events received before ``older_than`` and, beyond ``max_rows``, the oldest.

        Works in short transactions of at most ``chunk`` rows so the ingest
        writer is never held up long. Ids grow with arrival, so "oldest" walks
        the primary key from the bottom; the size cap is kept by id distance
        from the newest id (ids never repeat, so at most ``max_rows`` remain).
        Returns how many rows were deleted.
        """
        deleted = 0
        while True:
            with self.engine.begin() as conn:  # type: ignore[attr-defined]
                newest = conn.scalar(select(func.max(Event.id)))
                if newest is None:
                    return deleted
                oldest = conn.execute(select(Event.id, Event.received_at).order_by(Event.id).limit(chunk)).all()
                # Old by age: the leading run of rows received before the cutoff.
                cut = 0
                for _id, received in oldest:
                    if received >= older_than:
                        break
                    cut = _id
                # Beyond the cap: every id at or below newest - max_rows.
                cut = max(cut, min(newest - max_rows, oldest[-1][0]))
                if cut < oldest[0][0]:
                    return deleted
                deleted += conn.execute(delete(Event).where(Event.id <= cut)).rowcount
