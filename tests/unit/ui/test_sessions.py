"""Session cookies: signing, idle and absolute expiry, CSRF tokens."""

from __future__ import annotations

import hashlib

import pytest
from itsdangerous import URLSafeSerializer

from elkeid.server.store import Store
from elkeid.ui._sessions import ENDED, IDLE, INVALID, MISSING, ConsoleSettings, Sessions

SECRET = bytes(range(32))


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    s.add_user("ann", "scrypt$x", "analyst")
    yield s
    s.close()


def make(store, clock, **settings) -> Sessions:
    return Sessions(store, SECRET, ConsoleSettings(**settings), clock=clock)


def test_a_session_resolves_from_its_cookie(store):
    sessions = make(store, Clock())
    s = sessions.open("ann")
    got, why = sessions.resolve(sessions.cookie_value(s))
    assert why == "" and got.username == "ann" and got.role == "analyst" and got.csrf_token == s.csrf_token


def test_idle_expiry_ends_the_session_in_the_store(store):
    clock = Clock()
    sessions = make(store, clock, idle_timeout=600)
    s = sessions.open("ann")
    cookie = sessions.cookie_value(s)
    clock.now += 599
    assert sessions.resolve(cookie)[0] is not None
    clock.now += 2
    assert sessions.resolve(cookie) == (None, IDLE)
    assert store.resolve_api_token(s.token) is None  # a replay finds nothing either


def test_activity_moves_the_idle_deadline(store):
    clock = Clock()
    sessions = make(store, clock, idle_timeout=600, refresh_interval=60)
    s = sessions.open("ann")
    clock.now += 30
    assert not sessions.needs_refresh(s)
    clock.now += 500
    assert sessions.needs_refresh(s)
    refreshed = sessions.cookie_value(s)  # what the console sets on this response
    clock.now += 500  # 1030 s after login, 500 s after the last page
    assert sessions.resolve(refreshed)[0] is not None


def test_absolute_expiry_holds_however_active(store):
    clock = Clock()
    sessions = make(store, clock, idle_timeout=600, absolute_timeout=1800)
    s = sessions.open("ann")
    # The store compares expiry with the real time; move the token's deadline instead.
    from elkeid.server.store._models import ApiToken
    from elkeid.pki import hash_token

    with store.session() as db, db.begin():
        db.get(ApiToken, hash_token(s.token)).expires_at = 0
    assert sessions.resolve(sessions.cookie_value(s)) == (None, ENDED)
    assert store.get_user("ann")  # nothing else touched


def test_forged_and_malformed_cookies_are_refused(store):
    sessions = make(store, Clock())
    s = sessions.open("ann")
    good = sessions.cookie_value(s)
    assert sessions.resolve(None) == (None, MISSING)
    assert sessions.resolve("") == (None, MISSING)
    assert sessions.resolve(good[:-2] + "xx") == (None, INVALID)
    assert sessions.resolve("garbage") == (None, INVALID)
    sha256 = {"digest_method": hashlib.sha256}
    other_key = URLSafeSerializer(b"k" * 32, salt="elkeid.console.session", signer_kwargs=sha256)
    assert sessions.resolve(other_key.dumps({"t": s.token, "a": 1e6})) == (None, INVALID)
    assert sessions.resolve(URLSafeSerializer(SECRET, salt="elkeid.console.session").dumps({"t": s.token, "a": 1e6})) \
        == (None, INVALID)  # signed, but with SHA-1
    same_key = URLSafeSerializer(SECRET, salt="elkeid.console.session", signer_kwargs=sha256)
    for payload in ([1], {"t": 5, "a": 1}, {"t": "x" * 300, "a": 1}, {"t": s.token, "a": "now"}):
        assert sessions.resolve(same_key.dumps(payload)) == (None, INVALID), payload


def test_csrf_tokens_differ_per_session_and_compare_safely(store):
    sessions = make(store, Clock())
    a, b = sessions.open("ann"), sessions.open("ann")
    assert a.csrf_token != b.csrf_token and len(a.csrf_token) >= 40
    assert sessions.csrf_matches(a.csrf_token, a.csrf_token)
    assert not sessions.csrf_matches(a.csrf_token, b.csrf_token)
    assert not sessions.csrf_matches(a.csrf_token, None)
    assert not sessions.csrf_matches(a.csrf_token, ["list"])
    nonce = sessions.new_login_nonce()
    assert sessions.login_csrf(nonce) != sessions.login_csrf(sessions.new_login_nonce())
    assert sessions.login_csrf(nonce) != a.csrf_token


def test_change_password_ends_every_session_but_hands_back_a_new_one(store):
    sessions = make(store, Clock())
    a, b = sessions.open("ann"), sessions.open("ann")
    fresh = sessions.change_password(a, "scrypt$new")
    assert store.get_user("ann")["password_hash"] == "scrypt$new"
    assert not sessions.still_valid(a) and not sessions.still_valid(b)
    assert sessions.still_valid(fresh)


def test_still_valid_sees_idle_expiry(store):
    clock = Clock()
    sessions = make(store, clock, idle_timeout=60)
    s = sessions.open("ann")
    assert sessions.still_valid(s)
    clock.now += 61
    assert not sessions.still_valid(s)
