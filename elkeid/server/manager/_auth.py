"""Bearer-token authentication and role checks for API routes."""

from __future__ import annotations

import functools
from typing import Awaitable, Callable

import anyio
from quart import current_app, g, request

from .errors import Forbidden, Unauthorized

#: What each role may do; every route names the least role it needs.
ROLE_RANK = {"viewer": 0, "analyst": 1, "admin": 2}

#: Endpoints anyone may call, without a bearer token. Every other route must be
#: wrapped in :func:`requires` (a test walks the URL map to check).
PUBLIC_ENDPOINTS = frozenset({
    "api.login",                      # credentials in, token out (throttled)
    "api.openapi",                    # the API description
    "components.download",            # plugin packages: signed, so safe to hand out
    "enroll.enroll",                  # needs a one-time enrollment token
    "enroll.ca_certificate",          # public by nature
    "healthz",
    "static",
})  # fmt: skip


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def requires(role: str) -> Callable:
    """Route decorator: a live bearer token of a user with at least ``role``.

    Sets ``g.user`` to ``{"username", "role"}``.
    """
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")

    def wrap(fn: Callable[..., Awaitable]) -> Callable[..., Awaitable]:
        @functools.wraps(fn)
        async def inner(*args, **kwargs):
            token = bearer_token()
            if token is None:
                raise Unauthorized("missing bearer token; POST /api/v1/login first")
            store = current_app.extensions["elkeid"].store
            user = await anyio.to_thread.run_sync(store.resolve_api_token, token)
            if user is None:
                raise Unauthorized("the bearer token is unknown or expired; log in again")
            g.audit_user = user["username"]  # a refused call is audited with who tried it
            if ROLE_RANK.get(user["role"], -1) < ROLE_RANK[role]:
                raise Forbidden(f"role {user['role']!r} may not do this; it needs {role!r} or higher")
            g.user = user
            return await fn(*args, **kwargs)

        inner.required_role = role  # type: ignore[attr-defined]
        return inner

    return wrap
