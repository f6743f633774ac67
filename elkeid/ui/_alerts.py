"""Alerts: the list (live), one alert in full, triage and whitelist forms, a host's recent alerts.

Every read and change goes through the manager's alert routes (``alerts.*``),
run in process for the session's user (``_actions.act``): the same role checks
(viewers read; analysts triage and whitelist), validation, 409s and audit
entries as the API. The list and the detail page listen to the live ``alerts``
topic (``_alertwatch``) and re-read their own parts when something changes.
"""

from __future__ import annotations

import re
from typing import Any

from quart import redirect, request, url_for
from werkzeug.datastructures import MultiDict

from elkeid.server.engine import SEVERITIES, STATUSES
from elkeid.server.store import LIVE_STATUSES, Conflict

from ._actions import REFUSALS, act, audited, permits, refusal
from ._alertquery import ALERTS_PER_PAGE, AlertQuery, time_input
from ._alertview import STATUS_LABELS, attack_url, event_rows, next_steps, whitelist_fields
from ._console import bp, render
from ._paging import page_count
from ._proctree import process_tree

#: Alerts the host page lists (the newest first), with a link to the rest.
HOST_ALERTS = 10
_WL_ID = re.compile(r"^wl\.[A-Za-z0-9_.-]{1,120}$")
_NOTICES = {"status": "The alert's status is changed.", "whitelisted": "The whitelist is in force."}


async def facet_counts(query: AlertQuery) -> dict[str, dict[str, int]]:
    """Alerts per status and per severity that match the other filters (a count beside each choice).

    One grouped query (``alerts.alert_facets``), however many choices there are.
    """
    return await act("alerts.alert_facets", query=query.filter_query())


@bp.get("/alerts")
async def alerts():
    query = AlertQuery.from_args(request.args)
    listing = await act("alerts.list_alerts", query=query.api_query())
    return render("alerts.html", active="alerts", query=query, alerts=listing["items"], total=listing["total"],
                  pages=page_count(listing["total"], ALERTS_PER_PAGE), counts=await facet_counts(query),
                  severities=SEVERITIES, statuses=STATUSES, status_labels=STATUS_LABELS,
                  since_value=time_input(query.since), until_value=time_input(query.until))  # fmt: skip


def _whitelist_id(text: str) -> str:
    """The whitelist id a redirect names, if it looks like one (a link cannot make the page say more)."""
    return text if _WL_ID.match(text) else ""


async def _alert_page(alert_id: int, form: MultiDict | None = None, http_status: int = 200, error: str = "",
                      failed: str = ""):  # fmt: skip
    """The detail page; after a refused form, with its message beside that form (``failed``)."""
    alert = await act("alerts.get_alert", alert_id=alert_id)
    args = request.args
    return render("alert.html", http_status, active="alerts", alert=alert, status_labels=STATUS_LABELS,
                  tree=process_tree(alert["process_chain"]), event=event_rows(alert["event"]),
                  appended=event_rows(alert["fields"]), steps=next_steps(alert["status"]),
                  wl_fields=whitelist_fields(alert["event"]), attack_url=attack_url, form=form or MultiDict(),
                  error=error, error_status=http_status, failed=failed, notice=_NOTICES.get(args.get("done", ""), ""),
                  whitelist_id=_whitelist_id(args.get("wl", "")))  # fmt: skip


@bp.get("/alerts/<int:alert_id>")
async def alert(alert_id: int):
    return await _alert_page(alert_id)


async def _still(alert_id: int, seen: str) -> None:
    """Refuse (409) when the alert's status is no longer the one the page showed."""
    if not seen:
        return
    now = (await act("alerts.get_alert", alert_id=alert_id))["status"]
    if now != seen:
        now, seen = STATUS_LABELS.get(now, now), STATUS_LABELS.get(seen, seen)
        raise Conflict(f"this alert is {now} now, not {seen} as your page showed: someone else changed it "
                       "meanwhile (see its history); nothing was changed")  # fmt: skip


@bp.post("/alerts/<int:alert_id>/status")
@audited("alerts.change_status")
@permits("alerts.change_status")
async def change_status(alert_id: int):
    """Acknowledge, resolve, mark a false positive or re-open, with a comment."""
    form = await request.form
    try:
        await _still(alert_id, form.get("from", ""))
        await act("alerts.change_status", alert_id=alert_id,
                  body={"status": form.get("status", ""), "comment": form.get("comment", "")})  # fmt: skip
    except REFUSALS as exc:
        return await _alert_page(alert_id, form, *refusal(exc), failed="triage")
    return redirect(url_for("console.alert", alert_id=alert_id, done="status") + "#triage")


@bp.post("/alerts/<int:alert_id>/whitelist")
@audited("alerts.whitelist")
@permits("alerts.whitelist")
async def whitelist(alert_id: int):
    """Whitelist from alert: the chosen fields' values (on this host, or every host), with a comment."""
    form = await request.form
    body: dict[str, Any] = {"fields": form.getlist("field"), "scope": form.get("scope", "host"),
                            "comment": form.get("comment", "")}  # fmt: skip
    if form.get("also"):
        body["status"] = form.get("also")
    try:
        await _still(alert_id, form.get("from", ""))
        answer = await act("alerts.whitelist", alert_id=alert_id, body=body)
    except REFUSALS as exc:
        return await _alert_page(alert_id, form, *refusal(exc), failed="whitelist")
    return redirect(url_for("console.alert", alert_id=alert_id, done="whitelisted", wl=answer["whitelist"]["id"])
                    + "#whitelist")  # fmt: skip


async def host_alerts(agent_id: str) -> dict[str, Any]:
    """The host page's alerts section: the newest alerts of ``agent_id``, how many there are, how many are live."""
    listing = await act("alerts.list_alerts", query=MultiDict({"agent_id": agent_id, "page_size": str(HOST_ALERTS)}))
    live = await act("alerts.list_alerts", query=MultiDict({"agent_id": agent_id, "page_size": "1",
                                                            "status": ",".join(LIVE_STATUSES)}))  # fmt: skip
    return {"items": listing["items"], "total": listing["total"], "live": live["total"], "agent_id": agent_id,
            "status_labels": STATUS_LABELS}  # fmt: skip
