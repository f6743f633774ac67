"""Store mixin: the audit log of state-changing API calls."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ._models import AuditEntry
from ._text import no_nul

#: Longest texts kept per column (longer ones are cut, never refused: the log must not fail).
_LIMITS = {"username": 64, "action": 64, "method": 8, "path": 512, "target": 255, "outcome": 16, "source_ip": 64}


@dataclass(frozen=True)
class AuditFilter:
    username: str = ""
    action: str = ""
    target: str = ""
    outcome: str = ""
    since: float | None = None
    until: float | None = None

    def clauses(self) -> list[Any]:
        out: list[Any] = []
        for name in ("username", "action", "target", "outcome"):
            value = getattr(self, name)
            if value:
                out.append(getattr(AuditEntry, name) == value)
        if self.since is not None:
            out.append(AuditEntry.at >= self.since)
        if self.until is not None:
            out.append(AuditEntry.at < self.until)
        return out


def _entry_dict(e: AuditEntry) -> dict[str, Any]:
    return {"id": e.id, "at": e.at, "username": e.username, "action": e.action, "method": e.method, "path": e.path,
            "target": e.target, "status": e.status, "outcome": e.outcome, "source_ip": e.source_ip,
            "detail": dict(e.detail or {})}  # fmt: skip


class AuditLog:
    def add_audit(self, *, username: str, action: str, method: str, path: str, target: str, status: int,
                  outcome: str, source_ip: str, detail: dict[str, Any] | None = None,
                  at: float | None = None) -> None:  # fmt: skip
        values = {"username": username, "action": action, "method": method, "path": path, "target": target,
                  "outcome": outcome, "source_ip": source_ip}  # fmt: skip
        values = {k: no_nul(v or "")[: _LIMITS[k]] for k, v in values.items()}
        with self.session() as s, s.begin():
            s.add(AuditEntry(at=time.time() if at is None else at, status=status, detail=detail or {}, **values))

    def list_audit(self, flt: AuditFilter, *, offset: int = 0, limit: int = 100) -> tuple[list[dict[str, Any]], int]:
        """Newest first."""
        where = flt.clauses()
        with self.session() as s:
            total = s.scalar(select(func.count()).select_from(AuditEntry).where(*where)) or 0
            rows = s.scalars(
                select(AuditEntry).where(*where).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                .offset(offset).limit(limit)
            )  # fmt: skip
            return [_entry_dict(e) for e in rows], total
