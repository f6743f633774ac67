"""The console's actions are the manager API's: the same role checks, validation, logic and audit.

A console view that changes something calls :func:`act` with the API endpoint
it stands for (``tasks.create_task``), which runs that route in process for the
session's user (:func:`elkeid.server.manager.call_route`). Views that read call
it too where the API has the read (lists with their filters and paging).

Every request to the console other than GET/HEAD is audited by :func:`record`
(after CSRF, role and validation, so refusals are logged as such), under the
API endpoint named by the view's :func:`audited` decorator: an action taken in
the browser reads the same in the audit log as through the API, but for its
method and path, which are the console's.
"""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable

from quart import Quart, Response, current_app, g, request

from elkeid.server.manager import ApiError, api_route, audit_call, call_route
from elkeid.server.store import Conflict, NotFound

from ._console import SAFE_METHODS, bp, may, session
from .errors import BadForm, Forbidden

#: The attribute :func:`audited` puts on a view: the API endpoint it stands for.
ACTION_ATTR = "console_action"
#: What a form's action may be refused with: its own shape (BadForm), or the manager
#: (ApiError, or the store's 404 and 409).
REFUSALS = (BadForm, ApiError, NotFound, Conflict)


def audited(endpoint: str) -> Callable:
    """View decorator: this console route performs the API's ``endpoint`` (put it under ``@bp.post``)."""

    def wrap(fn: Callable[..., Awaitable]) -> Callable[..., Awaitable]:
        setattr(fn, ACTION_ATTR, endpoint)
        return fn

    return wrap


def permits(endpoint: str) -> Callable:
    """View decorator for a page that exists to perform ``endpoint`` (a confirmation, a form):
    refused (403) to a role the API route refuses."""

    def wrap(fn: Callable[..., Awaitable]) -> Callable[..., Awaitable]:
        @functools.wraps(fn)
        async def inner(*args, **kwargs):
            if not may(endpoint):
                raise Forbidden(f"your role ({session().role}) may not do this; it needs {api_route(endpoint).role}"
                                " or higher")  # fmt: skip
            return await fn(*args, **kwargs)

        return inner

    return wrap


def caller() -> dict[str, Any]:
    s = session()
    return {"username": s.username, "role": s.role, "expires_at": s.expires_at}


async def act(endpoint: str, **kwargs: Any) -> Any:
    """Run the API's ``endpoint`` for the session's user; its answer (see ``call_route`` for arguments).

    Raises:
        ApiError, NotFound, Conflict: the manager refused (the console shows them as error pages).
    """
    answer, _status = await call_route(endpoint, caller(), **kwargs)
    return answer


def refusal(exc: Exception) -> tuple[int, str]:
    """(HTTP status, message) of a refusal in :data:`REFUSALS`, to show beside a form."""
    if isinstance(exc, (BadForm, ApiError)):
        return exc.status, exc.message
    return (404 if isinstance(exc, NotFound) else 409), str(exc)


@bp.after_request
async def record(response: Response) -> Response:
    """Audit every state-changing console request (refused ones too) as its API action."""
    if request.method in SAFE_METHODS:
        return response
    view = current_app.view_functions.get(request.endpoint or "")
    action = getattr(view, ACTION_ATTR, None) or request.endpoint or "unrouted"
    s = g.get("console_session")
    await audit_call(action, s.username if s else g.get("audit_user", ""), response.status_code)
    return response


def check_actions(app: Quart) -> None:
    """Every console view's API action exists in ``app`` (fails at start, not on first use).

    Raises:
        LookupError: a console route names an endpoint the API does not have.
    """
    for name, view in app.view_functions.items():
        endpoint = getattr(view, ACTION_ATTR, None)
        if endpoint is not None and endpoint not in app.view_functions:
            raise LookupError(f"console route {name} stands for API endpoint {endpoint!r}, which does not exist")
