"""Store mixin: the asset inventory, the last snapshot per type, and the change feed.

Deciding *what* a snapshot changes is not the store's business: the caller
(``elkeid.server.assets``) passes a planner that, given the stored items and the
last snapshot row, returns an :class:`AssetPlan`; the store reads, calls it and
writes the plan in one transaction, so a snapshot is applied whole or not at all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Collection

from sqlalchemy import Select, bindparam, delete, func, insert, or_, select, update

from ._agent_filter import AgentFilter, like_escape
from ._engine import NUL_STANDIN
from ._models import Agent, Asset, AssetChange, AssetSnapshot
from ._text import no_nul
from ._upsert import upsert

#: ids per ``IN (...)`` list (under SQLite's 999 bound variables).
_CHUNK = 500
LABEL_LEN = 255


@dataclass
class StoredAsset:
    """What a planner sees of a stored item."""

    id: int
    fields: dict[str, str]
    first_seen: float


@dataclass
class AssetPlan:
    """What one snapshot does to the stored state of one agent and type.

    ``insert`` rows are ``{"key_hash", "label", "fields"}``; ``update`` rows
    ``{"id", "label", "fields"}``; ``touch`` ids were seen unchanged; with
    ``touch_all`` every item left after ``delete`` was seen. ``changes`` are
    ``{"change", "key", "label", "before", "after"}``; ``snapshot`` the
    asset_snapshots row (without the agent and type).
    """

    seen_at: float
    package_seq: str
    insert: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    touch: list[int] = field(default_factory=list)
    touch_all: bool = False
    delete: list[int] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    snapshot: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldCondition:
    """``fields[name] <op> value`` evaluated in SQL: ``eq``, ``ne`` or ``contains`` (case-insensitive)."""

    name: str
    op: str
    value: str


@dataclass
class AssetQuery:
    """Items of one asset type; every given condition must hold."""

    data_type: int
    agents: AgentFilter = field(default_factory=AgentFilter)
    conditions: list[FieldCondition] = field(default_factory=list)
    label_field: str = ""  # the field mirrored in the indexed ``label`` column


@dataclass(frozen=True)
class ChangeFilter:
    agent_id: str | None = None
    data_types: tuple[int, ...] = ()
    changes: tuple[str, ...] = ()
    since: float | None = None
    until: float | None = None


def label_of(value: str | None) -> str | None:
    """The ``label`` column's value: None when absent or too long to index."""
    if value is None or len(value) > LABEL_LEN:
        return None
    return value.replace("\0", NUL_STANDIN)


def _snapshot_dict(row) -> dict[str, Any]:
    return {"package_seq": row.package_seq, "status": row.status, "msg": row.msg, "count": row.count,
            "received": row.received, "taken_at": row.taken_at, "applied_at": row.applied_at, "items": row.items,
            "baseline_at": row.baseline_at}  # fmt: skip


def _condition(q: AssetQuery, c: FieldCondition):
    if c.name == q.label_field and c.op == "eq" and (label := label_of(c.value)) is not None:
        return Asset.label == label  # the indexed column holds the exact value
    value = c.value.replace("\0", NUL_STANDIN)
    expr = Asset.fields[c.name].as_string()
    if c.op == "eq":
        return expr == value
    if c.op == "ne":
        return or_(expr.is_(None), expr != value)
    if c.op == "contains":
        return func.lower(expr).like(f"%{like_escape(value.lower())}%", escape="\\")
    raise ValueError(f"unknown SQL condition {c.op!r}")


class AssetStore:
    # --- applying snapshots -----------------------------------------------------------
    def apply_asset_snapshot(self, agent_id: str, data_type: int,
                             planner: Callable[[dict[str, StoredAsset], dict[str, Any] | None], AssetPlan]) -> AssetPlan:  # fmt: skip
        """Read the stored items and snapshot row, let ``planner`` decide, write its plan; one transaction."""
        where = (Asset.agent_id == agent_id, Asset.data_type == data_type)
        with self.engine.begin() as conn:  # type: ignore[attr-defined]
            existing = {row.key_hash: StoredAsset(row.id, row.fields, row.first_seen) for row in
                        conn.execute(select(Asset.id, Asset.key_hash, Asset.fields, Asset.first_seen).where(*where))}  # fmt: skip
            snap = conn.execute(select(AssetSnapshot).where(AssetSnapshot.agent_id == agent_id,
                                                            AssetSnapshot.data_type == data_type)).first()  # fmt: skip
            plan = planner(existing, _snapshot_dict(snap) if snap else None)
            at, seq = plan.seen_at, plan.package_seq
            for i in range(0, len(plan.delete), _CHUNK):
                conn.execute(delete(Asset).where(Asset.id.in_(plan.delete[i : i + _CHUNK])))
            if plan.update:
                conn.execute(
                    update(Asset).where(Asset.id == bindparam("_id")).values(
                        fields=bindparam("_fields", type_=Asset.__table__.c.fields.type), label=bindparam("_label"),
                        last_seen=at, package_seq=seq),
                    [{"_id": u["id"], "_fields": u["fields"], "_label": u["label"]} for u in plan.update],
                )  # fmt: skip
            if plan.touch_all:
                conn.execute(update(Asset).where(*where).values(last_seen=at, package_seq=seq))
            else:
                for i in range(0, len(plan.touch), _CHUNK):
                    conn.execute(update(Asset).where(Asset.id.in_(plan.touch[i : i + _CHUNK]))
                                 .values(last_seen=at, package_seq=seq))  # fmt: skip
            if plan.insert:
                conn.execute(insert(Asset), [{"agent_id": agent_id, "data_type": data_type, "first_seen": at,
                                              "last_seen": at, "package_seq": seq, **row} for row in plan.insert])  # fmt: skip
            if plan.changes:
                conn.execute(insert(AssetChange), [{"agent_id": agent_id, "data_type": data_type, "at": at,
                                                    "package_seq": seq, **c} for c in plan.changes])  # fmt: skip
            items = conn.scalar(select(func.count()).select_from(Asset).where(*where)) or 0
            row = {"agent_id": agent_id, "data_type": data_type, **plan.snapshot, "items": items}
            row["msg"] = no_nul(row.get("msg", ""))[:1024]
            row["applied_at"] = time.time()
            upsert(conn, AssetSnapshot.__table__, [row], ["agent_id", "data_type"])
        return plan

    # --- reading the inventory ----------------------------------------------------------
    def _asset_select(self, q: AssetQuery) -> Select:
        # Columns, not ORM objects: a comparison search reads up to max_scan rows.
        stmt = (select(*_ASSET_COLUMNS, Agent.hostname).join(Agent, Agent.id == Asset.agent_id)
                .where(Asset.data_type == q.data_type, *q.agents.clauses(time.time()),
                       *(_condition(q, c) for c in q.conditions)))  # fmt: skip
        return stmt

    def search_assets(self, q: AssetQuery, *, offset: int = 0, limit: int = 100,
                      predicate: Callable[[dict[str, str]], bool] | None = None,
                      max_scan: int = 100_000) -> tuple[list[dict[str, Any]], int, int, bool]:  # fmt: skip
        """One page of items matching ``q`` (and ``predicate``, evaluated here, when given).

        Ordered by host name, agent id, label, id. Returns (items, total, hosts,
        complete): ``hosts`` is how many agents hold a match; ``complete`` is False
        when ``predicate`` needed more than ``max_scan`` candidate rows (the
        counts then cover only those).
        """
        stmt = self._asset_select(q)
        order = (Agent.hostname, Asset.agent_id, Asset.label, Asset.id)
        with self.session() as s:  # type: ignore[attr-defined]
            if predicate is None:
                sub = stmt.with_only_columns(Asset.agent_id).subquery()
                total, hosts = s.execute(select(func.count(), func.count(func.distinct(sub.c.agent_id)))).one()
                rows = s.execute(stmt.order_by(*order).offset(offset).limit(limit)).all()
                return [_asset_dict(r) for r in rows], total, hosts, True
            items, total, agents, scanned = [], 0, set(), 0
            result = s.execute(stmt.order_by(*order).limit(max_scan + 1).execution_options(yield_per=1000))
            try:  # a server-side cursor on PostgreSQL: closed even when we stop early
                for row in result:
                    scanned += 1
                    if scanned > max_scan:
                        return items, total, len(agents), False
                    if not predicate(row.fields):
                        continue
                    if offset <= total < offset + limit:
                        items.append(_asset_dict(row))
                    total += 1
                    agents.add(row.agent_id)
            finally:
                result.close()
            return items, total, len(agents), True

    def asset_snapshots(self, agent_id: str) -> dict[int, dict[str, Any]]:
        """The last snapshot applied per asset type for one agent."""
        with self.session() as s:  # type: ignore[attr-defined]
            rows = s.scalars(select(AssetSnapshot).where(AssetSnapshot.agent_id == agent_id))
            return {r.data_type: _snapshot_dict(r) for r in rows}

    def asset_summary(self, agent_id: str | None = None, since: float | None = None) -> dict[int, dict[str, Any]]:
        """Per asset type: items, agents holding some, snapshots by status, changes since ``since``."""
        out: dict[int, dict[str, Any]] = {}

        def entry(dt: int) -> dict[str, Any]:
            return out.setdefault(dt, {"items": 0, "agents": 0, "snapshots": {"complete": 0, "partial": 0, "failed": 0},
                                       "last_taken_at": None, "changes": 0})  # fmt: skip

        with self.session() as s:  # type: ignore[attr-defined]
            stmt = select(Asset.data_type, func.count(), func.count(func.distinct(Asset.agent_id)))
            if agent_id is not None:
                stmt = stmt.where(Asset.agent_id == agent_id)
            for dt, items, agents in s.execute(stmt.group_by(Asset.data_type)):
                entry(dt).update(items=items, agents=agents)
            stmt = select(AssetSnapshot.data_type, AssetSnapshot.status, func.count(), func.max(AssetSnapshot.taken_at))
            if agent_id is not None:
                stmt = stmt.where(AssetSnapshot.agent_id == agent_id)
            for dt, status, n, last in s.execute(stmt.group_by(AssetSnapshot.data_type, AssetSnapshot.status)):
                e = entry(dt)
                e["snapshots"][status] = e["snapshots"].get(status, 0) + n
                e["last_taken_at"] = max(e["last_taken_at"] or 0, last or 0) or None
            stmt = select(AssetChange.data_type, func.count())
            if agent_id is not None:
                stmt = stmt.where(AssetChange.agent_id == agent_id)
            if since is not None:
                stmt = stmt.where(AssetChange.at >= since)
            for dt, n in s.execute(stmt.group_by(AssetChange.data_type)):
                entry(dt)["changes"] = n
        return out

    # --- the change feed ----------------------------------------------------------------
    def list_asset_changes(self, flt: ChangeFilter, *, offset: int = 0,
                           limit: int = 100) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
        """Changes matching ``flt``, newest first, and their total."""
        where = []
        if flt.agent_id is not None:
            where.append(AssetChange.agent_id == flt.agent_id)
        if flt.data_types:
            where.append(AssetChange.data_type.in_(flt.data_types))
        if flt.changes:
            where.append(AssetChange.change.in_(flt.changes))
        if flt.since is not None:
            where.append(AssetChange.at >= flt.since)
        if flt.until is not None:
            where.append(AssetChange.at <= flt.until)
        with self.session() as s:  # type: ignore[attr-defined]
            total = s.scalar(select(func.count()).select_from(AssetChange).where(*where)) or 0
            rows = s.execute(
                select(AssetChange, Agent.hostname).outerjoin(Agent, Agent.id == AssetChange.agent_id).where(*where)
                .order_by(AssetChange.id.desc()).offset(offset).limit(limit)
            ).all()  # fmt: skip
            return [_change_dict(c, h) for c, h in rows], total

    def prune_asset_changes(self, older_than: float, chunk: int = 5000) -> int:
        """Delete changes from before ``older_than`` (unix seconds), in short transactions."""
        deleted = 0
        while True:
            with self.engine.begin() as conn:  # type: ignore[attr-defined]
                ids = list(conn.scalars(select(AssetChange.id).where(AssetChange.at < older_than).limit(chunk)))
                if not ids:
                    return deleted
                for i in range(0, len(ids), _CHUNK):
                    deleted += conn.execute(delete(AssetChange).where(AssetChange.id.in_(ids[i : i + _CHUNK]))).rowcount

    def count_assets(self, agent_id: str, data_types: Collection[int] = ()) -> int:
        stmt = select(func.count()).select_from(Asset).where(Asset.agent_id == agent_id)
        if data_types:
            stmt = stmt.where(Asset.data_type.in_(list(data_types)))
        with self.session() as s:  # type: ignore[attr-defined]
            return s.scalar(stmt) or 0


_ASSET_COLUMNS = (Asset.agent_id, Asset.data_type, Asset.fields, Asset.first_seen, Asset.last_seen, Asset.package_seq)


def _asset_dict(row) -> dict[str, Any]:
    return {"agent_id": row.agent_id, "hostname": row.hostname or "", "data_type": row.data_type, "fields": row.fields,
            "first_seen": row.first_seen, "last_seen": row.last_seen, "package_seq": row.package_seq}  # fmt: skip


def _change_dict(c: AssetChange, hostname: str | None) -> dict[str, Any]:
    return {"id": c.id, "agent_id": c.agent_id, "hostname": hostname or "", "data_type": c.data_type,
            "change": c.change, "key": c.key, "before": c.before, "after": c.after, "at": c.at,
            "package_seq": c.package_seq}  # fmt: skip
