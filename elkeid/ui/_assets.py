"""Asset inventory in the console: the host page's tabs, the fleet search page, the change feeds.

Every read goes through the API's asset routes, run in process for the session's
user (``_actions.act``): ``assets.agent_assets``, ``assets.search_assets``,
``assets.list_changes`` and ``assets.summary``. Their checks are the API's, so a
bad field filter is refused with the API's message (an error page with its 400).
Columns and formats come from ``_assetspec``.

The item routes take their ``field.*`` query parameters as a ``filters`` argument
(``manager._assets.accepts_filters``); ``act`` passes it by name like a path
parameter, and the route parses and checks it exactly as over HTTP.
"""

from __future__ import annotations

from typing import Any, Mapping

from quart import request
from werkzeug.datastructures import MultiDict

from . import _assetspec
from ._actions import act
from ._console import bp, render
from ._paging import choice_arg, page_count, page_of, text_arg
from .errors import BadForm

ITEMS_PER_PAGE = 100
CHANGES_PER_PAGE = 100
CHANGES = ("added", "removed", "changed")
#: The host page's tab for the change feed (the others are asset types).
CHANGES_TAB = "changes"
TYPE_NAMES = tuple(v.name for v in _assetspec.VIEWS)


def _query(**values: Any) -> MultiDict:
    """A query for a route: empty values left out, everything as text."""
    return MultiDict([(k, str(v)) for k, v in values.items() if v not in (None, "")])


def _view_arg(args: Mapping[str, str], name: str = "type") -> _assetspec.AssetView | None:
    text = text_arg(args, name, 32)
    if not text:
        return None
    view = _assetspec.view_for(text)
    if view is None:
        raise BadForm(f"unknown asset type {text!r}; choose one of {', '.join(TYPE_NAMES)}")
    return view


def _texts(terms: list[tuple[str, str]]) -> list[str]:
    """Filter terms as typed (``sport=6379``), for the filter box and page links."""
    return [f"{name}={value}" for name, value in terms]


def _rows(view: _assetspec.AssetView, items: list[dict]) -> list[dict]:
    return [{**item, "cells": _assetspec.row_cells(view, item["fields"])} for item in items]


async def _summary(agent_id: str | None = None) -> dict[int, dict]:
    """{data_type: the summary entry} (items, agents, snapshots; with ``agent_id`` its last snapshot)."""
    answer = await act("assets.summary", query=_query(agent_id=agent_id))
    return {entry["data_type"]: entry for entry in answer["items"]}


async def host_assets(agent_id: str, args: MultiDict) -> dict[str, Any]:
    """The host page's Assets section: the tab asked for (an asset type or the change feed), its rows and pages.

    Raises:
        BadForm: a malformed filter or page.
        ApiError: the API refused the filters (unknown field, operator, value).
    """
    tab = args.get("tab", "")
    if tab != CHANGES_TAB and tab not in _assetspec.BY_TAB:
        tab = _assetspec.VIEWS[0].tab
    out: dict[str, Any] = {"asset_views": _assetspec.VIEWS, "tab": tab, "changes_tab": CHANGES_TAB,
                           "asset_counts": await _summary(agent_id)}  # fmt: skip
    if tab == CHANGES_TAB:
        out["feed"] = await change_feed(args, agent_id=agent_id)
        return out
    view = _assetspec.BY_TAB[tab]
    terms = _assetspec.parse_terms(args.getlist("f"))
    page = page_of(args)
    listing = await act("assets.agent_assets", aid=agent_id, asset_type=view.name, filters=terms,
                        query=_query(page=page, page_size=ITEMS_PER_PAGE))  # fmt: skip
    out["inventory"] = {"view": view, "filters": _texts(terms), "rows": _rows(view, listing["items"]), "total": listing["total"],
                        "snapshot": listing["snapshot"], "page": page,
                        "pages": page_count(listing["total"], ITEMS_PER_PAGE)}  # fmt: skip
    return out


async def change_feed(args: MultiDict, *, agent_id: str | None = None) -> dict[str, Any]:
    """A page of the change feed (one host's, or the fleet's), filtered by type and change, newest first.

    Raises:
        BadForm: an unknown type or change, a bad page.
    """
    view = _view_arg(args)
    change = choice_arg(args, "change", CHANGES)
    if agent_id is None:
        agent_id = text_arg(args, "agent_id", 128) or None
    page = page_of(args)
    listing = await act("assets.list_changes", query=_query(agent_id=agent_id, type=view.name if view else "",
                                                          change=change, page=page, page_size=CHANGES_PER_PAGE))  # fmt: skip
    entries = []
    for item in listing["items"]:
        item_view = _assetspec.BY_TYPE.get(item["data_type"])
        entries.append({**item, "title": item_view.title if item_view else item["type"],
                        "label": _assetspec.label_of(item["key"]),
                        "diff": _assetspec.differences(item["before"], item["after"]),
                        "summary": _assetspec.summary(item_view, item["after"] or item["before"], item["key"])})  # fmt: skip
    return {"entries": entries, "total": listing["total"], "page": page, "type": view.name if view else "",
            "change": change, "agent_id": agent_id or "", "changes": CHANGES, "views": _assetspec.VIEWS,
            "pages": page_count(listing["total"], CHANGES_PER_PAGE)}  # fmt: skip


@bp.get("/assets")
async def assets():
    """Fleet search: one asset type, field filters, host name and tag; or, with no type, the types to pick."""
    view = _view_arg(request.args)
    hostname = text_arg(request.args, "hostname")
    tags = [t.strip() for t in request.args.getlist("tag") if t.strip()]
    terms = _assetspec.parse_terms(request.args.getlist("f"))
    page = page_of(request.args)
    counts = await _summary()
    search = None
    if view is not None:
        query = _query(hostname=hostname, page=page, page_size=ITEMS_PER_PAGE)
        for t in tags:
            query.add("tag", t)
        found = await act("assets.search_assets", asset_type=view.name, filters=terms, query=query)
        search = {"view": view, "rows": _rows(view, found["items"]), "total": found["total"], "hosts": found["hosts"],
                  "pages": page_count(found["total"], ITEMS_PER_PAGE)}  # fmt: skip
    elif terms:
        raise BadForm("choose an asset type to filter its fields")
    return render("assets.html", active="assets", views=_assetspec.VIEWS, view=view, filters=_texts(terms), hostname=hostname,
                  tags=tags, page=page, search=search, counts=counts)  # fmt: skip


@bp.get("/assets/changes")
async def asset_changes():
    """The fleet's change feed."""
    return render("asset_changes.html", active="assets", feed=await change_feed(request.args))
