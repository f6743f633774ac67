"""Admin pages: users (create, change role, disable, reset password, delete) and the audit log.

Both go through the manager's routes (``users.*``, ``audit.list_audit``), so the
guards are the API's: admins only, nobody disables, demotes or deletes
themselves, and no change leaves the server without an enabled admin.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from quart import current_app, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from elkeid.server.store import ROLES

from ._actions import REFUSALS, act, audited, permits, refusal
from ._console import bp, render
from ._paging import choice_arg, page_count, page_of, text_arg
from .errors import BadForm

AUDIT_PER_PAGE = 100
OUTCOMES = ("ok", "denied", "rejected", "error")
_AUDIT_TEXT = ("username", "action", "target")
_TIME_FORMAT = "%Y-%m-%dT%H:%M"
_CHANGES = {"role", "disable", "enable", "password"}
_NOTICES = {
    "created": "User {user} created.",
    "role": "The role of {user} is changed; their sessions have ended.",
    "disable": "{user} is disabled and logged out everywhere.",
    "enable": "{user} may log in again.",
    "password": "The password of {user} is reset; their sessions have ended.",
    "deleted": "User {user} deleted.",
}


# --- users ------------------------------------------------------------------------------
async def _users_page(http_status: int = 200, error: str = "", *, form=None):
    users = (await act("users.list_users"))["items"]
    done = request.args.get("done", "")
    notice = _NOTICES[done].format(user=request.args.get("user", "")) if done in _NOTICES else ""
    return render("users.html", http_status, active="users", users=users, roles=ROLES, error=error, notice=notice,
                  form=form or {})  # fmt: skip


@bp.get("/users")
@permits("users.list_users")
async def users():
    return await _users_page()


@bp.post("/users")
@audited("users.create_user")
@permits("users.create_user")
async def create_user():
    form = await request.form
    body = {k: form.get(k) or None for k in ("username", "password", "role")}
    if body["password"] is not None and body["password"] != form.get("password_again"):
        return await _users_page(400, "The two passwords differ.", form=form)
    try:
        user = await act("users.create_user", body=body)
    except REFUSALS as exc:
        return await _users_page(*refusal(exc), form=form)
    return redirect(url_for("console.users", done="created", user=user["username"]))


def change_body(form) -> tuple[str, dict]:
    """(what changes, the ``PATCH /api/v1/users/NAME`` body) for one of the user row's forms.

    Raises:
        BadForm: an unknown change.
    """
    change = form.get("change") or ""
    if change not in _CHANGES:
        raise BadForm(f"unknown change {change[:40]!r}; choose one of {', '.join(sorted(_CHANGES))}")
    if change == "role":
        return change, {"role": form.get("role") or None}
    if change == "password":
        return change, {"password": form.get("password") or None}
    return change, {"disabled": change == "disable"}


@bp.post("/users/<name>")
@audited("users.change_user")
@permits("users.change_user")
async def change_user(name: str):
    form = await request.form
    try:
        change, body = change_body(form)
        user = await act("users.change_user", name=name, body=body)
    except REFUSALS as exc:
        return await _users_page(*refusal(exc))
    return redirect(url_for("console.users", done=change, user=user["username"]))


@bp.post("/users/<name>/delete")
@audited("users.delete_user")
@permits("users.delete_user")
async def delete_user(name: str):
    try:
        await act("users.delete_user", name=name)
    except REFUSALS as exc:
        return await _users_page(*refusal(exc))
    return redirect(url_for("console.users", done="deleted", user=name))


# --- audit ------------------------------------------------------------------------------
def _unix(text: str, name: str) -> str:
    """A datetime-local value (UTC) as unix seconds, for the API's since/until."""
    try:
        moment = datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise BadForm(f"{name} must be a date and time like 2025-01-31T12:00 (UTC), not {text[:40]!r}") from None
    return str(moment.timestamp())


def audit_query(args) -> tuple[MultiDict, dict[str, str], int]:
    """(the ``GET /api/v1/audit`` query, the filters as given, the page) for the audit page's arguments.

    Raises:
        BadForm: an overlong filter, an unknown outcome, a bad time or page.
    """
    filters = {name: text_arg(args, name) for name in _AUDIT_TEXT}
    filters["outcome"] = choice_arg(args, "outcome", OUTCOMES)
    page = page_of(args)
    query = MultiDict({k: v for k, v in filters.items() if v})
    for name in ("since", "until"):
        filters[name] = text_arg(args, name, 32)
        if filters[name]:
            query[name] = _unix(filters[name], name)
    query["page"], query["page_size"] = str(page), str(AUDIT_PER_PAGE)
    return query, filters, page


def _state_changing_actions() -> list[str]:
    """Every API endpoint the audit log can name (for the action filter's suggestions)."""
    out = set()
    for rule in current_app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and (rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}:
            out.add(rule.endpoint)
    return sorted(out)


@bp.get("/audit")
@permits("audit.list_audit")
async def audit():
    query, filters, page = audit_query(request.args)
    listing = await act("audit.list_audit", query=query)
    return render("audit.html", active="audit", entries=listing["items"], total=listing["total"], page=page,
                  pages=page_count(listing["total"], AUDIT_PER_PAGE), filters=filters, outcomes=OUTCOMES,
                  filter_args={k: v for k, v in filters.items() if v},
                  actions=_state_changing_actions(), detail_text=_detail_text)  # fmt: skip


def _detail_text(detail: dict) -> str:
    return json.dumps(detail, sort_keys=True, ensure_ascii=False) if detail else ""
