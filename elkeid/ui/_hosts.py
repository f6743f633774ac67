"""Hosts as the console lists them: status, search, filters, sorting and pages.

Pure functions over the store's agent dicts (``Store.list_agents``), so the
list page, the overview and the live feed agree on what "online" means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .errors import BadForm

ONLINE, OFFLINE, NEVER_SEEN, REVOKED = "online", "offline", "never-seen", "revoked"
STATUS_LABELS = {ONLINE: "online", OFFLINE: "offline", NEVER_SEEN: "never connected", REVOKED: "revoked"}
#: An agent marked online in the shared database by another server counts as online
#: only while it was heard from this recently (its server may have died).
FRESH_SECONDS = 180
PAGE_SIZE = 100
SORTS = ("hostname", "status", "last_seen", "os", "version")
_MAX_FACETS = 200
_MAX_ARG = 128


def host_status(agent: Mapping[str, Any], live_ids: Iterable[str] | set[str], now: float) -> str:
    """online / offline / never-seen / revoked for one agent dict."""
    if agent.get("status") == "revoked":
        return REVOKED
    if agent["id"] in live_ids or (agent.get("online") and (agent.get("last_seen") or 0) > now - FRESH_SECONDS):
        return ONLINE
    return OFFLINE if agent.get("first_seen") else NEVER_SEEN


def os_name(agent: Mapping[str, Any]) -> str:
    """``debian 12`` from the last heartbeat's platform and platform_version."""
    hb = agent.get("last_heartbeat") or {}
    return " ".join(p for p in (hb.get("platform", ""), hb.get("platform_version", "")) if p)


def addresses(agent: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for key in ("intranet_ipv4", "extranet_ipv4", "intranet_ipv6", "extranet_ipv6"):
        out.extend(a for a in agent.get(key) or [] if isinstance(a, str) and a not in out)
    return out


@dataclass(frozen=True)
class HostQuery:
    """The hosts page's query string: search text, filters, sort and page."""

    q: str = ""
    status: str = ""
    tag: str = ""
    os: str = ""
    version: str = ""
    sort: str = "hostname"
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "HostQuery":
        """Raises: BadForm for an unknown status or sort, a bad page, or an overlong value."""
        values = {}
        for name in ("q", "status", "tag", "os", "version", "sort"):
            value = (args.get(name) or "").strip()
            if len(value) > _MAX_ARG:
                raise BadForm(f"the {name!r} filter is longer than {_MAX_ARG} characters")
            values[name] = value
        if values["status"] and values["status"] not in STATUS_LABELS:
            raise BadForm(f"unknown status {values['status']!r}; choose one of {', '.join(STATUS_LABELS)}")
        if values["sort"] and values["sort"] not in SORTS:
            raise BadForm(f"unknown sort {values['sort']!r}; choose one of {', '.join(SORTS)}")
        values["sort"] = values["sort"] or "hostname"
        try:
            page = int(args.get("page") or 1)
        except ValueError:
            raise BadForm(f"page {str(args.get('page'))[:20]!r} is not a number") from None
        if not 1 <= page <= 1_000_000:
            raise BadForm("page must be between 1 and 1000000")
        return cls(page=page, **values)

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.status or self.tag or self.os or self.version)

    def args(self, **change: Any) -> dict[str, Any]:
        """Query arguments for a link that keeps this query but for ``change``."""
        current = {"q": self.q, "status": self.status, "tag": self.tag, "os": self.os, "version": self.version,
                   "sort": self.sort if self.sort != "hostname" else "", "page": self.page if self.page > 1 else ""}  # fmt: skip
        current.update(change)
        return {k: v for k, v in current.items() if v not in ("", None)}


def _matches(agent: Mapping[str, Any], q: HostQuery, status: str) -> bool:
    if q.status and status != q.status:
        return False
    if q.tag and q.tag not in (agent.get("tags") or []):
        return False
    if q.os and os_name(agent) != q.os:
        return False
    if q.version and agent.get("version") != q.version:
        return False
    if q.q:
        needle = q.q.lower()
        haystack = [agent.get("hostname", ""), agent["id"], agent.get("source_ip", ""), *addresses(agent),
                    *[t for t in agent.get("tags") or [] if isinstance(t, str)]]  # fmt: skip
        return any(needle in str(h).lower() for h in haystack)
    return True


_STATUS_ORDER = {ONLINE: 0, OFFLINE: 1, NEVER_SEEN: 2, REVOKED: 3}


def select_hosts(agents: Iterable[Mapping[str, Any]], q: HostQuery, live_ids, now: float) -> list[dict[str, Any]]:
    """The agents matching ``q``, sorted, each with ``status`` and ``os`` added."""
    rows = []
    for agent in agents:
        status = host_status(agent, live_ids, now)
        if _matches(agent, q, status):
            rows.append({**agent, "status": status, "os": os_name(agent), "addresses": addresses(agent)})

    def name_key(r):
        return (str(r.get("hostname") or "").lower(), r["id"])

    keys = {
        "hostname": name_key,
        "status": lambda r: (_STATUS_ORDER[r["status"]], *name_key(r)),
        "last_seen": lambda r: (-(r.get("last_seen") or 0), *name_key(r)),
        "os": lambda r: (r["os"].lower(), *name_key(r)),
        "version": lambda r: (str(r.get("version") or ""), *name_key(r)),
    }
    rows.sort(key=keys[q.sort])
    return rows


def paginate(rows: list, page: int, size: int = PAGE_SIZE) -> tuple[list, int]:
    """(rows of ``page``, number of pages); a page past the end is empty."""
    pages = max(1, -(-len(rows) // size))
    start = (page - 1) * size
    return rows[start : start + size], pages


def facets(agents: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """The distinct tags, OS names and agent versions, for the filter menus."""
    tags: set[str] = set()
    oses: set[str] = set()
    versions: set[str] = set()
    for a in agents:
        tags.update(t for t in a.get("tags") or [] if isinstance(t, str))
        if name := os_name(a):
            oses.add(name)
        if a.get("version"):
            versions.add(str(a["version"]))
    return {"tag": sorted(tags)[:_MAX_FACETS], "os": sorted(oses)[:_MAX_FACETS], "version": sorted(versions)[:_MAX_FACETS]}


def status_counts(agents: Iterable[Mapping[str, Any]], live_ids, now: float) -> dict[str, int]:
    counts = dict.fromkeys(STATUS_LABELS, 0)
    for a in agents:
        counts[host_status(a, live_ids, now)] += 1
    counts["total"] = sum(counts.values())
    return counts
