"""The audit log: every state-changing API call, and GET /api/v1/audit for admins.

:func:`record` runs after every POST, PUT, PATCH and DELETE request under
/api/v1 (so routes added later are covered without doing anything) and stores who (the token's
user, or the name a login tried), what (the endpoint and method), when, on what
(a route's ``g.audit_target``, else its path arguments), how it ended (status
and outcome) and from where. Routes may add ``g.audit_detail``; request bodies
are never stored (they hold passwords).
"""

from __future__ import annotations

import logging

import anyio
from quart import Blueprint, Response, current_app, g, request

from elkeid.server.store import AuditFilter

from ._auth import requires
from ._fields import USERNAME
from ._spec import Field, accepts, page_params, page_window, paged

log = logging.getLogger(__name__)
bp = Blueprint("audit", __name__, url_prefix="/api/v1")

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: What people call. Machine-to-machine writes elsewhere (service discovery's
#: re-registration every 30 s) would drown the log.
AUDITED_PREFIX = "/api/v1/"
OUTCOMES = ("ok", "denied", "rejected", "error")

AUDIT_QUERY = (
    Field("username", "string", pattern=USERNAME.pattern, hint=USERNAME.hint),
    Field("action", "string", max_len=64, description="endpoint, e.g. users.create_user"),
    Field("target", "string", max_len=255),
    Field("outcome", "string", choices=OUTCOMES),
    Field("since", "number", minimum=0, description="unix seconds, inclusive"),
    Field("until", "number", minimum=0, description="unix seconds, exclusive"),
    *page_params(500),
)  # fmt: skip


def outcome_of(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (401, 403, 429):
        return "denied"
    return "rejected" if status < 500 else "error"


async def record(response: Response) -> Response:
    """``after_request`` hook: log a state-changing call."""
    if request.method not in STATE_CHANGING or not request.path.startswith(AUDITED_PREFIX):
        return response
    user = g.get("user")
    await audit_call(request.endpoint or "unrouted", user["username"] if user else g.get("audit_user", ""),
                     response.status_code)  # fmt: skip
    return response


async def audit_call(action: str, username: str, status: int) -> None:
    """Write the audit entry of the current request as ``action`` (an API endpoint name).

    Target and detail come from the route (``g.audit_target``, ``g.audit_detail``),
    else from the path arguments of an in-process call (:func:`~._inprocess.call_route`)
    or of the request. Method, path and address are the request's own: an action taken
    through the console reads the same as through the API but for its path.
    A failure to write is logged, never raised (the action has happened).
    """
    view_args = request.view_args or {}
    target = g.get("audit_target") or g.get("audit_default_target") or "/".join(str(v) for v in view_args.values())
    entry = {
        "username": username,
        "action": action,
        "method": request.method,
        "path": request.path,
        "target": str(target),
        "status": status,
        "outcome": outcome_of(status),
        "source_ip": request.remote_addr or "",
        "detail": g.get("audit_detail") or {},
    }
    try:
        await anyio.to_thread.run_sync(lambda: current_app.extensions["elkeid"].store.add_audit(**entry))
    except Exception:  # noqa: BLE001 - the call has happened; losing its log line must not hide that
        log.exception("could not write the audit log entry %r", entry)


@bp.get("/audit")
@requires("admin")
@accepts(query=AUDIT_QUERY, returns="AuditList")
async def list_audit(query):
    """The audit log, newest first: who did what, when, to what, and how it ended."""
    flt = AuditFilter(username=query["username"] or "", action=query["action"] or "", target=query["target"] or "",
                      outcome=query["outcome"] or "", since=query["since"], until=query["until"])  # fmt: skip
    offset, limit = page_window(query)
    items, total = await anyio.to_thread.run_sync(
        lambda: current_app.extensions["elkeid"].store.list_audit(flt, offset=offset, limit=limit)
    )
    return paged(items, total, query)
