"""Assets API: one agent's inventory by type, fleet-wide searches, the change feed, summary counts.

Routes (viewer and up):

- ``GET /api/v1/assets/summary[?agent_id=A]``: per inventory type, items, agents, snapshots by status, changes in 24 h;
- ``GET /api/v1/assets/changes?agent_id=&type=&change=&since=&until=``: the change feed, newest first;
- ``GET /api/v1/assets/<type>?field.NAME[.OP]=V&agent_id=&hostname=&tag=``: items of every agent, with host names;
- ``GET /api/v1/agents/<aid>/assets/<type>?field.NAME[.OP]=V``: one agent's items and its last snapshot.

``<type>`` is an asset data_type (5051) or its name (``listen_port``). Field
filters are read by ``elkeid.server.assets.parse_filters`` (operators eq, ne,
contains in SQL; lt, le, gt, ge in each field's own ordering, versions by
package manager).
"""

from __future__ import annotations

import functools
import time
from typing import Any, Awaitable, Callable

import anyio
from quart import Blueprint, current_app, request
from werkzeug.datastructures import MultiDict

from elkeid.server.assets import OPS, POLICIES, FilterError, Policy, parse_filters, policy_for
from elkeid.server.store import AgentFilter, AssetQuery, ChangeFilter

from ._auth import requires
from ._fields import AGENT_ID, TAG
from ._schemas import SCHEMAS
from ._spec import Field, Spec, accepts, page_params, page_window, paged, parse_query
from ._validate import agent_id
from .errors import BadRequest, NotFoundError

bp = Blueprint("assets", __name__, url_prefix="/api/v1")

MAX_PAGE = 1000
#: Most candidate rows a search with a comparison (lt, le, gt, ge) reads; beyond, it must be narrowed.
MAX_SCAN = 200_000
CHANGES = ("added", "removed", "changed")
RECENT = 86400.0

FILTER_DOC = Field("field.NAME", "string", description=(
    "filter on the item field NAME: field.NAME=V (equal), or field.NAME.OP=V with OP one of "
    f"{', '.join(OPS)}; lt/le/gt/ge order numbers numerically and sversion by package manager "
    "(dpkg, rpm, PEP 440); repeat for several (all must hold, at most 8)"))  # fmt: skip
FLEET_QUERY = (
    Field("agent_id", "array", items=AGENT_ID, max_len=1000, description="only these agents"),
    Field("hostname", "string", max_len=255, description="case-insensitive substring of the host name"),
    Field("tag", "array", items=TAG, max_len=100, description="agents with every one of these tags"),
    *page_params(MAX_PAGE, 100),
)  # fmt: skip
AGENT_QUERY = page_params(MAX_PAGE, 100)
TYPE_NAME = Field("type", "string", pattern=r"[a-z0-9_]{1,32}", hint="an asset type's number or name")
CHANGES_QUERY = (
    Field("agent_id", "string", pattern=AGENT_ID.pattern, hint=AGENT_ID.hint, description="one agent's changes"),
    Field("type", "array", items=TYPE_NAME, max_len=16, description="asset types, by number or name"),
    Field("change", "array", items=Field("change", "string", choices=CHANGES), max_len=3),
    Field("since", "number", minimum=0, description="unix seconds, inclusive (the snapshot's time)"),
    Field("until", "number", minimum=0, description="unix seconds, inclusive"),
    *page_params(MAX_PAGE, 100),
)  # fmt: skip
SUMMARY_QUERY = (Field("agent_id", "string", pattern=AGENT_ID.pattern, hint=AGENT_ID.hint,
                       description="one agent's counts (with its last snapshot per type)"),)  # fmt: skip


def _ctx():
    return current_app.extensions["elkeid"]


def accepts_filters(*, query: tuple[Field, ...], returns: str) -> Callable:
    """Like :func:`accepts` with ``query``, plus ``field.*`` parameters passed on as ``filters=[(NAME[.OP], V)]``."""
    spec = Spec(query=(*query, FILTER_DOC), returns=returns)

    def wrap(fn: Callable[..., Awaitable]) -> Callable[..., Awaitable]:
        @functools.wraps(fn)
        async def inner(*args, **kwargs):
            pairs = list(request.args.items(multi=True))
            kwargs["query"] = parse_query(query, MultiDict([(k, v) for k, v in pairs if not k.startswith("field.")]))
            kwargs["filters"] = [(k[len("field."):], v) for k, v in pairs if k.startswith("field.")]
            return await fn(*args, **kwargs)

        inner.api_spec = spec  # type: ignore[attr-defined]
        return inner

    return wrap


def _policy(text: str) -> Policy:
    policy = policy_for(text[:32])
    if policy is None:
        known = ", ".join(f"{p.data_type} {p.name}" for p in POLICIES.values())
        raise NotFoundError(f"no asset type {text[:32]!r}; known: {known}")
    return policy


def _item(policy: Policy, a: dict[str, Any]) -> dict[str, Any]:
    return {"agent_id": a["agent_id"], "hostname": a["hostname"], "key": policy.key_dict(a["fields"]),
            "fields": a["fields"], "first_seen": a["first_seen"], "last_seen": a["last_seen"]}  # fmt: skip


async def _search(policy: Policy, agents: AgentFilter, filters: list[tuple[str, str]], query: dict[str, Any]):
    try:
        parsed = parse_filters(policy, filters)
    except FilterError as exc:
        raise BadRequest(str(exc)) from exc
    q = AssetQuery(policy.data_type, agents, conditions=parsed.sql, label_field=policy.label)
    offset, limit = page_window(query)
    store = _ctx().store
    items, total, hosts, complete = await anyio.to_thread.run_sync(
        lambda: store.search_assets(q, offset=offset, limit=limit, predicate=parsed.predicate(), max_scan=MAX_SCAN))
    if not complete:
        raise BadRequest(f"this search compares more than {MAX_SCAN} {policy.name} items one by one; narrow it "
                         "with an equality filter (e.g. field.name=openssl) or agent_id, hostname, tag")  # fmt: skip
    out = paged([_item(policy, a) for a in items], total, query)
    return {"data_type": policy.data_type, "type": policy.name, "key": list(policy.key), "hosts": hosts, **out}


@bp.get("/assets/<asset_type>")
@requires("viewer")
@accepts_filters(query=FLEET_QUERY, returns="AssetSearch")
async def search_assets(asset_type: str, query, filters):
    """Fleet-wide search of one asset type: every agent's matching items, with host names.

    ``/api/v1/assets/listen_port?field.sport=6379`` (which hosts listen on 6379),
    ``/api/v1/assets/software?field.name=openssl&field.sversion.lt=3.0.13-1~deb12u1``
    (which hosts have openssl older than that). ``hosts`` counts the agents with a match.
    """
    policy = _policy(asset_type)
    agents = AgentFilter(ids=tuple(query["agent_id"] or ()), hostname=query["hostname"] or "",
                         tags=tuple(query["tag"] or ()))  # fmt: skip
    return await _search(policy, agents, filters, query)


@bp.get("/agents/<aid>/assets/<asset_type>")
@requires("viewer")
@accepts_filters(query=AGENT_QUERY, returns="AgentAssets")
async def agent_assets(aid: str, asset_type: str, query, filters):
    """One agent's items of one asset type (its last complete snapshot, plus partial ones since), paged.

    ``snapshot`` describes the last snapshot applied (status, when, how many records), or is null.
    """
    aid, policy = agent_id(aid), _policy(asset_type)
    store = _ctx().store
    if not await anyio.to_thread.run_sync(store.existing_agent_ids, [aid]):
        raise NotFoundError(f"no agent with id {aid!r}")
    out = await _search(policy, AgentFilter(ids=(aid,)), filters, query)
    snapshots = await anyio.to_thread.run_sync(store.asset_snapshots, aid)
    out.pop("hosts")
    return {"agent_id": aid, "snapshot": snapshots.get(policy.data_type), **out}


@bp.get("/assets/changes")
@requires("viewer")
@accepts(query=CHANGES_QUERY, returns="AssetChangeList")
async def list_changes(query):
    """The asset change feed, newest first: items added, removed or changed between two snapshots.

    An agent's first complete snapshot of a type is its baseline and adds nothing to the feed.
    """
    types = tuple(_types(query["type"] or ()))
    if query["since"] is not None and query["until"] is not None and query["since"] > query["until"]:
        raise BadRequest(f"since ({query['since']:g}) is after until ({query['until']:g})")
    flt = ChangeFilter(agent_id=query["agent_id"], data_types=types, changes=tuple(query["change"] or ()),
                       since=query["since"], until=query["until"])  # fmt: skip
    offset, limit = page_window(query)
    items, total = await anyio.to_thread.run_sync(
        lambda: _ctx().store.list_asset_changes(flt, offset=offset, limit=limit))
    for item in items:
        item["type"] = POLICIES[item["data_type"]].name
    return paged(items, total, query)


def _types(names) -> list[int]:
    out = []
    for name in names:
        policy = policy_for(name)
        if policy is None:
            raise BadRequest(f"unknown asset type {name!r} in type; known: "
                             + ", ".join(f"{p.data_type} {p.name}" for p in POLICIES.values()))  # fmt: skip
        out.append(policy.data_type)
    return out


@bp.get("/assets/summary")
@requires("viewer")
@accepts(query=SUMMARY_QUERY, returns="AssetSummary")
async def summary(query):
    """Counts per asset type for the console: items, agents, snapshots by status, changes in the last 24 h.

    ``stats`` are this server's inventory counters: snapshots applied, assemblies dropped (stale,
    superseded, overflow), bad markers, change records sent to or dropped for the rule engine.
    """
    store, aid = _ctx().store, query["agent_id"]
    if aid is not None and not await anyio.to_thread.run_sync(store.existing_agent_ids, [aid]):
        raise NotFoundError(f"no agent with id {aid!r}")
    since = time.time() - RECENT
    counts = await anyio.to_thread.run_sync(lambda: store.asset_summary(aid, since))
    snapshots = await anyio.to_thread.run_sync(store.asset_snapshots, aid) if aid is not None else {}
    items = []
    for policy in sorted(POLICIES.values(), key=lambda p: p.data_type):
        c = counts.get(policy.data_type, {})
        entry = {"data_type": policy.data_type, "type": policy.name, "description": policy.spec.description,
                 "feed": policy.feed, "items": c.get("items", 0), "agents": c.get("agents", 0),
                 "snapshots": c.get("snapshots", {"complete": 0, "partial": 0, "failed": 0}),
                 "last_taken_at": c.get("last_taken_at"), "changes_24h": c.get("changes", 0)}  # fmt: skip
        if aid is not None:
            entry["snapshot"] = snapshots.get(policy.data_type)
        items.append(entry)
    return {"agent_id": aid, "items": items, "stats": _stats(_ctx())}


def _stats(ctx) -> dict[str, int]:
    """This server's inventory counters since it started (applied, dropped assemblies, derived records ...)."""
    inventory = getattr(ctx, "assets", None)
    if inventory is None:
        return {}
    asm = inventory.assembler
    return {**inventory.stats, **asm.stats, "pending_snapshots": asm.pending_snapshots,
            "pending_records": asm.pending_records}  # fmt: skip


# --- response schemas (OpenAPI components; tests validate real responses against them) ---
_STR, _INT, _NUM, _BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_OPT_MAP = {"type": ["object", "null"], "additionalProperties": {"type": "string"}}


def _obj(props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": sorted(props), "additionalProperties": True}


_SNAPSHOT = _obj({"package_seq": _STR, "status": {"enum": ["complete", "partial", "failed"]}, "msg": _STR,
                  "count": _INT, "received": _INT, "taken_at": _NUM, "applied_at": _NUM, "items": _INT,
                  "baseline_at": {"type": ["number", "null"]}})  # fmt: skip
_ITEM = _obj({"agent_id": _STR, "hostname": _STR, "key": _MAP, "fields": _MAP, "first_seen": _NUM, "last_seen": _NUM})
_PAGE = {"total": _INT, "page": _INT, "page_size": _INT, "data_type": _INT, "type": _STR,
         "key": {"type": "array", "items": _STR}, "items": {"type": "array", "items": _ITEM}}  # fmt: skip
SCHEMAS.update({
    "AssetSnapshot": _SNAPSHOT,
    "AssetSearch": _obj({**_PAGE, "hosts": _INT}),
    "AgentAssets": _obj({**_PAGE, "agent_id": _STR, "snapshot": {"oneOf": [_SNAPSHOT, {"type": "null"}]}}),
    "AssetChange": _obj({"id": _INT, "agent_id": _STR, "hostname": _STR, "data_type": _INT, "type": _STR,
                         "change": {"enum": list(CHANGES)}, "key": _MAP, "before": _OPT_MAP, "after": _OPT_MAP,
                         "at": _NUM, "package_seq": _STR}),
    "AssetChangeList": _obj({"items": {"type": "array", "items": {"$ref": "#/components/schemas/AssetChange"}},
                             "total": _INT, "page": _INT, "page_size": _INT}),
    "AssetSummary": _obj({"agent_id": {"type": ["string", "null"]},
                          "stats": {"type": "object", "additionalProperties": _INT,
                                    "description": "this server's inventory counters since it started"},
                          "items": {"type": "array", "items": _obj({
        "data_type": _INT, "type": _STR, "description": _STR, "feed": _BOOL, "items": _INT, "agents": _INT,
        "snapshots": _obj({"complete": _INT, "partial": _INT, "failed": _INT}),
        "last_taken_at": {"type": ["number", "null"]}, "changes_24h": _INT})}}),
})  # fmt: skip
