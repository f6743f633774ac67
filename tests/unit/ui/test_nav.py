"""The navigation lists every page of the console, by role."""

from __future__ import annotations

from elkeid.ui._nav import NAV, allowed, visible


def test_every_page_is_listed_once():
    assert [i.label for i in NAV] == ["Overview", "Hosts", "Assets", "Alerts", "Rules", "Tasks", "Components", "Users", "Audit", "Account"]
    assert all(i.endpoint or i.missing for i in NAV)


def test_roles():
    assert [i.key for i in visible("viewer")] == ["overview", "hosts", "assets", "alerts", "rules", "tasks", "components", "account"]
    assert len(visible("admin")) == len(NAV)
    assert allowed("admin", "analyst") and not allowed("analyst", "admin") and not allowed("root", "viewer")
