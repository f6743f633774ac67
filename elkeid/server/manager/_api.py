"""The REST API under /api/v1: sessions (login, logout, me) and the OpenAPI document.

The other resources live in their own modules (``_agents``, ``_users``,
``_tasks``, ``_components``, ``_audit``), each a blueprint under /api/v1.
"""

from __future__ import annotations

import anyio
from quart import Blueprint, current_app, g, request

from ._auth import bearer_token, requires
from ._openapi import build_openapi
from ._passwords import WeakPassword, hash_password, verify_password
from ._spec import Field, accepts
from .errors import BadRequest, TooManyRequests, Unauthorized

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _ctx():
    return current_app.extensions["elkeid"]


LOGIN = (Field("username", "string", required=True, max_len=64), Field("password", "string", required=True,
                                                                      max_len=1024))  # fmt: skip


@bp.post("/login")
@accepts(body=LOGIN, returns="Session")
async def login(body):
    """Exchange a username and password for a bearer token.

    Failed attempts are counted per username and per source address; past the
    limit the answer is 429 with Retry-After, whatever the password.
    """
    username, password = body["username"], body["password"]
    g.audit_user = username
    ctx = _ctx()
    throttle, ip = ctx.manager.throttle, request.remote_addr or ""
    wait = throttle.retry_after(username, ip)
    if wait:
        raise TooManyRequests(f"too many failed logins for this user or address; try again in {wait} s",
                              retry_after=wait)  # fmt: skip
    user = await anyio.to_thread.run_sync(ctx.store.get_user, username)
    # Verify against a dummy hash when the user is unknown, so timing does not tell.
    stored = user["password_hash"] if user else _DUMMY_HASH
    ok = await anyio.to_thread.run_sync(verify_password, password, stored)
    if not ok or user is None or user["disabled"]:
        throttle.failed(username, ip)
        raise Unauthorized("wrong username or password")
    throttle.succeeded(username)
    token, expires = await anyio.to_thread.run_sync(ctx.store.issue_api_token, username, ctx.config.api_token_ttl)
    return {"token": token, "expires_at": expires, "username": username, "role": user["role"]}


@bp.post("/logout")
@requires("viewer")
@accepts(returns="Ok")
async def logout():
    """End the session of the bearer token."""
    await anyio.to_thread.run_sync(_ctx().store.revoke_api_token, bearer_token())
    return {"ok": True}


@bp.get("/me")
@requires("viewer")
@accepts(returns="Me")
async def me():
    """Who the bearer token belongs to."""
    return {"username": g.user["username"], "role": g.user["role"], "expires_at": g.user["expires_at"]}


CHANGE_PASSWORD = (Field("current_password", "string", required=True, max_len=1024),
                   Field("new_password", "string", required=True, max_len=1024,
                         description="at least 8 characters"))  # fmt: skip


@bp.post("/me/password")
@requires("viewer")
@accepts(body=CHANGE_PASSWORD, returns="Ok")
async def change_own_password(body):
    """Change one's own password; every session of the user ends (log in again)."""
    store = _ctx().store
    username = g.user["username"]
    user = await anyio.to_thread.run_sync(store.get_user, username)
    if user is None or not await anyio.to_thread.run_sync(verify_password, body["current_password"],
                                                          user["password_hash"]):  # fmt: skip
        raise Unauthorized("the current password is wrong")
    try:
        hashed = await anyio.to_thread.run_sync(hash_password, body["new_password"])
    except WeakPassword as exc:
        raise BadRequest(f"field new_password: {exc}") from exc
    await anyio.to_thread.run_sync(store.set_password, username, hashed)
    return {"ok": True}


@bp.get("/openapi.json")
async def openapi():
    """This API's OpenAPI 3.1 description, generated from the routes themselves."""
    doc = current_app.extensions.get("elkeid_openapi")
    if doc is None:
        doc = current_app.extensions["elkeid_openapi"] = build_openapi(current_app)
    return doc


_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
