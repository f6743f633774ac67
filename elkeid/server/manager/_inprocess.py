"""Running an API route in process, for another front end (the browser console).

The console offers the API's operations from HTML forms. Rather than copy each
route's checks and steps, it calls the route itself, without HTTP:

- the role the route declares (:func:`~._auth.requires`) is checked against the caller's;
- the body, query or form is checked against the route's declared fields
  (:func:`~._spec.accepts`), with the same error messages;
- the route's own function runs with ``g.user`` set to the caller, so it records
  ``created_by`` and sets ``g.audit_target`` / ``g.audit_detail`` as over HTTP.

The caller then writes the audit entry with :func:`~._audit.audit_call`, under the
route's endpoint name (``tasks.create_task``), so an action reads the same in the
audit log whichever front end did it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

from quart import current_app, g
from werkzeug.datastructures import MultiDict

from ._auth import ROLE_RANK
from ._spec import Field, Spec, check_object, parse_query
from .errors import Forbidden

#: Keyword arguments of a route function that are not path parameters.
_SPEC_ARGS = ("body", "query", "form")


@dataclass(frozen=True)
class ApiRoute:
    """What an API route declares: its least role (None: public) and its request spec."""

    endpoint: str
    role: str | None
    spec: Spec
    fn: Callable[..., Awaitable[Any]]

    def body_field(self, name: str) -> Field:
        """The declared body field ``name`` (its default, limits and choices).

        Raises:
            KeyError: the route's body has no such field.
        """
        for f in self.spec.body or ():
            if f.name == name:
                return f
        raise KeyError(f"{self.endpoint} takes no body field {name!r}")

    def path_params(self) -> list[str]:
        """The route's path parameters, in the order its function takes them."""
        return [p for p in inspect.signature(self.fn).parameters if p not in _SPEC_ARGS]


def api_route(endpoint: str) -> ApiRoute:
    """The API route named ``endpoint`` (e.g. ``tasks.create_task``) of the running app.

    Raises:
        LookupError: no such endpoint.
    """
    view = current_app.view_functions.get(endpoint)
    if view is None:
        raise LookupError(f"the app has no API endpoint {endpoint!r}")
    return ApiRoute(endpoint, getattr(view, "required_role", None), getattr(view, "api_spec", None) or Spec(),
                    inspect.unwrap(view))  # fmt: skip


def role_allows(role: str, endpoint: str) -> bool:
    """Whether a user of ``role`` may call ``endpoint`` (the route's own ``requires``)."""
    least = api_route(endpoint).role
    return least is None or ROLE_RANK.get(role, -1) >= ROLE_RANK[least]


async def call_route(endpoint: str, user: Mapping[str, Any], *, body: Mapping[str, Any] | None = None,
                     query=None, form: Mapping[str, Any] | None = None, **path_args: Any) -> tuple[Any, int]:  # fmt: skip
    """Run the API route ``endpoint`` for ``user`` (``{"username", "role", ...}``) inside the current request.

    ``body`` and ``form`` are plain dicts (checked against the route's fields, so a
    form field the route does not know is refused); ``query`` is a MultiDict of
    strings (converted and checked as a query string is). Path parameters are
    passed by name, as the route's function takes them.

    Returns:
        (the route's answer, its HTTP status)

    Raises:
        Forbidden: ``user``'s role is below the route's.
        ApiError: any refusal of the route (400 bad value, 404, 409 …).
        elkeid.server.store.NotFound, Conflict: as over HTTP, where the app turns them into 404 and 409.
    """
    route = api_route(endpoint)
    g.audit_user = user["username"]
    g.audit_default_target = "/".join(str(path_args[p]) for p in route.path_params() if p in path_args)
    if route.role is not None and ROLE_RANK.get(user["role"], -1) < ROLE_RANK[route.role]:
        raise Forbidden(f"role {user['role']!r} may not do this; it needs {route.role!r} or higher")
    kwargs = dict(path_args)
    if route.spec.body is not None:
        kwargs["body"] = check_object(route.spec.body, body or {})
    if route.spec.query is not None:
        kwargs["query"] = parse_query(route.spec.query, query if query is not None else MultiDict())
    if route.spec.form is not None:
        kwargs["form"] = check_object(route.spec.form, form or {})
    g.user = dict(user)
    answer = await route.fn(**kwargs)
    if isinstance(answer, tuple):
        return answer[0], answer[1]
    return answer, route.spec.status
