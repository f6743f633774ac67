"""Authentication, CSRF, roles and security headers of every console request."""

from __future__ import annotations

import pytest

from elkeid.ui._console import CSP, local_path
from elkeid.ui._sessions import SESSION_COOKIE

from ._client import Browser

pytestmark = pytest.mark.anyio


async def test_pages_redirect_to_the_login_form_without_a_session(browser):
    for path in ("/", "/hosts", "/hosts/a1", "/account", "/alerts"):
        r = await browser.get(path)
        assert r.status_code == 302, path
        assert r.location.startswith("/login"), r.location
    r = await browser.get("/hosts?status=online")
    assert r.location == "/login?next=%2Fhosts%3Fstatus%3Donline"


async def test_live_feed_and_posts_without_a_session_get_401(browser):
    assert (await browser.get("/ui/live?topics=hosts")).status_code == 401
    r = await browser.post("/account/password", {"csrf_token": "x"})
    assert r.status_code == 401
    assert "not logged in" in await browser.text(r)


async def test_a_forged_cookie_is_no_session(browser, console):
    await browser.login()
    value = browser.cookie(SESSION_COOKIE)
    browser.client.cookie_jar.clear()
    browser.client.set_cookie("localhost", SESSION_COOKIE, value[:-3] + "AAA")
    r = await browser.get("/")
    assert r.status_code == 302 and "why=invalid" in r.location


async def test_login_sets_a_strict_secure_httponly_cookie(browser):
    r = await browser.login()
    assert r.status_code == 302 and r.location == "/"
    cookie = [v for v in r.headers.get_all("Set-Cookie") if v.startswith(SESSION_COOKIE + "=")][0]
    for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in cookie, cookie
    assert "Expires" not in cookie and "Max-Age" not in cookie  # ends with the browser session too
    assert (await browser.get("/")).status_code == 200


async def test_every_page_carries_the_security_headers(browser):
    await browser.login()
    for path in ("/", "/login", "/hosts", "/account", "/ui/static/console.css"):
        r = await browser.get(path)
        assert r.headers["Content-Security-Policy"] == CSP, path
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert (await browser.get("/hosts")).headers["Cache-Control"] == "no-store"
    assert "unsafe-inline" not in CSP and "script-src 'self'" in CSP


async def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(browser, ctx):
    await browser.login()
    before = ctx.store.get_user("admin")["password_hash"]
    form = {"current_password": "admin-pass-1", "new_password": "admin-pass-2", "new_password_again": "admin-pass-2"}
    r = await browser.post("/account/password", form)
    assert r.status_code == 403
    assert "CSRF" in await browser.text(r)
    r = await browser.post("/account/password", {**form, "csrf_token": browser.csrf[:-2] + "xx"})
    assert r.status_code == 403
    r = await browser.post("/account/password", form, headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    assert await browser.text(r) == "this request did not carry the page's CSRF token; reload the page and try again"
    assert ctx.store.get_user("admin")["password_hash"] == before
    r = await browser.post("/account/password", {**form, "csrf_token": browser.csrf})
    assert r.status_code == 302
    assert ctx.store.get_user("admin")["password_hash"] != before


async def test_the_csrf_token_may_come_in_a_header(browser, ctx):
    await browser.login()
    r = await browser.post("/logout", headers={"X-CSRF-Token": browser.csrf})
    assert r.status_code == 302 and r.location == "/login?why=bye"


async def test_another_sessions_csrf_token_does_not_work(app, ctx):
    a, b = Browser(app), Browser(app)
    await a.login("admin")
    await b.login("admin")
    assert a.csrf != b.csrf
    r = await a.post("/logout", {"csrf_token": b.csrf})
    assert r.status_code == 403


async def test_logout_ends_the_session_in_the_store(browser, ctx):
    await browser.login()
    cookie = browser.cookie(SESSION_COOKIE)
    await browser.post("/logout", {"csrf_token": browser.csrf})
    # Replaying the old cookie finds nothing.
    browser.client.set_cookie("localhost", SESSION_COOKIE, cookie)
    r = await browser.get("/")
    assert r.status_code == 302 and "why=ended" in r.location


def test_local_path_refuses_other_sites():
    assert local_path("/hosts?x=1") == "/hosts?x=1"
    for bad in ("https://evil.example/", "//evil.example/", "/\\evil.example", "/\t/evil.example", "/\n/evil.example",
                "/ /x", "javascript:alert(1)", "", None):
        assert local_path(bad) == "/"


async def test_a_pages_own_background_refresh_does_not_count_as_activity(browser, console):
    from elkeid.ui import ConsoleSettings
    from elkeid.ui._console import BACKGROUND_HEADER

    await browser.login()
    console.sessions.settings = ConsoleSettings(refresh_interval=0)  # re-sign on every page view
    quiet = await browser.get("/tasks", headers={BACKGROUND_HEADER: "1"})
    assert quiet.status_code == 200 and "Set-Cookie" not in quiet.headers
    seen = await browser.get("/tasks")
    assert SESSION_COOKIE in seen.headers["Set-Cookie"]


async def test_refusals_and_http_errors_of_console_routes_are_pages(browser):
    await browser.login()
    r = await browser.get("/tasks/" + "f" * 32)  # the manager's 404 (NotFound from the store)
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html")
    assert "no task with id" in await browser.text(r)
    r = await browser.get("/tasks/bad-id")  # the manager's ApiError
    assert r.status_code == 404 and "<h1>Not found</h1>" in await browser.text(r)
    r = await browser.post("/users", {"csrf_token": browser.csrf}, headers={"Content-Length": str(10**9)})
    assert r.status_code == 413 and "<h1>Too large</h1>" in await browser.text(r)
