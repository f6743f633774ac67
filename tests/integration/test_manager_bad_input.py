"""Bad input to the Manager API: each gets a clear 4xx, nothing is stored wrongly, the server keeps serving.

Also: the served OpenAPI document describes every route the server has.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from openapi_spec_validator import validate

from elkeid.server.manager import create_app
from elkeid.server.manager._openapi import _ARG
from tests.integration._manager import admin, analyst, mserver, new_id, openapi, viewer  # noqa: F401 - fixtures

JSON = {"content-type": "application/json"}


def test_served_openapi_describes_every_route(openapi):
    validate(openapi)
    app = create_app(SimpleNamespace(), console=False)
    want = {
        (method.lower(), _ARG.sub(lambda m: "{" + m.group("name") + "}", rule.rule))
        for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }  # fmt: skip
    have = {(method, path) for path, ops in openapi["paths"].items() for method in ops}
    assert want == have


@pytest.mark.parametrize(
    "method, path, kwargs, status, message",
    [
        # Not JSON, not an object, not UTF-8.
        ("post", "/api/v1/tasks", {"content": b"{not json", "headers": JSON}, 400, "not valid JSON"),
        ("post", "/api/v1/tasks", {"content": b"[1, 2]", "headers": JSON}, 400, "must be a JSON object"),
        ("post", "/api/v1/tasks", {"content": b'{"name": "\xff\xfe"}', "headers": JSON}, 400, "not valid JSON"),
        ("post", "/api/v1/tasks", {"content": b"", "headers": JSON}, 400, "not valid JSON"),
        ("post", "/api/v1/users", {"content": b"null", "headers": JSON}, 400, "must be a JSON object"),
        # Wrong types.
        ("post", "/api/v1/users", {"json": {"username": 7, "password": "x" * 9, "role": "viewer"}}, 400,
         "field username must be a string, not an integer"),
        ("post", "/api/v1/users", {"json": {"username": "ok", "password": "x" * 9, "role": "root"}}, 400,
         "field role must be one of admin, analyst, viewer"),
        ("post", "/api/v1/users", {"json": {"username": "ok", "password": "short", "role": "viewer"}}, 400,
         "at least 8 characters"),
        ("patch", "/api/v1/users/viewer", {"json": {"disabled": "yes"}}, 400, "field disabled must be a boolean"),
        ("put", "/api/v1/agents/x/tags", {"json": {"tags": [1]}}, 400, "field tags[0] must be a string"),
        # Hostile names are refused where names have a syntax...
        ("post", "/api/v1/users", {"json": {"username": "<script>", "password": "x" * 9, "role": "viewer"}}, 400,
         "field username '<script>' is not valid"),
        ("post", "/api/v1/users", {"json": {"username": "a' OR '1'='1", "password": "x" * 9, "role": "viewer"}},
         400, "is not valid"),
        ("get", "/api/v1/users/x%27%3B%20DROP%20TABLE%20users", {}, 400, "path parameter username"),
        # Absurd page sizes and paging.
        ("get", "/api/v1/agents", {"params": {"page_size": "1000000"}}, 400, "page_size must be between 1 and 1000"),
        ("get", "/api/v1/tasks", {"params": {"page_size": "0"}}, 400, "page_size must be between 1 and 500"),
        ("get", "/api/v1/audit", {"params": {"page": "-3"}}, 400, "page must be between 1 and 1000000"),
        ("get", "/api/v1/audit", {"params": {"since": "yesterday"}}, 400, "since must be a number"),
        ("get", "/api/v1/audit", {"params": {"since": "nan"}}, 400, "since must be a number"),
        ("get", "/api/v1/agents", {"params": {"online": "perhaps"}}, 400, "online must be true or false"),
        ("get", "/api/v1/agents", {"params": {"sort": "hostname"}}, 400, "unknown query parameter 'sort'"),
        ("get", "/api/v1/agents", {"params": {"id": ",".join(["a"] * 1001)}}, 400, "more than 1000"),
        ("get", "/api/v1/tasks/" + "0" * 32 + "/subtasks", {"params": {"status": "weird"}}, 400, "status must be"),
        # Unknown ids.
        ("get", "/api/v1/agents/unknown-agent", {}, 404, "no agent with id 'unknown-agent'"),
        ("get", "/api/v1/agents/unknown-agent/config", {}, 404, "no agent"),
        ("delete", "/api/v1/agents/unknown-agent/tags/x", {}, 404, "no agent"),
        ("get", "/api/v1/users/ghost", {}, 404, "no user named 'ghost'"),
        ("patch", "/api/v1/users/ghost", {"json": {"role": "viewer"}}, 404, "no user named 'ghost'"),
        ("get", "/api/v1/tasks/" + "0" * 32, {}, 404, "no task"),
        ("get", "/api/v1/components/2147483647", {}, 404, "no component"),
        ("get", "/api/v1/no/such/route", {}, 404, ""),
        ("put", "/api/v1/tasks", {"json": {}}, 405, ""),
        # Too large.
        ("post", "/api/v1/tasks", {"content": b"{" + b" " * (17 * 1024 * 1024) + b"}", "headers": JSON}, 413, ""),
    ],
)  # fmt: skip
def test_bad_requests_get_clear_errors(admin, method, path, kwargs, status, message):
    r = getattr(admin, method)(path, **kwargs)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] and message in error["message"]


def test_injection_shaped_strings_are_stored_and_returned_verbatim(admin, viewer):
    hostile = ["'; DROP TABLE agents; --", "\" OR \"\"=\"", "<img src=x onerror=alert(1)>", "${jndi:ldap://x/a}",
               "%00", "../../../../etc/passwd", "\u202eevil", "{{7*7}}", "$(reboot)"]  # fmt: skip
    for text in hostile:
        r = viewer.get("/api/v1/agents", params={"hostname": text})
        assert r.status_code == 200 and r.json()["items"] == [], text
        r = admin.get("/api/v1/audit", params={"target": text})
        assert r.status_code == 200, text
    r = viewer.get("/api/v1/agents", params={"hostname": "a\u0000b"})
    assert r.status_code == 400 and "must not contain NUL" in r.json()["error"]["message"]
    name = new_id("verbatim")
    admin.post("/api/v1/users", json={"username": name, "password": "hostile-pass-1", "role": "viewer"})
    log = admin.get("/api/v1/audit", params={"target": name}).json()["items"]
    assert log and log[0]["target"] == name
    # Tables are all still there and answering.
    for path in ("/api/v1/agents", "/api/v1/users", "/api/v1/tasks", "/api/v1/components", "/api/v1/audit"):
        assert admin.get(path).status_code == 200, path


def test_the_server_keeps_serving(mserver, admin):
    with mserver.client() as c:
        assert c.get("/healthz").json()["ok"] is True
    assert admin.get("/api/v1/me").json()["username"] == "admin"
