"""Console sessions: a signed cookie naming a server-side session, and its CSRF token.

A session is a row of the store's API-token table (so logging out, an expiry, or
a password change, which deletes the user's tokens, ends it on every server
sharing the database). The cookie carries that token and the time of the last
page the user opened, signed with the console secret so neither can be forged:

- absolute expiry: the token's ``expires_at`` (``absolute_timeout`` after login);
- idle expiry: ``idle_timeout`` after the last page view; the live feed does not
  count as activity, so a forgotten tab still times out.

The CSRF token is an HMAC of the session token under the secret: one per session,
checked on every mutating request, never stored. The login form, which has no
session yet, is bound to a random nonce cookie the same way.

Methods that touch the store are synchronous; async callers run them with
``anyio.to_thread.run_sync``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable

from itsdangerous import BadSignature, URLSafeSerializer

SESSION_COOKIE = "__Host-elkeid-session"
LOGIN_COOKIE = "__Host-elkeid-login"

#: Why a request has no session (the login form explains the last three).
MISSING, INVALID, IDLE, ENDED = "missing", "invalid", "idle", "ended"


@dataclass(frozen=True)
class ConsoleSettings:
    """Session and login limits of the console."""

    idle_timeout: float = 30 * 60
    absolute_timeout: float = 12 * 3600
    #: Re-sign the cookie (moving its idle deadline) at most this often.
    refresh_interval: float = 60
    #: Failed logins allowed per (address, user) and per address within the window.
    login_failures_per_user: int = 5
    login_failures_per_address: int = 30
    login_window: float = 300


@dataclass(frozen=True)
class Session:
    token: str
    username: str
    role: str
    expires_at: float
    last_active: float
    csrf_token: str


class Sessions:
    """Opens, resolves and ends console sessions against the store."""

    def __init__(self, store, secret: bytes, settings: ConsoleSettings, *,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.store = store
        self.settings = settings
        self._secret = secret
        self._clock = clock
        self._serializer = URLSafeSerializer(secret, salt="elkeid.console.session",
                                             signer_kwargs={"digest_method": hashlib.sha256})  # fmt: skip

    # --- cookies ---------------------------------------------------------------------
    def cookie_value(self, session: Session, *, now: float | None = None) -> str:
        """The signed cookie for ``session``, marking ``now`` as its last activity."""
        return self._serializer.dumps({"t": session.token, "a": round(now if now is not None else self._clock(), 3)})

    def _decode(self, value: str) -> tuple[str, float] | None:
        try:
            data = self._serializer.loads(value)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        token, active = data.get("t"), data.get("a")
        if not isinstance(token, str) or not 0 < len(token) <= 256 or not isinstance(active, (int, float)):
            return None
        return token, float(active)

    def needs_refresh(self, session: Session) -> bool:
        return self._clock() - session.last_active >= self.settings.refresh_interval

    # --- CSRF ------------------------------------------------------------------------
    def _mac(self, purpose: str, value: str) -> str:
        digest = hmac.new(self._secret, f"{purpose}\0{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def csrf_matches(self, expected: str, supplied: Any) -> bool:
        return isinstance(supplied, str) and hmac.compare_digest(expected.encode(), supplied.encode())

    @staticmethod
    def new_login_nonce() -> str:
        return secrets.token_urlsafe(24)

    def login_csrf(self, nonce: str) -> str:
        """The login form's CSRF token, bound to the nonce cookie set with the form."""
        return self._mac("login", nonce)

    # --- the store (blocking: call from a worker thread) -----------------------------
    def open(self, username: str) -> Session:
        """A new session for ``username`` (who has just proven their password)."""
        token, expires = self.store.issue_api_token(username, self.settings.absolute_timeout)
        user = self.store.get_user(username)
        return Session(token, username, user["role"] if user else "viewer", expires, self._clock(),
                       self._mac("csrf", token))  # fmt: skip

    def resolve(self, cookie: str | None) -> tuple[Session | None, str]:
        """The live session named by ``cookie``, or (None, why not).

        An idle-expired session is also ended in the store, so the same cookie
        replayed later finds nothing.
        """
        if not cookie:
            return None, MISSING
        decoded = self._decode(cookie)
        if decoded is None:
            return None, INVALID
        token, last_active = decoded
        if self._clock() - last_active > self.settings.idle_timeout:
            self.store.revoke_api_token(token)
            return None, IDLE
        user = self.store.resolve_api_token(token)
        if user is None:
            return None, ENDED
        return Session(token, user["username"], user["role"], user["expires_at"], last_active,
                       self._mac("csrf", token)), ""  # fmt: skip

    def still_valid(self, session: Session) -> bool:
        """Whether ``session`` is neither idle-expired nor ended (the live feed asks this)."""
        if self._clock() - session.last_active > self.settings.idle_timeout:
            return False
        return self.store.resolve_api_token(session.token) is not None

    def close(self, session: Session) -> None:
        self.store.revoke_api_token(session.token)

    def change_password(self, session: Session, password_hash: str) -> Session:
        """Set the user's password, ending every session and API token of theirs,
        and return a fresh session for the browser that asked."""
        self.store.set_password(session.username, password_hash)
        return self.open(session.username)
