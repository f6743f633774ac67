"""Components API: plugin packages (upload, sign, download) and their assignment to agents.

A package is one executable file. On upload the server computes its SHA-256 and
signs ``(name, version, sha256)`` with its Ed25519 key (``_configs.sign_package``);
agents fetch it from ``/api/v1/components/download/<sha256>`` without a token
and check both before running it. The built-in plugins exist as components of
type ``builtin`` without a package.

Assignments pick agents by selector (tags: any of; platform, platform_family,
arch: equal to the last heartbeat's; ``{}``: every agent). Each change pushes
the new desired set to the agents it concerns.
"""

from __future__ import annotations

import hashlib
import json

import anyio
from quart import Blueprint, Response, current_app, g

from elkeid.server.store import BUILTIN

from ._auth import requires
from ._configs import sign_package
from ._fields import PLATFORM_FIELDS, TAG
from ._spec import Field, accepts
from .errors import BadRequest, NotFoundError

bp = Blueprint("components", __name__, url_prefix="/api/v1")

#: Largest plugin package accepted.
MAX_PACKAGE_BYTES = 64 * 1024 * 1024
UPLOAD_PATH = "/api/v1/components"
_SHA256 = "0123456789abcdef"
_MAX_ID = 2**31 - 1

_DETAIL = dict(max_len=65536, description="plugin options: a JSON object, as text")
NEW_COMPONENT = (
    Field("name", "string", required=True, pattern=r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}",
          hint="letters, digits and _ . -, at most 64", description="the plugin's name"),
    Field("version", "string", required=True, pattern=r"[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}",
          hint="letters, digits and . _ + ~ -, at most 64"),
    Field("type", "string", default="plugin", pattern=r"[a-z][a-z0-9_-]{0,31}",
          hint="lower-case letters, digits, _ and -; not builtin"),
    Field("detail", "string", default="", **_DETAIL),
    Field("description", "string", default="", max_len=1024),
    Field("file", "file", required=True, max_len=MAX_PACKAGE_BYTES, description="the plugin executable"),
)  # fmt: skip
SELECTOR = Field("selector", "object", required=True, description="which agents; {} = every agent",
                 fields=(Field("tags", "array", items=TAG, max_len=100, description="agents with any of these tags"),
                         *PLATFORM_FIELDS))  # fmt: skip
NEW_ASSIGNMENT = (
    Field("component_id", "integer", required=True, minimum=1, maximum=_MAX_ID),
    SELECTOR,
    Field("detail", "string", **{**_DETAIL, "description": "overrides the component's detail (JSON object text)"}),
)  # fmt: skip


def _ctx():
    return current_app.extensions["elkeid"]


def check_detail(text: str | None, name: str = "detail") -> None:
    if not text:
        return
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise BadRequest(f"field {name} must be a JSON object as text (or empty)")


def _id(value: int, what: str) -> int:
    # The int converter takes any digits; larger ids than the column holds cannot exist.
    if value > _MAX_ID:
        raise NotFoundError(f"no {what} with id {value}")
    return value


@bp.get("/components")
@requires("viewer")
@accepts(returns="ComponentList")
async def list_components():
    """Every component: uploaded packages and the built-in plugins."""
    return {"items": await anyio.to_thread.run_sync(_ctx().store.list_components)}


@bp.post("/components")
@requires("admin")
@accepts(form=NEW_COMPONENT, status=201, returns="Component")
async def upload_component(form):
    """Upload a plugin package (multipart/form-data); the server hashes and signs it."""
    ctx = _ctx()
    g.audit_target = f"{form['name']}@{form['version']}"
    if form["type"] == BUILTIN or form["version"] == BUILTIN:
        raise BadRequest("builtin is reserved for the agent's own plugins; choose another type and version")
    if not form["file"]:
        raise BadRequest("field file is empty")
    check_detail(form["detail"])
    data: bytes = form["file"]
    sha = await anyio.to_thread.run_sync(lambda: hashlib.sha256(data).hexdigest())
    signature = sign_package(ctx.pki.signing_key, form["name"], form["version"], sha)
    g.audit_detail = {"sha256": sha, "size": len(data)}
    component = await anyio.to_thread.run_sync(lambda: ctx.store.add_component(
        name=form["name"], version=form["version"], type=form["type"], detail=form["detail"],
        description=form["description"], sha256=sha, signature=signature, data=data,
        created_by=g.user["username"]))  # fmt: skip
    return component, 201


@bp.get("/components/<int:cid>")
@requires("viewer")
@accepts(returns="Component")
async def get_component(cid: int):
    """One component."""
    return await anyio.to_thread.run_sync(_ctx().store.get_component, _id(cid, "component"))


@bp.delete("/components/<int:cid>")
@requires("admin")
@accepts(returns="Ok")
async def delete_component(cid: int):
    """Delete an unassigned, uploaded component (and its package, if no other component shares it)."""
    await anyio.to_thread.run_sync(_ctx().store.delete_component, _id(cid, "component"))
    return {"ok": True}


@bp.get("/components/download/<sha256>")
async def download(sha256: str):
    """A plugin package by its SHA-256 (no token needed: agents verify its signature)."""
    if len(sha256) != 64 or sha256.strip(_SHA256):
        raise NotFoundError(f"no package with sha256 {sha256[:80]!r}")
    data = await anyio.to_thread.run_sync(_ctx().store.component_package, sha256)
    if data is None:
        raise NotFoundError(f"no package with sha256 {sha256}")
    return Response(data, mimetype="application/octet-stream",
                    headers={"ETag": f'"{sha256}"', "Cache-Control": "public, max-age=31536000, immutable",
                             "Content-Disposition": f'attachment; filename="{sha256}"'})  # fmt: skip


@bp.get("/components/assignments")
@requires("viewer")
@accepts(returns="AssignmentList")
async def list_assignments():
    """Every assignment, oldest first (for one plugin name the newest matching one wins)."""
    return {"items": await anyio.to_thread.run_sync(_ctx().store.list_assignments)}


@bp.post("/components/assignments")
@requires("admin")
@accepts(body=NEW_ASSIGNMENT, status=201, returns="Assignment")
async def create_assignment(body):
    """Assign a component to the agents its selector picks; they receive their new config at once."""
    ctx = _ctx()
    check_detail(body["detail"])
    selector = {k: v for k, v in body["selector"].items() if v}
    assignment = await anyio.to_thread.run_sync(
        ctx.store.add_assignment, body["component_id"], selector, body["detail"], g.user["username"]
    )
    g.audit_target, g.audit_detail = str(assignment["id"]), {"component": assignment["component"], "selector": selector}
    ctx.manager.configs.request()
    return assignment, 201


@bp.delete("/components/assignments/<int:assignment_id>")
@requires("admin")
@accepts(returns="Ok")
async def delete_assignment(assignment_id: int):
    """Remove an assignment; the agents it concerned receive their new config at once."""
    ctx = _ctx()
    await anyio.to_thread.run_sync(ctx.store.delete_assignment, _id(assignment_id, "assignment"))
    ctx.manager.configs.request()
    return {"ok": True}


#: (method, path) of every route that takes a plugin package: the API's upload, and
#: those other front ends register with :func:`accept_packages_at` (the console's form).
PACKAGE_ROUTES = {("POST", UPLOAD_PATH)}


def accept_packages_at(method: str, path: str) -> None:
    """Let ``method path`` take a body as large as a plugin package (a multipart upload form)."""
    PACKAGE_ROUTES.add((method.upper(), path))


def max_body_for(method: str, path: str) -> int | None:
    """A larger body limit for package uploads than for every other request."""
    if (method, path) in PACKAGE_ROUTES:
        return MAX_PACKAGE_BYTES + 1024 * 1024
    return None

