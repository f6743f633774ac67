"""The OpenAPI 3.1 document, generated from the application's own URL map.

Every rule under ``/api/v1`` becomes an operation: its path parameters from the
rule, its role from :func:`requires` (``x-elkeid-role``), its body and query
parameters from :func:`accepts`, its summary from the view's docstring. A route
added anywhere appears here without further work, so the document cannot fall
behind the routes.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from quart import Quart

import elkeid

from ._auth import PUBLIC_ENDPOINTS
from ._schemas import SCHEMAS
from ._spec import Field, Spec, object_schema

PREFIX = "/api/v1/"
_ARG = re.compile(r"<(?:(?P<conv>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_ERRORS = {
    400: "the request is malformed: bad JSON, a wrong type, a value out of range",
    401: "no bearer token, or it is unknown or expired",
    403: "the caller's role is not enough",
    404: "no such object",
    409: "the change conflicts with the current state",
    413: "the request body is too large",
    429: "too many failed logins; wait Retry-After seconds",
}


def build_openapi(app: Quart) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(PREFIX):
            continue
        view = app.view_functions[rule.endpoint]
        path = _ARG.sub(lambda m: "{" + m.group("name") + "}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, view, method)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Elkeid in Python: Manager API",
            "version": elkeid.__version__,
            "description": "Agents, tags, tasks, plugin components, users, the audit log, alerts, rules "
            "and notifications. "
            "Log in with POST /api/v1/login and send the token as `Authorization: Bearer TOKEN`. "
            'Errors are `{"error": {"code", "message"}}`.',
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {str(code): _error_response(text) for code, text in _ERRORS.items()},
        },
    }


def _operation(rule, view, method: str) -> dict[str, Any]:
    spec: Spec = getattr(view, "api_spec", None) or Spec()
    role = getattr(view, "required_role", None)
    public = rule.endpoint in PUBLIC_ENDPOINTS
    doc = inspect.getdoc(view) or ""
    summary, _, description = doc.partition("\n")
    op: dict[str, Any] = {
        "operationId": rule.endpoint.replace(".", "_") + ("" if len(_methods(rule)) == 1 else f"_{method.lower()}"),
        "tags": [rule.endpoint.split(".", 1)[0]],
        "summary": summary.strip() or rule.endpoint,
        "x-elkeid-role": "public" if public else role,
        "security": [] if public else [{"bearer": []}],
    }
    if description.strip():
        op["description"] = description.strip()
    params = [{"name": m.group("name"), "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 0} if m.group("conv") == "int" else {"type": "string"}}
              for m in _ARG.finditer(rule.rule)]  # fmt: skip
    params += [_query_param(f) for f in spec.query or ()]
    if params:
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": object_schema(spec.body)}}}
    if spec.form is not None:
        op["requestBody"] = {"required": True,
                             "content": {"multipart/form-data": {"schema": object_schema(spec.form)}}}  # fmt: skip
    ok: dict[str, Any] = {"description": "success"}
    if spec.returns:
        ok["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{spec.returns}"}}}
    elif rule.endpoint == "components.download":
        ok["content"] = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    responses = {str(spec.status): ok}
    errors = set()
    if params or spec.body is not None or spec.form is not None:
        errors.add(400)
    if spec.body is not None or spec.form is not None:
        errors.add(413)
    if not public:
        errors |= {401, 403}
    if "{" in rule.rule or method in ("POST", "PUT", "PATCH", "DELETE"):
        errors |= {404, 409}
    if rule.endpoint == "api.login":
        errors |= {401, 429}
    for code in sorted(errors):
        responses[str(code)] = {"$ref": f"#/components/responses/{code}"}
    op["responses"] = responses
    return op


def _methods(rule) -> set[str]:
    return (rule.methods or set()) - {"HEAD", "OPTIONS"}


def _query_param(f: Field) -> dict[str, Any]:
    out = {"name": f.name, "in": "query", "required": f.required, "schema": f.schema()}
    if f.type == "array":
        out["style"], out["explode"] = "form", False
    if f.description:
        out["description"] = f.description
    return out


def _error_response(text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
