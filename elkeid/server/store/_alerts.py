"""Store mixin: alerts, their triage history, and the figures the console's overview shows.

The store does not judge triage: :meth:`AlertStore.set_alert_status` moves an
alert only if it still has the status the caller saw (a conditional UPDATE), so
two analysts acting at once cannot both succeed; which moves are allowed is the
rule engine's business (``elkeid.server.engine.TRANSITIONS``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import Integer, cast, func, insert, select, update

from elkeid import datatypes

from ._models import EVENT_PID_LEN, Agent, AlertHistory, AlertRow, Event
from ._text import no_nul
from .errors import Conflict, NotFound

SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
#: Every status an alert can have (the engine's ``STATUSES``), in triage order.
ALERT_STATUSES = ("open", "acknowledged", "resolved", "false_positive")
#: Statuses whose alert still counts repeats (an ended alert is re-raised as a new one).
LIVE_STATUSES = ("open", "acknowledged")
#: Longest text kept for the text search of one alert.
SEARCH_MAX = 16384
#: Columns an alert list can be sorted by.
SORTS = {"last_seen": AlertRow.last_seen, "first_seen": AlertRow.first_seen, "severity": AlertRow.severity_rank,
         "count": AlertRow.count, "id": AlertRow.id}  # fmt: skip
_TEXT_LIMITS = {"rule_id": 128, "rule_name": 300, "severity": 16, "rule_source": 16, "rule_kind": 16,
                "agent_id": 128, "hostname": 255, "dedup_key": 64}  # fmt: skip


@dataclass
class AlertFilter:
    """A search of alerts; every condition given must hold."""

    severities: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    rule_ids: list[str] = field(default_factory=list)
    agent_id: str | None = None
    hostname: str | None = None  # case-insensitive substring
    since: float | None = None  # seen at or after (last_seen >= since)
    until: float | None = None  # raised at or before (first_seen <= until)
    text: str | None = None  # case-insensitive substring of rule, host and event values

    def clauses(self) -> list[Any]:
        out: list[Any] = []
        if self.severities:
            out.append(AlertRow.severity.in_(self.severities))
        if self.statuses:
            out.append(AlertRow.status.in_(self.statuses))
        if self.rule_ids:
            out.append(AlertRow.rule_id.in_(self.rule_ids))
        if self.agent_id is not None:
            out.append(AlertRow.agent_id == self.agent_id)
        if self.hostname:
            out.append(func.lower(AlertRow.hostname).like(f"%{_like(self.hostname.lower())}%", escape="\\"))
        if self.since is not None:
            out.append(AlertRow.last_seen >= self.since)
        if self.until is not None:
            out.append(AlertRow.first_seen <= self.until)
        if self.text:
            out.append(AlertRow.search.like(f"%{_like(self.text.lower())}%", escape="\\"))
        return out


def _like(text: str) -> str:
    return no_nul(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_text(alert: Mapping[str, Any]) -> str:
    """What the text search looks through: rule, host and the event's and appended fields' values."""
    parts = [str(alert.get(k) or "") for k in ("rule_id", "rule_name", "agent_id", "hostname")]
    for block in (alert.get("event") or {}, alert.get("fields") or {}):
        parts.extend(str(v) for v in block.values() if v not in (None, ""))
    return no_nul("\n".join(parts).lower())[:SEARCH_MAX]


def _row_values(alert: Mapping[str, Any], now: float) -> dict[str, Any]:
    values = {k: no_nul(str(alert.get(k) or ""))[:limit] for k, limit in _TEXT_LIMITS.items()}
    values.update(
        severity_rank=SEVERITY_RANK.get(values["severity"], 0), description=no_nul(str(alert.get("description") or "")),
        attack=list(alert.get("attack") or []), data_type=int(alert.get("data_type") or 0),
        event=dict(alert.get("event") or {}), fields=dict(alert.get("fields") or {}), frequency=alert.get("frequency"),
        process_chain=list(alert.get("process_chain") or []), first_seen=float(alert["first_seen"]),
        last_seen=float(alert["last_seen"]), count=int(alert.get("count") or 1), status=str(alert.get("status") or "open"),
        created_at=now, updated_at=now, search=search_text(alert),
    )  # fmt: skip
    return values


def alert_summary(row: AlertRow) -> dict[str, Any]:
    """An alert as lists show it: everything but the process chain and the history."""
    return {
        "id": row.id, "dedup_key": row.dedup_key, "rule_id": row.rule_id, "rule_name": row.rule_name,
        "severity": row.severity, "rule_source": row.rule_source, "rule_kind": row.rule_kind,
        "description": row.description, "attack": list(row.attack or []), "agent_id": row.agent_id,
        "hostname": row.hostname, "data_type": row.data_type, "event": dict(row.event or {}),
        "fields": dict(row.fields or {}), "frequency": row.frequency, "first_seen": row.first_seen,
        "last_seen": row.last_seen, "count": row.count, "status": row.status, "created_at": row.created_at,
        "updated_at": row.updated_at,
    }  # fmt: skip


def _history_dict(h: AlertHistory) -> dict[str, Any]:
    return {"at": h.at, "by": h.username, "from": h.from_status, "to": h.to_status, "comment": h.comment}


class AlertStore:
    """Store methods over ``alerts`` and ``alert_history``."""

    def record_alerts(self, new: list[Mapping[str, Any]], repeats: Mapping[str, tuple[int, float]] = {},
                      reraise: Callable[[str, int], dict[str, Any]] | None = None) -> list[dict[str, Any]]:  # fmt: skip
        """Store new alerts and count repeats, in one transaction (a retry after a failure is safe).

        Args:
            new: records shaped like ``Alert.as_dict()``.
            repeats: dedup key -> (n, last_seen): raise the newest live alert's count by n.
            reraise: for a repeated key with no live alert any more (resolved or a false
                positive since), ``reraise(key, n)`` gives the record of a new alert to store.

        Returns:
            The stored records (``new``, then the re-raised ones), each with its ``id``.
        """
        now = time.time()
        out = [dict(a) for a in new]
        with self.session() as s, s.begin():  # type: ignore[attr-defined]
            for record in out:
                record["id"] = s.execute(insert(AlertRow).values(**_row_values(record, now)).returning(AlertRow.id)).scalar_one()
            for key, (n, last_seen) in repeats.items():
                newest = (select(func.max(AlertRow.id)).where(AlertRow.dedup_key == key,
                                                              AlertRow.status.in_(LIVE_STATUSES)).scalar_subquery())  # fmt: skip
                res = s.execute(
                    update(AlertRow).where(AlertRow.id == newest)
                    .values(count=AlertRow.count + n, updated_at=now, last_seen=_greatest(s, AlertRow.last_seen, last_seen))
                    .execution_options(synchronize_session=False)
                )  # fmt: skip
                if res.rowcount == 0 and reraise is not None:
                    record = dict(reraise(key, n))
                    record["id"] = s.execute(insert(AlertRow).values(**_row_values(record, now)).returning(AlertRow.id)).scalar_one()
                    out.append(record)
        return out

    def live_alerts_since(self, since: float) -> list[tuple[str, float, float, int]]:
        """(key, first_seen, last_seen, count) of open or acknowledged alerts seen since ``since``
        (to seed the de-duplicator after a restart), oldest first."""
        stmt = (select(AlertRow.dedup_key, AlertRow.first_seen, AlertRow.last_seen, AlertRow.count)
                .where(AlertRow.status.in_(LIVE_STATUSES), AlertRow.last_seen >= since).order_by(AlertRow.last_seen))  # fmt: skip
        with self.session() as s:  # type: ignore[attr-defined]
            return [(k, f, l, c) for k, f, l, c in s.execute(stmt)]

    def alert_marks(self) -> tuple[float, int]:
        """(latest ``last_seen`` of any alert, latest triage step id): both move whenever an alert is
        raised, repeats or changes status, on this server or another sharing the database (two
        index reads)."""
        with self.session() as s:  # type: ignore[attr-defined]
            seen = s.execute(select(func.max(AlertRow.last_seen))).scalar()
            step = s.execute(select(func.max(AlertHistory.id))).scalar()
        return (seen or 0.0, step or 0)

    def alerts_changed_since(self, marks: tuple[float, int], *, limit: int = 100) -> list[int]:
        """Ids of alerts raised, repeated or triaged after ``marks`` (from :meth:`alert_marks`), at most
        ``limit`` of each kind, ascending."""
        seen, step = marks
        with self.session() as s:  # type: ignore[attr-defined]
            raised = s.scalars(select(AlertRow.id).where(AlertRow.last_seen > seen)
                               .order_by(AlertRow.last_seen.desc()).limit(limit))  # fmt: skip
            triaged = s.scalars(select(AlertHistory.alert_id).where(AlertHistory.id > step)
                                .order_by(AlertHistory.id.desc()).limit(limit))  # fmt: skip
            return sorted(set(raised) | set(triaged))

    def list_alerts(self, flt: AlertFilter, *, offset: int = 0, limit: int = 50, sort: str = "last_seen",
                    descending: bool = True) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
        """One page of alerts matching ``flt`` (without process chains and history) and the total."""
        where = flt.clauses()
        column = SORTS[sort]
        order = (column.desc(), AlertRow.id.desc()) if descending else (column.asc(), AlertRow.id.asc())
        with self.session() as s:  # type: ignore[attr-defined]
            total = s.scalar(select(func.count()).select_from(AlertRow).where(*where)) or 0
            rows = s.scalars(select(AlertRow).where(*where).order_by(*order).offset(offset).limit(limit))
            return [alert_summary(r) for r in rows], total

    def alert_facets(self, flt: AlertFilter) -> dict[str, dict[str, int]]:
        """Alerts per status and per severity, each facet counting the alerts that match every
        filter of ``flt`` but its own (the count beside each choice of a faceted search).

        One query grouped by (status, severity) under the other filters; each facet then
        keeps the groups whose other column passes its filter.
        """
        others = replace(flt, severities=[], statuses=[])
        stmt = (select(AlertRow.status, AlertRow.severity, func.count()).where(*others.clauses())
                .group_by(AlertRow.status, AlertRow.severity))  # fmt: skip
        with self.session() as s:  # type: ignore[attr-defined]
            groups = s.execute(stmt).all()
        by_status = dict.fromkeys(ALERT_STATUSES, 0)
        by_severity = dict.fromkeys(SEVERITY_RANK, 0)
        for status, severity, n in groups:
            if status in by_status and (not flt.severities or severity in flt.severities):
                by_status[status] += n
            if severity in by_severity and (not flt.statuses or status in flt.statuses):
                by_severity[severity] += n
        return {"status": by_status, "severity": by_severity}

    def get_alert(self, alert_id: int) -> dict[str, Any]:
        """One alert with its process chain and triage history. Raises: NotFound."""
        with self.session() as s:  # type: ignore[attr-defined]
            row = s.get(AlertRow, alert_id)
            if row is None:
                raise NotFound(f"no alert with id {alert_id}")
            out = alert_summary(row)
            out["process_chain"] = list(row.process_chain or [])
            out["history"] = [_history_dict(h) for h in s.scalars(
                select(AlertHistory).where(AlertHistory.alert_id == alert_id).order_by(AlertHistory.id))]  # fmt: skip
            return out

    def set_alert_status(self, alert_id: int, expected: str, to: str, *, by: str, comment: str = "") -> float:
        """Move an alert from ``expected`` to ``to`` and record the step; returns its time.

        Raises:
            NotFound: no such alert.
            Conflict: its status is no longer ``expected`` (someone else changed it meanwhile).
        """
        now = time.time()
        with self.session() as s, s.begin():  # type: ignore[attr-defined]
            res = s.execute(update(AlertRow).where(AlertRow.id == alert_id, AlertRow.status == expected)
                            .values(status=to, updated_at=now).execution_options(synchronize_session=False))  # fmt: skip
            if res.rowcount != 1:
                current = s.scalar(select(AlertRow.status).where(AlertRow.id == alert_id))
                if current is None:
                    raise NotFound(f"no alert with id {alert_id}")
                raise Conflict(f"alert {alert_id} is {current} now, not {expected}; reload it and try again")
            s.add(AlertHistory(alert_id=alert_id, at=now, username=no_nul(by)[:64], from_status=expected,
                               to_status=to, comment=no_nul(comment)))  # fmt: skip
        return now

    def alert_stats(self, since: float, until: float, bucket: float, *, top: int = 10) -> dict[str, Any]:
        """Figures for the overview: alerts raised per time bucket and severity, by severity and
        status, the rules and hosts with most alerts (all raised within [since, until]), and the
        live (open or acknowledged) alerts by severity whatever their age.

        Buckets start on multiples of ``bucket`` (unix time), the first one holding ``since``.
        """
        in_range = (AlertRow.first_seen >= since, AlertRow.first_seen <= until)
        start = since - since % bucket  # buckets start on multiples of their length (whole hours ...)
        with self.session() as s:  # type: ignore[attr-defined]
            index = _bucket_index(s, AlertRow.first_seen - start, bucket)
            series: dict[int, dict[str, int]] = {}
            for i, severity, n in s.execute(select(index, AlertRow.severity, func.count())
                                            .where(*in_range).group_by(index, AlertRow.severity)):  # fmt: skip
                series.setdefault(int(i), {})[severity] = n
            by_severity = dict(s.execute(select(AlertRow.severity, func.count()).where(*in_range)
                                         .group_by(AlertRow.severity)).all())  # fmt: skip
            by_status = dict(s.execute(select(AlertRow.status, func.count()).where(*in_range)
                                       .group_by(AlertRow.status)).all())  # fmt: skip
            live = dict(s.execute(select(AlertRow.severity, func.count()).where(AlertRow.status.in_(LIVE_STATUSES))
                                  .group_by(AlertRow.severity)).all())  # fmt: skip
            n = func.count().label("n")
            rules = s.execute(
                select(AlertRow.rule_id, func.max(AlertRow.rule_name), func.max(AlertRow.severity_rank), n,
                       func.sum(AlertRow.count)).where(*in_range).group_by(AlertRow.rule_id)
                .order_by(n.desc(), AlertRow.rule_id).limit(top)
            ).all()  # fmt: skip
            hosts = s.execute(
                select(AlertRow.agent_id, func.max(AlertRow.hostname), n, func.max(AlertRow.severity_rank))
                .where(*in_range).group_by(AlertRow.agent_id).order_by(n.desc(), AlertRow.agent_id).limit(top)
            ).all()  # fmt: skip
        names = {v: k for k, v in SEVERITY_RANK.items()}
        buckets = int((until - start) // bucket) + 1
        return {
            "since": since, "until": until, "bucket": bucket,
            "series": [{"start": start + i * bucket, **{sev: series.get(i, {}).get(sev, 0) for sev in SEVERITY_RANK}}
                       for i in range(buckets)],
            "by_severity": {sev: by_severity.get(sev, 0) for sev in SEVERITY_RANK},
            "by_status": {st: by_status.get(st, 0) for st in ALERT_STATUSES},
            "live_by_severity": {sev: live.get(sev, 0) for sev in SEVERITY_RANK},
            "top_rules": [{"rule_id": r, "rule_name": name, "severity": names.get(rank, "info"), "alerts": count,
                           "events": int(events or 0)} for r, name, rank, count, events in rules],
            "top_hosts": [{"agent_id": a, "hostname": h, "alerts": count, "max_severity": names.get(rank, "info")}
                          for a, h, count, rank in hosts],
        }  # fmt: skip

    def alert_counts_by_rule(self) -> dict[str, dict[str, Any]]:
        """rule id -> {"alerts": how many alerts it raised, "last_alert_at"} (all time)."""
        stmt = select(AlertRow.rule_id, func.count(), func.max(AlertRow.last_seen)).group_by(AlertRow.rule_id)
        with self.session() as s:  # type: ignore[attr-defined]
            return {r: {"alerts": n, "last_alert_at": last} for r, n, last in s.execute(stmt)}

    def process_events(self, agent_id: str, pids: Iterable[str], *, limit: int = 200) -> list[dict[str, Any]]:
        """Recent events of these pids on one agent, for rebuilding a process chain (newest first).

        Executions (59) and process assets (5050) describe a process best; for
        pids without any, up to ``limit // 4`` other events of theirs are added.
        Each event is flat: its fields plus ``data_type`` and ``timestamp``.
        """
        wanted = [p for p in dict.fromkeys(pids) if p and len(p) <= EVENT_PID_LEN][:64]
        if not wanted:
            return []
        base = select(Event).where(Event.agent_id == agent_id, Event.pid.in_(wanted)).order_by(Event.id.desc())
        with self.session() as s:  # type: ignore[attr-defined]
            rows = list(s.scalars(base.where(Event.data_type.in_((datatypes.EXECVE, datatypes.ASSET_PROCESS)))
                                  .limit(limit)))  # fmt: skip
            found = {r.pid for r in rows}
            missing = [p for p in wanted if p not in found]
            if missing:
                rows += s.scalars(select(Event).where(Event.agent_id == agent_id, Event.pid.in_(missing))
                                  .order_by(Event.id.desc()).limit(max(1, limit // 4)))  # fmt: skip
        return [{**(r.fields or {}), "data_type": r.data_type, "timestamp": r.timestamp} for r in rows]

    def agent_hostnames(self, agent_ids: Iterable[str]) -> dict[str, str]:
        """agent id -> host name, for the ids that are known."""
        ids = list(dict.fromkeys(agent_ids))
        out: dict[str, str] = {}
        with self.session() as s:  # type: ignore[attr-defined]
            for i in range(0, len(ids), 500):
                out.update(s.execute(select(Agent.id, Agent.hostname).where(Agent.id.in_(ids[i : i + 500]))).all())
        return out


def _greatest(session, column, value: float):
    """max(column, value) in SQL: GREATEST on PostgreSQL, the two-argument max() on SQLite."""
    if session.get_bind().dialect.name == "sqlite":
        return func.max(column, value)
    return func.greatest(column, value)


def _bucket_index(session, offset, bucket: float):
    """floor(offset / bucket) as an integer (SQLite's CAST truncates, PostgreSQL's rounds)."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(offset / bucket, Integer)
    return cast(func.floor(offset / bucket), Integer)
