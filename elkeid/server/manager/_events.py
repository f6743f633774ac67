"""GET /api/v1/events: search the recent-event store.

``?agent_id=A&data_type=N[,M]&since=UNIX&until=UNIX&field.NAME=VALUE&limit=L&cursor=C``
-> ``{"items": [{"id", "agent_id", "data_type", "timestamp", "received_at", "fields"}],
"next_cursor": "..." | null}``, newest first. Every parameter is checked; an
unknown one is an error rather than silently ignored (a typo would otherwise
widen the search).
"""

from __future__ import annotations

import math
import re

import anyio
from quart import Blueprint, current_app, request

from elkeid.server.store import EventQuery

from ._auth import requires
from ._validate import agent_id
from .errors import BadRequest

bp = Blueprint("events", __name__, url_prefix="/api/v1")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_DATA_TYPES = 64
MAX_FIELD_FILTERS = 8
MAX_VALUE_LEN = 4096
FIELD_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_KNOWN = {"agent_id", "data_type", "since", "until", "limit", "cursor"}


def _single(name: str) -> str | None:
    values = request.args.getlist(name)
    if len(values) > 1:
        raise BadRequest(f"query parameter {name!r} is given {len(values)} times; give it once")
    return values[0] if values else None


def _int(name: str, text: str, lo: int, hi: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} {text[:32]!r} is not a whole number") from None
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}, not {value}")
    return value


def _time(name: str) -> float | None:
    text = _single(name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"{name} {text[:32]!r} is not a unix time in seconds") from None
    if not math.isfinite(value):
        raise BadRequest(f"{name} must be a finite unix time in seconds")
    return value


def parse_query() -> EventQuery:
    """The request's query string as an :class:`EventQuery`. Raises: BadRequest."""
    q = EventQuery()
    for name in request.args:
        if name not in _KNOWN and not name.startswith("field."):
            raise BadRequest(f"unknown query parameter {name[:64]!r}; known: {', '.join(sorted(_KNOWN))}, field.NAME")
    if (aid := _single("agent_id")) is not None:
        q.agent_id = agent_id(aid)
    if (types := _single("data_type")) is not None:
        parts = [p.strip() for p in types.split(",") if p.strip()]
        if not parts or len(parts) > MAX_DATA_TYPES:
            raise BadRequest(f"data_type takes 1 to {MAX_DATA_TYPES} comma-separated numbers")
        q.data_types = [_int("data_type", p, -(2**31), 2**31 - 1) for p in parts]
    q.since, q.until = _time("since"), _time("until")
    if q.since is not None and q.until is not None and q.since > q.until:
        raise BadRequest(f"since ({q.since:g}) is after until ({q.until:g})")
    if (limit := _single("limit")) is not None:
        q.limit = _int("limit", limit, 1, MAX_LIMIT)
    else:
        q.limit = DEFAULT_LIMIT
    if (cursor := _single("cursor")) is not None:
        if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 19:
            raise BadRequest("cursor is not one this API handed out; pass next_cursor from the previous page")
        q.before_id = int(cursor)
    for name in request.args:
        if not name.startswith("field."):
            continue
        fname = name[len("field."):]
        if not FIELD_NAME_RE.match(fname):
            raise BadRequest(f"field name {fname[:64]!r} is not valid (letters, digits, _ . -; at most 64)")
        value = _single(name)
        if len(value) > MAX_VALUE_LEN:
            raise BadRequest(f"the value for field.{fname} is longer than {MAX_VALUE_LEN}")
        q.fields[fname] = value
    if len(q.fields) > MAX_FIELD_FILTERS:
        raise BadRequest(f"at most {MAX_FIELD_FILTERS} field.NAME filters per search")
    return q


@bp.get("/events")
@requires("viewer")
async def search_events():
    """Recent events matching every given condition, newest first, one page."""
    q = parse_query()
    store = current_app.extensions["elkeid"].store
    items, next_id = await anyio.to_thread.run_sync(store.search_events, q)
    return {"items": items, "next_cursor": None if next_id is None else str(next_id)}
