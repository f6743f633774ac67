"""Changing one's password ends one's other sessions; a viewer can change nothing else."""

from __future__ import annotations

import uuid

import pytest

from tests._support import agent_record

from ._agents import ScriptedAgent

pytestmark = pytest.mark.browser


def _user(server, role: str, password: str) -> str:
    name = f"{role}-{uuid.uuid4().hex[:8]}"
    out = server.cli("user", "add", name, "--role", role, "--password-stdin", input=password + "\n")
    assert out.returncode == 0, out.stderr
    return name


def test_changing_the_password_ends_the_other_sessions(server, open_tab):
    name = _user(server, "analyst", "first-pass-1")
    here, there = open_tab("here"), open_tab("there")
    here.login(name, "first-pass-1")
    there.login(name, "first-pass-1")
    there.goto("/", "other session watching the overview")
    there.page.wait_for_selector("[data-live-state]:text('live')")

    here.goto("/account", "account page")
    here.page.fill("input[name=current_password]", "first-pass-1")
    here.page.fill("input[name=new_password]", "second-pass-2")
    here.page.fill("input[name=new_password_again]", "second-pass-2")
    here.follow("form[action='/account/password'] button", "password changed")
    assert "Your other sessions have ended." in here.page.locator(".notice").text_content()
    here.goto("/", "still logged in here")
    assert here.page.locator(".username").text_content() == name

    # The open page's live feed notices at its next session check (every 15 s) and says so.
    there.page.wait_for_selector("[data-live-state][data-live-status='ended']", timeout=45_000)
    assert there.page.locator("[data-live-state] a").get_attribute("href") == "/login?next=%2F"
    there.snap("other session: live feed says the session ended")
    there.goto("/", "other session after the change")
    assert "/login" in there.page.url
    assert "Your session has ended" in there.page.locator(".notice").text_content()

    fresh = open_tab("fresh")
    fresh.login(name, "first-pass-1")
    assert "Wrong username or password." in fresh.page.locator(".error").text_content()
    fresh.login(name, "second-pass-2")
    assert fresh.page.locator("h1").text_content() == "Overview"
    for tab in (here, there, fresh):
        tab.errors = [e for e in tab.errors if "401" not in e]  # the refused login form answers 401
        tab.assert_clean()


def test_a_form_post_without_the_csrf_token_is_refused(server, open_tab):
    tab = open_tab()
    tab.login("admin", server.admin_password)
    tab.goto("/account", "account page before tampering")
    tab.page.evaluate("document.querySelector('form[action=\"/account/password\"] input[name=csrf_token]').remove()")
    tab.page.fill("input[name=current_password]", server.admin_password)
    tab.page.fill("input[name=new_password]", "changed-by-forgery")
    tab.page.fill("input[name=new_password_again]", "changed-by-forgery")
    tab.follow("form[action='/account/password'] button", "refused without csrf token")
    assert tab.page.locator("h1").text_content() == "Request refused (CSRF check)"
    status = tab.page.evaluate("""async () => (await fetch('/account/password', {method: 'POST',
        headers: {'X-CSRF-Token': 'forged'}, body: new URLSearchParams({current_password: 'x'})})).status""")
    assert status == 403
    assert server.login("admin")  # the password did not change


def test_a_viewer_sees_no_mutating_controls_and_is_refused(server, open_tab):
    aid = f"viewer-{uuid.uuid4()}"
    scripted = ScriptedAgent(server, aid, hostname="keep-me", records=[])
    name = _user(server, "viewer", "viewer-pass-1")
    try:
        tab = open_tab()
        tab.login(name, "viewer-pass-1")
        nav = tab.page.locator("header nav").text_content()
        assert "Users" not in nav and "Audit" not in nav
        tab.goto(f"/hosts/{aid}", "host page as viewer")
        assert tab.page.locator("text=Revoke").count() == 0
        assert tab.page.locator("form[method=post]").count() == 1  # only "Log out"
        response = tab.goto(f"/hosts/{aid}/revoke", "revoke page refused to a viewer")
        assert response.status == 403
        # A valid CSRF token does not make up for the role: the server refuses.
        status = tab.page.evaluate(f"async () => (await elkeid.post('/hosts/{aid}/revoke')).status")
        assert status == 403
        response = tab.goto("/users", "users page refused to a viewer")
        assert response.status == 403
        with server.api() as api:
            assert agent_record(api, aid)["status"] != "revoked"
        tab.errors = [e for e in tab.errors if "403" not in e]  # the refused pages answer 403
        tab.assert_clean()
    finally:
        scripted.close()
