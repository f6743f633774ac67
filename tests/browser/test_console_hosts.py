"""A real agent's host page, the hosts list with its live status, and revoking an agent."""

from __future__ import annotations

import platform
import uuid

import pytest

from tests._support import START_DEADLINE, AgentProcess, agent_record, wait_until

pytestmark = pytest.mark.browser


def _online_agent(server, tmp_path, prefix: str) -> tuple[AgentProcess, str]:
    aid = f"{prefix}-{uuid.uuid4()}"
    agent = AgentProcess(tmp_path / aid, aid).start(server, server.create_token())
    with server.api() as api:
        wait_until(lambda: (r := agent_record(api, aid)) and r["online"] and r["kernel_version"], START_DEADLINE,
                   message="agent online with a heartbeat")  # fmt: skip
    return agent, aid


def test_login_sets_a_strict_session_cookie_and_logout_ends_it(server, open_tab):
    tab = open_tab()
    tab.goto("/", "redirected to the login form")
    assert tab.page.url.endswith("/login")
    tab.login("admin", server.admin_password)
    assert tab.page.locator("h1").text_content() == "Overview"
    cookie = next(c for c in tab.context.cookies() if c["name"] == "__Host-elkeid-session")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] == -1
    assert tab.page.evaluate("document.cookie") == ""  # HttpOnly: no script can read it
    tab.follow("form[action='/logout'] button", "logged out")
    assert "You have logged out." in tab.page.locator(".notice").text_content()
    tab.goto("/hosts", "after logout")
    assert "/login" in tab.page.url
    tab.assert_clean()


def test_a_real_agents_host_page_and_live_status(server, open_tab, tmp_path):
    agent, aid = _online_agent(server, tmp_path, "browser")
    try:
        tab = open_tab()
        tab.login("admin", server.admin_password)
        assert int(tab.page.locator('[data-count="online"]').text_content().replace(",", "")) >= 1
        tab.goto(f"/hosts?q={aid}", "hosts searched by agent id")
        rows = tab.page.locator("table.hosts tbody tr")
        assert rows.count() == 1
        badge = tab.page.locator(f'[data-host-status="{aid}"]')
        assert badge.text_content() == "online"
        tab.page.wait_for_selector("[data-live-state]:text('live')")

        tab.follow(f'tr[data-agent-id="{aid}"] a.hostname', "host page")
        assert tab.page.locator("h1").text_content() == platform.node()
        assert tab.page.locator('dd[data-field="kernel_version"]').text_content() == platform.release()
        assert tab.page.locator('dd[data-field="pid"]').text_content() == str(agent.proc.pid)
        assert tab.page.locator('dd[data-field="state"]').text_content() == "running"
        assert "Never collected" in tab.page.locator("#assets").text_content()
        tab.follow("nav.tabs >> text=ports", "host page, ports tab")
        assert "tab=ports" in tab.page.url

        tab.goto(f"/hosts?q={aid}", "hosts list before the agent stops")
        # This page's own feed must be open first, or its opening snapshot (not a live update) says offline.
        tab.page.wait_for_selector("[data-live-state]:text('live')")
        agent.stop()
        # The live feed flips the badge; no reload. The server notices the stream end at once and the
        # console polls its hub every second; the deadline only allows for a loaded machine.
        tab.page.wait_for_selector(f'[data-host-status="{aid}"]:text("offline")', timeout=30_000)
        tab.snap("agent went offline, live")
        tab.assert_clean()
    finally:
        agent.stop()


def test_an_admin_revokes_a_real_agent(server, open_tab, tmp_path):
    agent, aid = _online_agent(server, tmp_path, "revoke")
    try:
        tab = open_tab()
        tab.login("admin", server.admin_password)
        tab.goto(f"/hosts/{aid}", "host page with actions")
        tab.follow("text=Revoke this agent…", "revoke confirmation")
        tab.follow("button.danger", "revoked")
        assert "certificate is revoked" in tab.page.locator(".notice").text_content()
        assert tab.page.locator(f'[data-host-status="{aid}"]').text_content() == "revoked"
        agent.log.wait_for(r"revoked", 20)  # the agent was told, and is refused from now on
        with server.api() as api:
            assert agent_record(api, aid)["status"] == "revoked"
        tab.assert_clean()
    finally:
        agent.stop()
