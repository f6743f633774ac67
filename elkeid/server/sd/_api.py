"""The /registry HTTP API (PROTOCOL.md, service discovery), on the HTTPS port.

Who may call what:

- ``GET /registry/detail`` is open: an agent asks it before it holds anything
  but the pinned CA (it verifies the server certificate), and the answer is
  addresses and load, which enrollment hands out anyway.
- ``GET /registry/list`` and ``/registry/summary`` need an API user (viewer or
  above) or the cluster credential.
- ``POST /registry/register`` and ``/registry/evict`` need the cluster
  credential (``Authorization: Bearer <pki/cluster.token>``).
"""

from __future__ import annotations

import json
import re

import anyio
from quart import Blueprint, current_app, request

from elkeid.server.manager._auth import ROLE_RANK, bearer_token
from elkeid.server.manager._validate import field, json_object
from elkeid.server.manager.errors import BadRequest, Forbidden, Unauthorized

from ._credential import credential_matches

bp = Blueprint("registry", __name__, url_prefix="/registry")

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
HOST_RE = re.compile(r"^[A-Za-z0-9_.:%\[\]-]{1,255}$")
MAX_COUNT = 100
MAX_EXTRA_BYTES = 4096


def _ctx():
    return current_app.extensions["elkeid"]


def _cluster_token() -> str:
    return current_app.extensions["elkeid_cluster_token"]


def _require_cluster() -> None:
    token = bearer_token()
    if token is None:
        raise Unauthorized("registry writes need the cluster credential: Authorization: Bearer <pki/cluster.token>")
    if not credential_matches(token, _cluster_token()):
        raise Forbidden("the bearer token is not this cluster's credential (pki/cluster.token)")


async def _require_reader() -> None:
    token = bearer_token()
    if token is None:
        raise Unauthorized("missing bearer token: log in (POST /api/v1/login) or present the cluster credential")
    if credential_matches(token, _cluster_token()):
        return
    user = await anyio.to_thread.run_sync(_ctx().store.resolve_api_token, token)
    if user is None or ROLE_RANK.get(user["role"], -1) < ROLE_RANK["viewer"]:
        raise Unauthorized("the bearer token is unknown or expired; log in again")


def _name(value: str, what: str = "name") -> str:
    if not NAME_RE.match(value):
        raise BadRequest(f"{what} {value[:64]!r} is not a service name (letters, digits, _ . -; at most 64)")
    return value


def _instance_key(data: dict) -> tuple[str, str, int]:
    name = _name(field(data, "name", str, max_len=64))
    ip = field(data, "ip", str, max_len=255)
    if not HOST_RE.match(ip):
        raise BadRequest(f"ip {ip[:64]!r} is not an address or host name")
    port = field(data, "port", int)
    if not 1 <= port <= 65535:
        raise BadRequest(f"port {port} is outside 1..65535")
    return name, ip, port


def _public(instance: dict) -> dict:
    return {k: instance[k] for k in ("name", "ip", "port", "weight", "extra")}


@bp.post("/register")
async def register():
    """Add or refresh an instance (instances re-register every 30 s; weight = live load)."""
    _require_cluster()
    data = await json_object()
    name, ip, port = _instance_key(data)
    weight = field(data, "weight", int, required=False, default=0)
    if not 0 <= weight <= 2**53:
        raise BadRequest(f"weight {weight} is outside 0..2^53")
    extra = field(data, "extra", dict, required=False, default={})
    try:
        size = len(json.dumps(extra, ensure_ascii=False).encode())
    except UnicodeEncodeError:
        raise BadRequest("field 'extra' holds text that is not valid Unicode") from None
    if size > MAX_EXTRA_BYTES:
        raise BadRequest(f"field 'extra' is {size} bytes of JSON; at most {MAX_EXTRA_BYTES}")
    await anyio.to_thread.run_sync(lambda: _ctx().store.register_instance(name, ip, port, weight, extra))
    return {"msg": "ok"}


@bp.post("/evict")
async def evict():
    """Remove an instance now (a server going away says so instead of ageing out)."""
    _require_cluster()
    name, ip, port = _instance_key(await json_object())
    removed = await anyio.to_thread.run_sync(_ctx().store.evict_instance, name, ip, port)
    return {"msg": "ok", "evicted": removed}


@bp.get("/detail")
async def detail():
    """Up to ``count`` healthy instances of ``name``, least loaded first."""
    name = _name(request.args.get("name", ""))
    raw = request.args.get("count", "1")
    try:
        count = int(raw)
    except ValueError:
        raise BadRequest(f"count {raw[:32]!r} is not a whole number") from None
    if not 1 <= count <= MAX_COUNT:
        raise BadRequest(f"count must be between 1 and {MAX_COUNT}, not {count}")
    found = await anyio.to_thread.run_sync(_ctx().store.healthy_instances, name, count)
    return {"msg": "ok", "data": [_public(i) for i in found]}


@bp.get("/list")
async def list_instances():
    """Every instance not yet evicted, with ``healthy`` and ``last_seen``."""
    await _require_reader()
    return {"msg": "ok", "data": await anyio.to_thread.run_sync(_ctx().store.list_instances)}


@bp.get("/summary")
async def summary():
    """Per service name: instances, healthy instances, total weight."""
    await _require_reader()
    out: dict[str, dict[str, int]] = {}
    for i in await anyio.to_thread.run_sync(_ctx().store.list_instances):
        s = out.setdefault(i["name"], {"instances": 0, "healthy": 0, "weight": 0})
        s["instances"] += 1
        s["healthy"] += int(i["healthy"])
        s["weight"] += i["weight"]
    return {"msg": "ok", "data": out}
