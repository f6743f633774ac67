"""Storing agent batches: every record into the recent-event store, heartbeats and
acknowledged sequence numbers beside it, many batches in one transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol, Sequence

from sqlalchemy import bindparam, select, update

from elkeid import datatypes

from ._engine import NUL_STANDIN, dumps_json
from ._models import EVENT_EXE_LEN, EVENT_PID_LEN, Agent, AgentSeq, PluginHeartbeat
from ._upsert import upsert


class IngestBatch(Protocol):
    """What :meth:`IngestMixin.store_batches` reads from a batch (the pipeline's ``Batch``)."""

    agent_id: str
    seq: int
    received_at: float
    records: list[tuple[int, int, dict[str, str]]]


def clean_text(value: str, limit: int) -> str | None:
    """``value`` for an indexed text column: None when too long, NUL replaced."""
    if len(value) > limit:
        return None
    return value.replace("\0", NUL_STANDIN) if "\0" in value else value


#: Rows per multi-row INSERT. Python's sqlite3 releases and re-takes the GIL
#: around every statement step, so one step per row makes the writer thread
#: queue for the GIL behind the event loop thousands of times per commit; one
#: statement for many rows takes it once. Power-of-two pieces keep the number
#: of distinct statements (and so the statement cache) small; 128 rows x 7
#: columns stays under the 999 variables of older SQLite builds.
ROWS_PER_INSERT = 128
_COPY_EVENTS = "COPY events (agent_id, data_type, timestamp, received_at, pid, exe, fields) FROM STDIN"


@cache
def _insert_events_sql(dialect: str, rows: int) -> str:
    if dialect == "postgresql":
        one = "(%s, %s, %s, %s, %s, %s, %s::jsonb)"
    else:
        one = "(?, ?, ?, ?, ?, ?, ?)"
    return ("INSERT INTO events (agent_id, data_type, timestamp, received_at, pid, exe, fields) VALUES "
            + ", ".join([one] * rows))  # fmt: skip


def insert_events(conn, rows: list[tuple]) -> None:
    """Insert event rows (tuples in column order) with few statements (see ROWS_PER_INSERT)."""
    dialect = conn.dialect.name
    cursor = conn.connection.dbapi_connection.cursor()
    if dialect == "postgresql":
        # COPY streams rows without per-parameter round trips through the driver.
        with cursor, cursor.copy(_COPY_EVENTS) as copy:
            for row in rows:
                copy.write_row(row)
        return
    try:
        start, n = 0, len(rows)
        while start < n:
            size = ROWS_PER_INSERT if n - start >= ROWS_PER_INSERT else 1 << ((n - start).bit_length() - 1)
            params = [value for row in rows[start : start + size] for value in row]
            cursor.execute(_insert_events_sql(dialect, size), params)
            start += size
    finally:
        cursor.close()


class IngestMixin:
    """Store methods for the batching writer (see ``elkeid.server.pipeline``)."""

    def store_heartbeats(
        self,
        agent_id: str,
        agent_beats: Sequence[tuple[int, dict[str, str]]],
        plugin_beats: Sequence[tuple[int, dict[str, str]]],
    ) -> None:
        """Store heartbeats (1000 / 1001) outside a stream, e.g. from an import or a test.

        The same path as a streamed batch (kept as events, latest kept per agent
        and plugin), without a seq.
        """
        records = [(1000, ts, dict(f)) for ts, f in agent_beats] + [(1001, ts, dict(f)) for ts, f in plugin_beats]
        self.store_batches([_LooseBatch(agent_id, 0, time.time(), records)])

    def store_batches(self, batches: Sequence[IngestBatch]) -> list[bool]:
        """Store ``batches`` in one transaction, in order.

        A batch whose ``seq`` is not above the agent's last stored seq is a
        replay: it is skipped (False in the result), the rest are stored (True).
        The check runs inside the transaction, so two streams of one agent (a
        reconnect racing its old stream) cannot store a batch twice.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the transaction failed; nothing of it is stored.
        """
        kept: list[bool] = []
        events = []
        new_seq: dict[str, int] = {}
        last_beat: dict[str, tuple[float, dict[str, str]]] = {}
        plugin_beats: dict[tuple[str, str], dict[str, Any]] = {}
        seen: dict[str, float] = {}
        with self.engine.begin() as conn:  # type: ignore[attr-defined]
            agent_ids = {b.agent_id for b in batches if b.seq}
            last: dict[str, int] = {}
            if agent_ids:
                stmt = select(AgentSeq.agent_id, AgentSeq.last_seq).where(AgentSeq.agent_id.in_(agent_ids))
                last = {aid: seq for aid, seq in conn.execute(stmt)}
            for b in batches:
                if b.seq:
                    if b.seq <= last.get(b.agent_id, 0):
                        kept.append(False)
                        continue
                    last[b.agent_id] = new_seq[b.agent_id] = b.seq
                kept.append(True)
                seen[b.agent_id] = b.received_at
                aid, at = b.agent_id, b.received_at
                for data_type, ts, fields in b.records:
                    pid, exe = fields.get("pid"), fields.get("exe")
                    events.append((aid, data_type, ts, at, clean_text(pid, EVENT_PID_LEN) if pid else None,
                                   clean_text(exe, EVENT_EXE_LEN) if exe else None, dumps_json(fields)))  # fmt: skip
                    if data_type == datatypes.AGENT_HEARTBEAT:
                        last_beat[b.agent_id] = (b.received_at, fields)
                    elif data_type == datatypes.PLUGIN_HEARTBEAT:
                        name = clean_text(fields.get("name", ""), 64)
                        if name:
                            plugin_beats[(b.agent_id, name)] = {"agent_id": b.agent_id, "name": name, "fields": fields,
                                                                "received_at": b.received_at}  # fmt: skip
            if events:
                # The hot path: plain tuples and JSON text straight to the driver
                # (SQLAlchemy's per-row parameter processing would cost more than
                # the insert itself), in the transaction of ``conn``.
                insert_events(conn, events)
            if last_beat:
                conn.execute(
                    update(Agent).where(Agent.id == bindparam("aid")).values(
                        last_heartbeat=bindparam("hb", type_=Agent.__table__.c.last_heartbeat.type),
                        last_heartbeat_at=bindparam("at"),
                    ),
                    [{"aid": aid, "hb": fields, "at": at} for aid, (at, fields) in last_beat.items()],
                )  # fmt: skip
            if seen:
                conn.execute(update(Agent).where(Agent.id == bindparam("aid")).values(last_seen=bindparam("at")),
                             [{"aid": aid, "at": at} for aid, at in seen.items()])  # fmt: skip
            upsert(conn, PluginHeartbeat.__table__, list(plugin_beats.values()), ["agent_id", "name"])
            upsert(conn, AgentSeq.__table__,
                   [{"agent_id": aid, "last_seq": seq, "updated_at": seen[aid]} for aid, seq in new_seq.items()],
                   ["agent_id"])  # fmt: skip
        return kept


@dataclass
class _LooseBatch:
    agent_id: str
    seq: int
    received_at: float
    records: list[tuple[int, int, dict[str, str]]]
