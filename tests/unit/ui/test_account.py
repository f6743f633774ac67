"""The login form, logging out, and changing one's own password."""

from __future__ import annotations

import pytest

from elkeid.ui._sessions import LOGIN_COOKIE

from ._client import PASSWORDS, Browser, csrf_of

pytestmark = pytest.mark.anyio


async def test_wrong_password_and_unknown_user_get_the_same_answer(browser):
    r1 = await browser.login("admin", "wrong-password")
    r2 = await browser.login("nobody", "wrong-password")
    assert r1.status_code == r2.status_code == 401
    assert "Wrong username or password." in await browser.text(r1)
    assert "Wrong username or password." in await browser.text(r2)


async def test_login_form_needs_its_csrf_token_and_nonce_cookie(browser):
    page = await browser.text(await browser.get("/login"))
    token = csrf_of(page)
    form = {"username": "admin", "password": PASSWORDS["admin"]}
    r = await browser.post("/login", form)
    assert r.status_code == 403 and "stale" in await browser.text(r)
    # A token from another browser's form does not fit this browser's nonce.
    other = Browser(browser.app)
    other_token = csrf_of(await other.text(await other.get("/login")))
    await browser.get("/login")
    r = await browser.post("/login", {**form, "csrf_token": other_token})
    assert r.status_code == 403
    browser.client.cookie_jar.clear()
    r = await browser.post("/login", {**form, "csrf_token": token})
    assert r.status_code == 403


async def test_login_follows_next_but_never_off_site(browser):
    r = await browser.login(next_path="/hosts?q=web")
    assert r.location == "/hosts?q=web"
    other = Browser(browser.app)
    r = await other.login(next_path="//evil.example/x")
    assert r.location == "/"
    # Already logged in: the form sends you on.
    r = await browser.get("/login?next=/account")
    assert r.status_code == 302 and r.location == "/account"


async def test_repeated_failures_are_throttled(browser, console):
    limit = console.settings.login_failures_per_user
    for _ in range(limit):
        assert (await browser.login("admin", "wrong-password")).status_code == 401
    r = await browser.login("admin")  # even the right password waits now
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert "too many failed logins" in await browser.text(r)
    # Another user from the same address is not locked out by these.
    assert (await browser.login("viewer")).status_code == 302


async def test_a_disabled_user_cannot_log_in(browser, ctx):
    from elkeid.server.store._models import User

    with ctx.store.session() as s, s.begin():
        s.get(User, "viewer").disabled = True
    assert (await browser.login("viewer")).status_code == 401


async def test_login_clears_the_nonce_cookie(browser):
    await browser.login()
    assert browser.cookie(LOGIN_COOKIE) is None


def _change(b: Browser, current: str, new: str, again: str | None = None) -> dict:
    return {"csrf_token": b.csrf, "current_password": current, "new_password": new,
            "new_password_again": new if again is None else again}  # fmt: skip


@pytest.mark.parametrize(
    ("current", "new", "again", "message"),
    [
        ("wrong-password", "new-pass-123", None, "The current password is wrong."),
        (PASSWORDS["viewer"], "new-pass-123", "new-pass-124", "The two new passwords differ."),
        (PASSWORDS["viewer"], PASSWORDS["viewer"], None, "The new password is the same as the current one."),
        (PASSWORDS["viewer"], "short", None, "too weak: a password needs at least 8 characters"),
    ],
)
async def test_bad_password_changes_are_refused(app, ctx, current, new, again, message):
    b = Browser(app)
    await b.login("viewer")
    before = ctx.store.get_user("viewer")["password_hash"]
    r = await b.post("/account/password", _change(b, current, new, again))
    assert r.status_code == 400
    assert message in await b.text(r)
    assert ctx.store.get_user("viewer")["password_hash"] == before


async def test_changing_the_password_ends_the_users_other_sessions(app, ctx):
    here, elsewhere, someone_else = Browser(app), Browser(app), Browser(app)
    await here.login("viewer")
    await elsewhere.login("viewer")
    await someone_else.login("analyst")
    api_token, _ = ctx.store.issue_api_token("viewer", 3600)
    r = await here.post("/account/password", _change(here, PASSWORDS["viewer"], "viewer-pass-2"))
    assert r.status_code == 302 and r.location == "/account?changed=1"
    page = await here.text(await here.get("/account?changed=1"))
    assert "Your other sessions have ended." in page  # this browser stays logged in
    r = await elsewhere.get("/")
    assert r.status_code == 302 and "why=ended" in r.location
    assert ctx.store.resolve_api_token(api_token) is None
    assert (await someone_else.get("/")).status_code == 200
    fresh = Browser(app)
    assert (await fresh.login("viewer", PASSWORDS["viewer"])).status_code == 401
    assert (await fresh.login("viewer", "viewer-pass-2")).status_code == 302


async def test_wrong_current_passwords_are_throttled(app, console):
    b = Browser(app)
    await b.login("viewer")
    for _ in range(console.settings.login_failures_per_user):
        assert (await b.post("/account/password", _change(b, "wrong-password", "new-pass-123"))).status_code == 400
    r = await b.post("/account/password", _change(b, PASSWORDS["viewer"], "new-pass-123"))
    assert r.status_code == 429
