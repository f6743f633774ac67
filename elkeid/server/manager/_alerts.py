"""Alerts API: list and search, facet counts, one alert in full, triage, whitelist from alert, overview figures.

Triage follows ``elkeid.server.engine.TRANSITIONS`` (open -> acknowledged ->
resolved | false_positive; an ended alert may be re-opened); a step the rules
do not allow, or one made on an alert someone else moved meanwhile, is 409.
"""

from __future__ import annotations

import time
from dataclasses import replace

import anyio
from quart import Blueprint, current_app, g

from elkeid.server.detection import RuleFileError, RulesRefused
from elkeid.server.engine import SEVERITIES, STATUSES, TRANSITIONS, WhitelistError, whitelist_from_alert, whitelist_yaml
from elkeid.server.store import ALERT_SORTS, AlertFilter

from ._auth import requires
from ._fields import AGENT_ID
from ._rules import RULE_ID, rules_refused
from ._spec import Field, accepts, page_params, page_window, paged
from .errors import BadRequest, ConflictError, NotFoundError

bp = Blueprint("alerts", __name__, url_prefix="/api/v1")

_MAX_ID = 2**63 - 1
#: Longest triage comment.
MAX_COMMENT = 4096
#: Most buckets in one overview series.
MAX_BUCKETS = 1000
#: One event field a whitelist from alert may name (the console offers only the fields this accepts).
WHITELIST_FIELD = Field("field", "string", pattern=r"[A-Za-z_][A-Za-z0-9_.]{0,63}", hint="an event field name")

ALERT_FILTERS = (
    Field("severity", "array", items=Field("severity", "string", choices=SEVERITIES), max_len=len(SEVERITIES),
          description="any of these severities"),
    Field("status", "array", items=Field("status", "string", choices=STATUSES), max_len=len(STATUSES),
          description="any of these statuses"),
    Field("rule_id", "array", items=replace(RULE_ID, name="rule_id"), max_len=100, description="any of these rules"),
    replace(AGENT_ID, name="agent_id", description="this agent"),
    Field("hostname", "string", max_len=255, description="case-insensitive substring of the host name"),
    Field("since", "number", minimum=0, description="seen at or after (last_seen >= since), unix seconds"),
    Field("until", "number", minimum=0, description="raised at or before (first_seen <= until), unix seconds"),
    Field("q", "string", max_len=256, description="case-insensitive text in the rule, host or event values"),
)  # fmt: skip
ALERT_QUERY = (
    *ALERT_FILTERS,
    Field("sort", "string", choices=tuple(ALERT_SORTS), default="last_seen"),
    Field("order", "string", choices=("desc", "asc"), default="desc"),
    *page_params(500),
)
STATUS_CHANGE = (
    Field("status", "string", required=True, choices=STATUSES),
    Field("comment", "string", default="", max_len=MAX_COMMENT),
)
WHITELIST = (
    Field("fields", "array", items=WHITELIST_FIELD, max_len=32, default=[],
          description="event fields whose values must all equal the alert's for an event to be whitelisted"),
    Field("scope", "string", choices=("host", "all"), default="host",
          description="host: only on the alert's agent; all: every host (needs at least one field)"),
    Field("comment", "string", default="", max_len=MAX_COMMENT),
    Field("status", "string", choices=("resolved", "false_positive"),
          description="also move the alert to this status (with the comment)"),
)  # fmt: skip
STATS_QUERY = (
    Field("since", "number", minimum=0, description="unix seconds (default: 24 hours ago)"),
    Field("until", "number", minimum=0, description="unix seconds (default: now)"),
    Field("bucket", "integer", minimum=60, maximum=31 * 86400, default=3600, description="seconds per series point"),
    Field("top", "integer", minimum=1, maximum=100, default=10, description="how many top rules and hosts"),
)  # fmt: skip


def _ctx():
    return current_app.extensions["elkeid"]


def _id(alert_id: int) -> int:
    if alert_id > _MAX_ID:
        raise NotFoundError(f"no alert with id {alert_id}")
    return alert_id


def _filter(query) -> AlertFilter:
    """The store's search for the filters of ``ALERT_FILTERS``. Raises: BadRequest (since after until)."""
    if query["since"] is not None and query["until"] is not None and query["since"] > query["until"]:
        raise BadRequest(f"since ({query['since']:g}) is after until ({query['until']:g})")
    return AlertFilter(severities=query["severity"] or [], statuses=query["status"] or [],
                       rule_ids=query["rule_id"] or [], agent_id=query["agent_id"], hostname=query["hostname"],
                       since=query["since"], until=query["until"], text=query["q"])  # fmt: skip


@bp.get("/alerts")
@requires("viewer")
@accepts(query=ALERT_QUERY, returns="AlertList")
async def list_alerts(query):
    """Alerts matching every given filter, one page (without process chains and history)."""
    flt = _filter(query)
    offset, limit = page_window(query)
    items, total = await anyio.to_thread.run_sync(lambda: _ctx().store.list_alerts(
        flt, offset=offset, limit=limit, sort=query["sort"], descending=query["order"] == "desc"))  # fmt: skip
    return paged(items, total, query)


@bp.get("/alerts/facets")
@requires("viewer")
@accepts(query=ALERT_FILTERS, returns="AlertFacets")
async def alert_facets(query):
    """Alerts per status and per severity; each facet counts those matching every filter but its own."""
    flt = _filter(query)
    return await anyio.to_thread.run_sync(_ctx().store.alert_facets, flt)


@bp.get("/alerts/stats")
@requires("viewer")
@accepts(query=STATS_QUERY, returns="AlertStats")
async def alert_stats(query):
    """Overview figures: alerts raised per time bucket and severity, by status, top rules and hosts."""
    until = query["until"] if query["until"] is not None else time.time()
    since = query["since"] if query["since"] is not None else until - 86400
    if since > until:
        raise BadRequest(f"since ({since:g}) is after until ({until:g})")
    if (until - since) / query["bucket"] > MAX_BUCKETS:
        raise BadRequest(f"{(until - since) / query['bucket']:.0f} buckets asked for; at most {MAX_BUCKETS}: "
                         "use a larger bucket or a shorter range")  # fmt: skip
    return await anyio.to_thread.run_sync(lambda: _ctx().store.alert_stats(since, until, query["bucket"],
                                                                           top=query["top"]))  # fmt: skip


async def _alert(alert_id: int) -> dict:
    return await anyio.to_thread.run_sync(_ctx().store.get_alert, _id(alert_id))


@bp.get("/alerts/<int:alert_id>")
@requires("viewer")
@accepts(returns="Alert")
async def get_alert(alert_id: int):
    """One alert in full: its event, process chain, rule (as loaded now) and triage history."""
    alert = await _alert(alert_id)
    alert["rule"] = _ctx().detection.rules.rule_info(alert["rule_id"])
    return alert


async def _change_status(alert: dict, to: str, comment: str) -> dict:
    current = alert["status"]
    if to not in TRANSITIONS[current]:
        raise ConflictError(f"an alert that is {current} can go to {', '.join(TRANSITIONS[current])}, not {to}")
    user = g.user["username"]
    at = await anyio.to_thread.run_sync(
        lambda: _ctx().store.set_alert_status(alert["id"], current, to, by=user, comment=comment))
    _ctx().detection.publish("status", {"id": alert["id"], "status": to, "by": user, "at": at})
    return await _alert(alert["id"])


@bp.post("/alerts/<int:alert_id>/status")
@requires("analyst")
@accepts(body=STATUS_CHANGE, returns="Alert")
async def change_status(alert_id: int, body):
    """Move an alert to another status, with a comment; the step is kept in its history."""
    alert = await _alert(alert_id)
    g.audit_detail = {"from": alert["status"], "to": body["status"]}
    return await _change_status(alert, body["status"], body["comment"])


@bp.post("/alerts/<int:alert_id>/whitelist")
@requires("analyst")
@accepts(body=WHITELIST, returns="WhitelistResult")
async def whitelist(alert_id: int, body):
    """Silence this alert's rule where the chosen fields have this alert's values (at once, persisted).

    Makes a whitelist rule scoped to the alert's rule (and host, unless scope is
    all), stores it as the rule file whitelists/<id>.yaml and reloads the rules.
    """
    alert = await _alert(alert_id)
    user = g.user["username"]
    try:
        rule = whitelist_from_alert(alert, body["fields"], scope=body["scope"], created_by=user,
                                    comment=body["comment"])  # fmt: skip
    except WhitelistError as exc:
        raise BadRequest(str(exc)) from exc
    name = f"whitelists/{rule['id']}.yaml"
    g.audit_detail = {"whitelist": rule["id"], "fields": body["fields"], "scope": body["scope"]}
    try:
        report = await _ctx().detection.rules.put_file(name, whitelist_yaml([rule]), by=user)
    except RulesRefused as exc:
        raise rules_refused(exc) from exc
    except RuleFileError as exc:
        raise BadRequest(str(exc)) from exc
    if body["status"] is not None and body["status"] != alert["status"]:
        alert = await _change_status(alert, body["status"], body["comment"])
    return {"whitelist": rule, "file": name, "reload": report.as_dict(), "alert": alert}
