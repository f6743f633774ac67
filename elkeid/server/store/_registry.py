"""Service discovery's registry: instances, their load (weight) and health by age."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, select

from ._models import RegistryInstance
from ._upsert import upsert

#: An instance unheard of this long is unhealthy (left out of answers) ...
UNHEALTHY_AFTER = 45.0
#: ... and this long, removed (PROTOCOL.md).
EVICT_AFTER = 105.0


def _instance_dict(r: RegistryInstance, now: float) -> dict[str, Any]:
    return {"name": r.name, "ip": r.ip, "port": r.port, "weight": r.weight, "extra": r.extra,
            "registered_at": r.registered_at, "last_seen": r.last_seen,
            "healthy": now - r.last_seen < UNHEALTHY_AFTER}  # fmt: skip


class RegistryMixin:
    """Store methods over the ``registry`` table (shared by every server on one database)."""

    def register_instance(self, name: str, ip: str, port: int, weight: int, extra: dict[str, Any] | None = None) -> None:
        """Add or refresh an instance; its ``last_seen`` becomes now."""
        now = time.time()
        with self.engine.begin() as conn:  # type: ignore[attr-defined]
            existing = conn.scalar(select(RegistryInstance.registered_at).where(
                RegistryInstance.name == name, RegistryInstance.ip == ip, RegistryInstance.port == port))  # fmt: skip
            upsert(conn, RegistryInstance.__table__,
                   [{"name": name, "ip": ip, "port": port, "weight": weight, "extra": extra or {},
                     "registered_at": existing or now, "last_seen": now}],
                   ["name", "ip", "port"])  # fmt: skip

    def evict_instance(self, name: str, ip: str, port: int) -> bool:
        """Remove an instance; False if it was not registered."""
        with self.engine.begin() as conn:  # type: ignore[attr-defined]
            res = conn.execute(delete(RegistryInstance).where(
                RegistryInstance.name == name, RegistryInstance.ip == ip, RegistryInstance.port == port))  # fmt: skip
            return res.rowcount > 0

    def healthy_instances(self, name: str, count: int) -> list[dict[str, Any]]:
        """Up to ``count`` healthy instances of ``name``, least loaded (lowest weight) first."""
        now = time.time()
        stmt = (
            select(RegistryInstance)
            .where(RegistryInstance.name == name, RegistryInstance.last_seen > now - UNHEALTHY_AFTER)
            .order_by(RegistryInstance.weight, RegistryInstance.last_seen.desc(), RegistryInstance.ip,
                      RegistryInstance.port)
            .limit(count)
        )  # fmt: skip
        with self.session() as s:  # type: ignore[attr-defined]
            return [_instance_dict(r, now) for r in s.scalars(stmt)]

    def list_instances(self) -> list[dict[str, Any]]:
        """Every instance not yet evicted, healthy or not, by name then load."""
        now = time.time()
        stmt = (
            select(RegistryInstance)
            .where(RegistryInstance.last_seen > now - EVICT_AFTER)
            .order_by(RegistryInstance.name, RegistryInstance.weight, RegistryInstance.ip, RegistryInstance.port)
        )  # fmt: skip
        with self.session() as s:  # type: ignore[attr-defined]
            return [_instance_dict(r, now) for r in s.scalars(stmt)]

    def expire_instances(self) -> int:
        """Delete instances unheard of for EVICT_AFTER seconds; returns how many."""
        with self.engine.begin() as conn:  # type: ignore[attr-defined]
            return conn.execute(delete(RegistryInstance).where(
                RegistryInstance.last_seen <= time.time() - EVICT_AFTER)).rowcount  # fmt: skip
