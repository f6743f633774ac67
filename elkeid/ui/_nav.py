"""The console's pages, in navigation order, and who may see them.

A page whose data the server does not provide yet has ``endpoint=None``: the
navigation shows it greyed out, and its URL answers with an explicit "not
available" page (never with made-up data). Giving a page its view is the
only change needed to switch it on.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLE_RANK = {"viewer": 0, "analyst": 1, "admin": 2}


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    path: str
    endpoint: str | None  # the console view; None while the server lacks the data
    min_role: str = "viewer"
    missing: str = ""  # why it is not available yet, shown on its page


NAV: tuple[NavItem, ...] = (
    NavItem("overview", "Overview", "/", "console.overview"),
    NavItem("hosts", "Hosts", "/hosts", "console.hosts"),
    NavItem("assets", "Assets", "/assets", "console.assets"),
    NavItem("alerts", "Alerts", "/alerts", "console.alerts"),
    NavItem("rules", "Rules", "/rules", "console.rules"),
    NavItem("tasks", "Tasks", "/tasks", "console.tasks"),
    NavItem("components", "Components", "/components", "console.components"),
    NavItem("users", "Users", "/users", "console.users", min_role="admin"),
    NavItem("audit", "Audit", "/audit", "console.audit", min_role="admin"),
    NavItem("account", "Account", "/account", "console.account"),
)  # fmt: skip


def allowed(role: str, least: str) -> bool:
    """Whether ``role`` is ``least`` or higher (an unknown role is allowed nothing)."""
    return ROLE_RANK.get(role, -1) >= ROLE_RANK[least]


def visible(role: str) -> list[NavItem]:
    return [item for item in NAV if allowed(role, item.min_role)]
