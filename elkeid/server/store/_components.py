"""Store mixin: plugin components, their package bytes, and their assignments to agents."""

from __future__ import annotations

import time
from typing import Any, Collection

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ._models import Agent, Assignment, Component, ComponentBlob
from .errors import Conflict, NotFound

BUILTIN = "builtin"


def _component_dict(c: Component) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "version": c.version, "type": c.type, "detail": c.detail,
            "description": c.description, "sha256": c.sha256, "signature": c.signature, "size": c.size,
            "created_by": c.created_by, "created_at": c.created_at}  # fmt: skip


def _assignment_dict(a: Assignment, c: Component) -> dict[str, Any]:
    return {"id": a.id, "component_id": a.component_id, "component": f"{c.name}@{c.version}",
            "selector": dict(a.selector or {}), "detail": a.detail, "created_by": a.created_by,
            "created_at": a.created_at}  # fmt: skip


class ComponentStore:
    # --- components ---------------------------------------------------------------
    def add_component(self, *, name: str, version: str, type: str, detail: str, description: str, sha256: str,
                      signature: str, data: bytes, created_by: str) -> dict[str, Any]:  # fmt: skip
        """Store an uploaded package (bytes kept once per SHA-256).

        Raises:
            Conflict: this name and version exist already.
        """
        try:
            with self.session() as s, s.begin():
                if s.get(ComponentBlob, sha256) is None:
                    s.add(ComponentBlob(sha256=sha256, data=data))
                c = Component(name=name, version=version, type=type, detail=detail, description=description,
                              sha256=sha256, signature=signature, size=len(data), created_by=created_by,
                              created_at=time.time())  # fmt: skip
                s.add(c)
                s.flush()
                return _component_dict(c)
        except IntegrityError as exc:
            raise Conflict(f"component {name}@{version} exists already; upload it as a new version") from exc

    def ensure_builtin_components(self, names: Collection[str]) -> None:
        """Make sure each built-in plugin exists as a ``builtin`` component (no package)."""
        with self.session() as s, s.begin():
            have = set(s.scalars(select(Component.name).where(Component.type == BUILTIN)))
            for name in names:
                if name not in have:
                    s.add(Component(name=name, version=BUILTIN, type=BUILTIN, detail="",
                                    description=f"the agent's own `elkeid plugin {name}`", sha256="", signature="",
                                    size=0, created_by="server", created_at=time.time()))  # fmt: skip

    def list_components(self) -> list[dict[str, Any]]:
        with self.session() as s:
            return [_component_dict(c) for c in s.scalars(select(Component).order_by(Component.name, Component.id))]

    def get_component(self, component_id: int) -> dict[str, Any]:
        """Raises: NotFound."""
        with self.session() as s:
            c = s.get(Component, component_id)
            if c is None:
                raise NotFound(f"no component with id {component_id}")
            return _component_dict(c)

    def delete_component(self, component_id: int) -> None:
        """Raises: NotFound; Conflict if built in or still assigned."""
        with self.session() as s, s.begin():
            c = s.get(Component, component_id)
            if c is None:
                raise NotFound(f"no component with id {component_id}")
            if c.type == BUILTIN:
                raise Conflict(f"{c.name} is built into the agent and cannot be deleted")
            used = s.scalar(select(func.count()).select_from(Assignment).where(Assignment.component_id == c.id))
            if used:
                raise Conflict(f"{c.name}@{c.version} is assigned {used} time(s); delete its assignments first")
            sha = c.sha256
            s.delete(c)
            s.flush()
            if not s.scalar(select(func.count()).select_from(Component).where(Component.sha256 == sha)):
                blob = s.get(ComponentBlob, sha)
                if blob is not None:
                    s.delete(blob)

    def component_package(self, sha256: str) -> bytes | None:
        with self.session() as s:
            blob = s.get(ComponentBlob, sha256)
            return None if blob is None else bytes(blob.data)

    # --- assignments --------------------------------------------------------------
    def add_assignment(self, component_id: int, selector: dict[str, Any], detail: str | None,
                       created_by: str) -> dict[str, Any]:  # fmt: skip
        """Raises: NotFound (no such component)."""
        with self.session() as s, s.begin():
            c = s.get(Component, component_id)
            if c is None:
                raise NotFound(f"no component with id {component_id}")
            a = Assignment(component_id=component_id, selector=selector, detail=detail, created_by=created_by,
                           created_at=time.time())  # fmt: skip
            s.add(a)
            s.flush()
            return _assignment_dict(a, c)

    def list_assignments(self) -> list[dict[str, Any]]:
        with self.session() as s:
            rows = s.execute(select(Assignment, Component).join(Component, Assignment.component_id == Component.id)
                             .order_by(Assignment.id))  # fmt: skip
            return [_assignment_dict(a, c) for a, c in rows]

    def delete_assignment(self, assignment_id: int) -> None:
        """Raises: NotFound."""
        with self.session() as s, s.begin():
            a = s.get(Assignment, assignment_id)
            if a is None:
                raise NotFound(f"no assignment with id {assignment_id}")
            s.delete(a)

    def config_inputs(self, agent_ids: Collection[str]) -> tuple[list[tuple[dict, dict]], dict[str, dict[str, Any]]]:
        """What desired configs are computed from, in one read.

        Returns ([(assignment, component)] oldest first, {agent_id: {"tags", "last_heartbeat"}})
        for those of ``agent_ids`` that exist and are not revoked.
        """
        with self.session() as s:
            rows = s.execute(select(Assignment, Component).join(Component, Assignment.component_id == Component.id)
                             .order_by(Assignment.id))  # fmt: skip
            pairs = [(_assignment_dict(a, c), _component_dict(c)) for a, c in rows]
            agents: dict[str, dict[str, Any]] = {}
            ids = list(agent_ids)
            for start in range(0, len(ids), 500):
                q = select(Agent.id, Agent.tags, Agent.last_heartbeat).where(
                    Agent.id.in_(ids[start : start + 500]), Agent.status != "revoked"
                )
                for aid, tags, hb in s.execute(q):
                    agents[aid] = {"tags": list(tags or []), "last_heartbeat": dict(hb or {})}
            return pairs, agents
