"""Choosing agents: filters, paging and tags (the agent list, task targets, assignments).

Filters run in SQL on both databases: plain columns directly, heartbeat fields
through SQLAlchemy's portable JSON path (``JSON_EXTRACT`` / ``->>``), and list
columns (tags, addresses) as ``LIKE`` over their JSON text. That last trick is
exact because tag names and address fragments are restricted (by the API) to
characters that never need escaping inside JSON strings; LIKE wildcards are
escaped here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Collection

from sqlalchemy import String, and_, cast, func, or_, select

from ._models import Agent
from .errors import Conflict, NotFound

#: An agent whose database row says "online" but that has not been heard from for
#: this long is shown offline (its server may have died without marking it).
ONLINE_FRESHNESS = 180.0
#: Most tags one agent carries.
MAX_TAGS = 100
#: Heartbeat fields an agent can be selected by.
PLATFORM_KEYS = ("platform", "platform_family", "arch")


def like_escape(text: str) -> str:
    """``text`` with LIKE's wildcards escaped (use with ``escape="\\\\"``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class AgentFilter:
    """Which agents: every given criterion must hold (empty = no constraint).

    ``tags`` means "has every one of these tags", ``any_tags`` "has at least one".
    ``online`` compares with :func:`is_online`; ``connected_here`` lists the agents
    holding a stream on this server, which count as online whatever the row says.
    """

    ids: tuple[str, ...] = ()
    online: bool | None = None
    status: str | None = None
    hostname: str = ""
    ip: str = ""
    tags: tuple[str, ...] = ()
    any_tags: tuple[str, ...] = ()
    platform: str = ""
    platform_family: str = ""
    arch: str = ""
    version: str = ""
    connected_here: tuple[str, ...] = ()

    def clauses(self, now: float) -> list[Any]:
        out: list[Any] = []
        if self.ids:
            out.append(Agent.id.in_(self.ids))
        if self.status:
            out.append(Agent.status == self.status)
        if self.online is not None:
            alive = and_(Agent.online.is_(True), Agent.last_seen > now - ONLINE_FRESHNESS)
            if self.connected_here:
                alive = or_(alive, Agent.id.in_(self.connected_here))
            out.append(alive if self.online else ~alive)
        if self.hostname:
            out.append(func.lower(Agent.hostname).like(f"%{like_escape(self.hostname.lower())}%", escape="\\"))
        if self.ip:
            pattern = f"%{like_escape(self.ip.lower())}%"
            columns = (Agent.intranet_ipv4, Agent.extranet_ipv4, Agent.intranet_ipv6, Agent.extranet_ipv6)
            out.append(or_(Agent.source_ip.like(pattern, escape="\\"),
                           *(func.lower(cast(c, String)).like(pattern, escape="\\") for c in columns)))  # fmt: skip
        for tag in self.tags:
            out.append(_has_tag(tag))
        if self.any_tags:
            out.append(or_(*(_has_tag(tag) for tag in self.any_tags)))
        for key in PLATFORM_KEYS:
            value = getattr(self, key)
            if value:
                out.append(Agent.last_heartbeat[key].as_string() == value)
        if self.version:
            out.append(Agent.version == self.version)
        return out


def _has_tag(tag: str):
    return cast(Agent.tags, String).like(f'%"{like_escape(tag)}"%', escape="\\")


def is_online(agent: dict[str, Any], connected_here: Collection[str], now: float | None = None) -> bool:
    """The same rule as ``AgentFilter(online=True)``, for one agent dict."""
    now = time.time() if now is None else now
    if agent["id"] in connected_here:
        return True
    return bool(agent["online"]) and (agent["last_seen"] or 0) > now - ONLINE_FRESHNESS


def normalize_tags(tags: Collection[str]) -> list[str]:
    """Unique, sorted."""
    return sorted(set(tags))


class AgentQueries:
    """Store mixin: listing agents by filter, and their tags."""

    def query_agents(self, flt: AgentFilter, *, offset: int = 0, limit: int = 100) -> tuple[list[dict[str, Any]], int]:
        """One page of agents matching ``flt`` (by hostname, then id) and the total count."""
        where = flt.clauses(time.time())
        with self.session() as s:
            total = s.scalar(select(func.count()).select_from(Agent).where(*where)) or 0
            rows = s.scalars(select(Agent).where(*where).order_by(Agent.hostname, Agent.id).offset(offset).limit(limit))
            return [self._agent_dict(a) for a in rows], total

    def select_agent_ids(self, flt: AgentFilter) -> list[str]:
        """Ids of every agent matching ``flt``, sorted."""
        with self.session() as s:
            return list(s.scalars(select(Agent.id).where(*flt.clauses(time.time())).order_by(Agent.id)))

    def existing_agent_ids(self, ids: Collection[str]) -> dict[str, str]:
        """{id: status} for those of ``ids`` that exist."""
        if not ids:
            return {}
        with self.session() as s:
            return dict(s.execute(select(Agent.id, Agent.status).where(Agent.id.in_(list(ids)))).all())

    def change_tags(self, agent_id: str, *, add: Collection[str] = (), remove: Collection[str] = (),
                    replace: Collection[str] | None = None) -> list[str]:  # fmt: skip
        """Add, remove or replace an agent's tags; returns the new list.

        Raises:
            NotFound: no such agent.
            Conflict: the agent would carry more than MAX_TAGS tags.
        """
        with self.session() as s, s.begin():
            agent = s.get(Agent, agent_id, with_for_update=True)
            if agent is None:
                raise NotFound(f"no agent with id {agent_id!r}")
            current = set(agent.tags or []) if replace is None else set(replace)
            current |= set(add)
            current -= set(remove)
            if len(current) > MAX_TAGS:
                raise Conflict(f"agent {agent_id!r} would carry {len(current)} tags; at most {MAX_TAGS}")
            agent.tags = normalize_tags(current)
            return list(agent.tags)

    def tag_counts(self) -> dict[str, int]:
        """Every tag in use and how many agents carry it."""
        counts: dict[str, int] = {}
        with self.session() as s:
            for tags in s.scalars(select(Agent.tags).where(cast(Agent.tags, String) != "[]")):
                for tag in tags or []:
                    counts[tag] = counts.get(tag, 0) + 1
        return dict(sorted(counts.items()))

