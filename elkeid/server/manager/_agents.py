"""Agents API: list with filters and paging, detail, desired config, tags, delete (= revoke)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import anyio
from quart import Blueprint, current_app, g

from elkeid.server import ac
from elkeid.server.store import AgentFilter, is_online

from ._auth import requires
from ._fields import AGENT_FILTER, TAG, TAGS
from ._spec import accepts, page_params, page_window, paged
from ._validate import agent_id

bp = Blueprint("agents", __name__, url_prefix="/api/v1")

MAX_PAGE = 1000
AGENT_LIST_QUERY = (*AGENT_FILTER, *page_params(MAX_PAGE, 100))


def _ctx():
    return current_app.extensions["elkeid"]


def agent_filter(values: dict[str, Any], hub) -> AgentFilter:
    """The :class:`AgentFilter` for checked ``AGENT_FILTER`` values (query string or task targets)."""
    return AgentFilter(
        ids=tuple(values.get("id") or ()),
        online=values.get("online"),
        status=values.get("status"),
        hostname=values.get("hostname") or "",
        ip=values.get("ip") or "",
        tags=tuple(values.get("tag") or ()),
        platform=values.get("platform") or "",
        platform_family=values.get("platform_family") or "",
        arch=values.get("arch") or "",
        version=values.get("version") or "",
        connected_here=tuple(hub.agent_ids()) if values.get("online") is not None else (),
    )


def agent_view(a: dict[str, Any], hub) -> dict[str, Any]:
    hb = a["last_heartbeat"]
    # Online: a live stream on this server, or (shared database) recently heard of elsewhere.
    a["online"] = is_online(a, hub)
    for key in ("kernel_version", "platform", "platform_family", "platform_version", "arch"):
        a[key] = hb.get(key, "")
    return a


@bp.get("/agents")
@requires("viewer")
@accepts(query=AGENT_LIST_QUERY, returns="AgentList")
async def list_agents(query):
    """Agents matching every given filter, by host name, one page at a time.

    List parameters (``tag``, ``id``) take repeated or comma-separated values.
    """
    ctx = _ctx()
    offset, limit = page_window(query)
    items, total = await anyio.to_thread.run_sync(
        lambda: ctx.store.query_agents(agent_filter(query, ctx.hub), offset=offset, limit=limit)
    )
    return paged([agent_view(a, ctx.hub) for a in items], total, query)


@bp.get("/agents/<aid>")
@requires("viewer")
@accepts(returns="Agent")
async def get_agent(aid: str):
    """One agent with its last heartbeat and its plugins' heartbeats."""
    ctx = _ctx()
    agent = await anyio.to_thread.run_sync(ctx.store.get_agent, agent_id(aid))
    return agent_view(agent, ctx.hub)


@bp.get("/agents/<aid>/config")
@requires("viewer")
@accepts(returns="AgentConfig")
async def get_agent_config(aid: str):
    """The plugin set the agent should run (what it receives as Command.configs)."""
    ctx = _ctx()
    await anyio.to_thread.run_sync(ctx.store.get_agent, agent_id(aid))  # 404 if unknown
    configs = (await ctx.manager.configs.compute([aid])).get(aid, [])
    return {"agent_id": aid, "configs": configs}


async def revoke_agent(ctx, aid: str) -> dict[str, Any]:
    """Revoke an agent's certificates, close its live stream and fail its open subtasks.

    Raises:
        NotFound: no such agent.
    """
    disconnected = aid in ctx.hub  # revoke_agent closes that stream
    serials = await ac.revoke_agent(ctx, aid)
    failed = await anyio.to_thread.run_sync(ctx.store.fail_agent_subtasks, aid, "the agent was revoked")
    ctx.manager.configs.forget(aid)
    return {"agent_id": aid, "revoked_serials": serials, "disconnected": disconnected, "failed_subtasks": failed}


@bp.delete("/agents/<aid>")
@requires("admin")
@accepts(returns="Revoked")
async def delete_agent(aid: str):
    """Delete an agent: revoke its certificates and close its stream (it must re-enroll to return).

    The agent's record stays, with status ``revoked``, so its history keeps a name.
    """
    ctx = _ctx()
    result = await revoke_agent(ctx, agent_id(aid))
    g.audit_detail = {"revoked_serials": result["revoked_serials"]}
    return result


def _tags_changed(aid: str, tags: list[str]) -> dict[str, Any]:
    g.audit_detail = {"tags": tags}
    _ctx().manager.configs.request([aid])
    return {"agent_id": aid, "tags": tags}


TAGS_REQUIRED = (replace(TAGS, required=True),)


@bp.put("/agents/<aid>/tags")
@requires("analyst")
@accepts(body=TAGS_REQUIRED, returns="Tags")
async def set_tags(aid: str, body):
    """Replace the agent's tags."""
    store = _ctx().store
    tags = await anyio.to_thread.run_sync(lambda: store.change_tags(agent_id(aid), replace=body["tags"]))
    return _tags_changed(aid, tags)


@bp.post("/agents/<aid>/tags")
@requires("analyst")
@accepts(body=TAGS_REQUIRED, returns="Tags")
async def add_tags(aid: str, body):
    """Add tags to the agent (tags it has already are kept once)."""
    store = _ctx().store
    tags = await anyio.to_thread.run_sync(lambda: store.change_tags(agent_id(aid), add=body["tags"]))
    return _tags_changed(aid, tags)


@bp.delete("/agents/<aid>/tags/<tag>")
@requires("analyst")
@accepts(returns="Tags")
async def remove_tag(aid: str, tag: str):
    """Remove one tag from the agent."""
    store = _ctx().store
    tag = TAG.check(tag, "tag", "path parameter")
    tags = await anyio.to_thread.run_sync(lambda: store.change_tags(agent_id(aid), remove=[tag]))
    return _tags_changed(aid, tags)


@bp.get("/tags")
@requires("viewer")
@accepts(returns="TagList")
async def list_tags():
    """Every tag in use, with how many agents carry it."""
    counts = await anyio.to_thread.run_sync(_ctx().store.tag_counts)
    return {"items": [{"tag": t, "agents": n} for t, n in counts.items()]}
