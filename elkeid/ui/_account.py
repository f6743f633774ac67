"""Logging in and out, and the account page (change one's own password)."""

from __future__ import annotations

import logging

import anyio
from quart import g, redirect, request, url_for

from elkeid.server.manager import WeakPassword, hash_password, verify_password

from ._actions import audited
from ._console import bp, clear_cookie, console, local_path, render, session, set_session_cookie
from ._sessions import ENDED, IDLE, INVALID, LOGIN_COOKIE, SESSION_COOKIE
from .errors import TooManyAttempts

log = logging.getLogger(__name__)

MAX_USERNAME, MAX_PASSWORD = 64, 1024
_WHY = {
    IDLE: "Your session expired after a while without activity. Please log in again.",
    ENDED: "Your session has ended (it expired, you logged out elsewhere, or your password changed). Please log in again.",
    INVALID: "Your session could not be read. Please log in again.",
    "bye": "You have logged out.",
}
# A fixed hash to verify against when the user is unknown, so timing does not tell.
_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def _login_page(status: int = 200, *, error: str = "", username: str = "", next_path: str = "/"):
    c = console()
    nonce = c.sessions.new_login_nonce()
    response = render("login.html", status, error=error, notice=_WHY.get(request.args.get("why", ""), ""),
                      username=username, next_path=next_path, login_csrf=c.sessions.login_csrf(nonce))  # fmt: skip
    response.set_cookie(LOGIN_COOKIE, nonce, secure=True, httponly=True, samesite="Strict", path="/")
    return response


@bp.get("/login")
async def login():
    c = console()
    next_path = local_path(request.args.get("next"))
    s, _why = await anyio.to_thread.run_sync(c.sessions.resolve, request.cookies.get(SESSION_COOKIE))
    if s is not None:
        return redirect(next_path)
    return _login_page(next_path=next_path)


@bp.post("/login")
@audited("api.login")
async def login_submit():
    c = console()
    form = await request.form
    username = form.get("username", "")[: MAX_USERNAME + 1]
    g.audit_user = username  # the audit log names who tried, as the API's login does
    password = form.get("password", "")
    next_path = local_path(form.get("next"))
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not c.sessions.csrf_matches(c.sessions.login_csrf(nonce), form.get("csrf_token")):
        log.warning("console: a login form from %s lacked its CSRF token", request.remote_addr)
        return _login_page(403, error="The login form was stale. Please try again.", username=username,
                           next_path=next_path)  # fmt: skip
    address = request.remote_addr or ""
    user_key, address_key = (address, username.lower()), address
    wait = max(c.user_throttle.retry_after(user_key), c.address_throttle.retry_after(address_key))
    if wait:
        log.warning("console: login for %r from %s throttled for %ds", username, address, wait)
        raise TooManyAttempts(f"too many failed logins; try again in {wait} seconds", wait)
    user = None
    if len(username) <= MAX_USERNAME and len(password) <= MAX_PASSWORD:
        user = await anyio.to_thread.run_sync(c.ctx.store.get_user, username)
    stored = user["password_hash"] if user else _DUMMY_HASH
    ok = await anyio.to_thread.run_sync(verify_password, password[:MAX_PASSWORD], stored)
    if not ok or user is None or user["disabled"]:
        c.user_throttle.failed(user_key)
        c.address_throttle.failed(address_key)
        log.warning("console: failed login for %r from %s", username, address)
        return _login_page(401, error="Wrong username or password.", username=username, next_path=next_path)
    c.user_throttle.succeeded(user_key)
    new = await anyio.to_thread.run_sync(c.sessions.open, username)
    log.info("console: %s logged in from %s", username, address)
    response = redirect(next_path)
    set_session_cookie(response, c.sessions.cookie_value(new))
    clear_cookie(response, LOGIN_COOKIE)
    return response


@bp.post("/logout")
@audited("api.logout")
async def logout():
    s = session()
    await anyio.to_thread.run_sync(console().sessions.close, s)
    log.info("console: %s logged out", s.username)
    response = redirect(url_for("console.login", why="bye"))
    clear_cookie(response)
    return response


@bp.get("/account")
async def account():
    return _account_page()


def _account_page(status: int = 200, error: str = ""):
    notice = "Your password was changed. Your other sessions have ended." if request.args.get("changed") else ""
    return render("account.html", status, active="account", error=error, notice=notice,
                  settings=console().settings)  # fmt: skip


@bp.post("/account/password")
@audited("api.change_own_password")
async def change_password():
    c, s = console(), session()
    form = await request.form
    current = form.get("current_password", "")
    new, again = form.get("new_password", ""), form.get("new_password_again", "")
    key = ("password", s.username)
    wait = c.user_throttle.retry_after(key)
    if wait:
        raise TooManyAttempts(f"too many wrong current passwords; try again in {wait} seconds", wait)
    user = await anyio.to_thread.run_sync(c.ctx.store.get_user, s.username)
    ok = user is not None and len(current) <= MAX_PASSWORD and await anyio.to_thread.run_sync(
        verify_password, current, user["password_hash"]
    )
    if not ok:
        c.user_throttle.failed(key)
        log.warning("console: %s gave a wrong current password when changing it", s.username)
        return _account_page(400, "The current password is wrong.")
    if new != again:
        return _account_page(400, "The two new passwords differ.")
    if new == current:
        return _account_page(400, "The new password is the same as the current one.")
    if len(new) > MAX_PASSWORD:
        return _account_page(400, f"The new password is longer than {MAX_PASSWORD} characters.")
    try:
        hashed = await anyio.to_thread.run_sync(hash_password, new)
    except WeakPassword as exc:
        return _account_page(400, f"The new password is too weak: {exc}.")
    c.user_throttle.succeeded(key)
    fresh = await anyio.to_thread.run_sync(c.sessions.change_password, s, hashed)
    g.console_session = fresh
    log.info("console: %s changed their password; their other sessions ended", s.username)
    response = redirect(url_for("console.account", changed=1))
    set_session_cookie(response, c.sessions.cookie_value(fresh))
    return response
