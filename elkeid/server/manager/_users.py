"""Users API (admins): list, create, change role, disable, reset password, delete.

An admin cannot disable, demote or delete themselves (another admin must), and
no change may leave the server without an enabled admin (409). Store errors
(NotFound, Conflict) become 404 and 409 in ``_app.py``.
"""

from __future__ import annotations

from dataclasses import replace

import anyio
from quart import Blueprint, current_app, g

from ._auth import requires
from ._fields import PASSWORD, ROLE, USERNAME
from ._passwords import WeakPassword, hash_password
from ._spec import Field, accepts
from .errors import BadRequest, ConflictError

bp = Blueprint("users", __name__, url_prefix="/api/v1")

NEW_USER = (USERNAME, PASSWORD, replace(ROLE, required=True))
CHANGE_USER = (ROLE, Field("disabled", "boolean", description="a disabled user cannot log in; sessions end"),
               replace(PASSWORD, required=False, description="a new password (at least 8 characters)"))  # fmt: skip


def _store():
    return current_app.extensions["elkeid"].store


def _username(name: str) -> str:
    return USERNAME.check(name, "username", "path parameter")


async def _hash(password: str) -> str:
    try:
        return await anyio.to_thread.run_sync(hash_password, password)
    except WeakPassword as exc:
        raise BadRequest(f"field password: {exc}") from exc


@bp.get("/users")
@requires("admin")
@accepts(returns="UserList")
async def list_users():
    """Every user, with role and whether disabled."""
    return {"items": await anyio.to_thread.run_sync(_store().list_users)}


@bp.post("/users")
@requires("admin")
@accepts(body=NEW_USER, status=201, returns="User")
async def create_user(body):
    """Create a user."""
    g.audit_target, g.audit_detail = body["username"], {"role": body["role"]}
    hashed = await _hash(body["password"])
    await anyio.to_thread.run_sync(_store().add_user, body["username"], hashed, body["role"])
    return await anyio.to_thread.run_sync(_store().user_info, body["username"]), 201


@bp.get("/users/<name>")
@requires("admin")
@accepts(returns="User")
async def get_user(name: str):
    """One user."""
    return await anyio.to_thread.run_sync(_store().user_info, _username(name))


@bp.patch("/users/<name>")
@requires("admin")
@accepts(body=CHANGE_USER, returns="User")
async def change_user(name: str, body):
    """Change a user's role, disable or enable them, or set a new password (their sessions end)."""
    name = _username(name)
    g.audit_detail = {k: v for k, v in body.items() if k != "password" and v is not None}
    if body["password"] is not None:
        g.audit_detail["password"] = "changed"
    if name == g.user["username"] and (body["disabled"] or body["role"] not in (None, "admin")):
        raise ConflictError("you cannot disable or demote yourself; ask another admin")
    hashed = await _hash(body["password"]) if body["password"] is not None else None
    return await anyio.to_thread.run_sync(
        lambda: _store().update_user(name, role=body["role"], disabled=body["disabled"], password_hash=hashed)
    )


@bp.delete("/users/<name>")
@requires("admin")
@accepts(returns="Ok")
async def delete_user(name: str):
    """Delete a user and end their sessions."""
    name = _username(name)
    if name == g.user["username"]:
        raise ConflictError("you cannot delete yourself; ask another admin")
    await anyio.to_thread.run_sync(_store().delete_user, name)
    return {"ok": True}
