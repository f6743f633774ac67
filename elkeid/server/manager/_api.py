"""The REST API under /api/v1: sessions and agents."""

from __future__ import annotations

import time

import anyio
from quart import Blueprint, current_app, g

from elkeid.server.store import NotFound

from ._auth import bearer_token, requires
from ._passwords import verify_password
from ._validate import agent_id, field, json_object
from .errors import NotFoundError, Unauthorized

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _ctx():
    return current_app.extensions["elkeid"]


@bp.post("/login")
async def login():
    """Exchange a username and password for a bearer token."""
    data = await json_object()
    username = field(data, "username", str, max_len=64)
    password = field(data, "password", str, max_len=1024)
    store = _ctx().store
    user = await anyio.to_thread.run_sync(store.get_user, username)
    # Verify against a dummy hash when the user is unknown, so timing does not tell.
    stored = user["password_hash"] if user else _DUMMY_HASH
    ok = await anyio.to_thread.run_sync(verify_password, password, stored)
    if not ok or user is None or user["disabled"]:
        raise Unauthorized("wrong username or password")
    token, expires = await anyio.to_thread.run_sync(store.issue_api_token, username, _ctx().config.api_token_ttl)
    return {"token": token, "expires_at": expires, "username": username, "role": user["role"]}


@bp.post("/logout")
@requires("viewer")
async def logout():
    await anyio.to_thread.run_sync(_ctx().store.revoke_api_token, bearer_token())
    return {"ok": True}


@bp.get("/me")
@requires("viewer")
async def me():
    return {"username": g.user["username"], "role": g.user["role"], "expires_at": g.user["expires_at"]}


def _agent_view(a: dict, hub) -> dict:
    hb = a["last_heartbeat"]
    # "online" means a live stream on this server, or (shared database) fresh elsewhere.
    a["online"] = a["id"] in hub or (a["online"] and (a["last_seen"] or 0) > time.time() - 180)
    a["kernel_version"] = hb.get("kernel_version", "")
    a["platform"] = hb.get("platform", "")
    a["platform_version"] = hb.get("platform_version", "")
    a["arch"] = hb.get("arch", "")
    return a


@bp.get("/agents")
@requires("viewer")
async def list_agents():
    ctx = _ctx()
    agents = await anyio.to_thread.run_sync(ctx.store.list_agents)
    items = [_agent_view(a, ctx.hub) for a in agents]
    return {"items": items, "total": len(items)}


@bp.get("/agents/<aid>")
@requires("viewer")
async def get_agent(aid: str):
    ctx = _ctx()
    try:
        agent = await anyio.to_thread.run_sync(ctx.store.get_agent, agent_id(aid))
    except NotFound as exc:
        raise NotFoundError(str(exc)) from exc
    return _agent_view(agent, ctx.hub)


_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
