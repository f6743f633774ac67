"""The OpenAPI document: valid OpenAPI 3.1, and every /api/v1 route is in it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from openapi_spec_validator import validate

from elkeid.server.manager import build_openapi, create_app
from elkeid.server.manager._auth import PUBLIC_ENDPOINTS
from elkeid.server.manager._openapi import PREFIX, _ARG


@pytest.fixture(scope="module")
def app():
    return create_app(SimpleNamespace(), console=False)


@pytest.fixture(scope="module")
def doc(app):
    return build_openapi(app)


def test_document_is_valid_openapi(doc):
    validate(doc)


def test_every_api_route_and_method_is_described(app, doc):
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX):
            continue
        path = _ARG.sub(lambda m: "{" + m.group("name") + "}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            op = doc["paths"].get(path, {}).get(method.lower())
            if op is None:
                missing.append(f"{method} {path}")
                continue
            view = app.view_functions[rule.endpoint]
            want = "public" if rule.endpoint in PUBLIC_ENDPOINTS else view.required_role
            assert op["x-elkeid-role"] == want, f"{method} {path}"
            assert op["summary"], f"{method} {path} has no docstring"
    assert not missing


def test_a_route_added_later_appears_without_extra_work():
    app = create_app(SimpleNamespace(), console=False)

    @app.get("/api/v1/new-thing/<int:n>")
    async def new_thing(n):
        """Something another part adds."""
        return {}

    op = build_openapi(app)["paths"]["/api/v1/new-thing/{n}"]["get"]
    assert op["summary"] == "Something another part adds."
    assert op["parameters"][0] == {"name": "n", "in": "path", "required": True,
                                   "schema": {"type": "integer", "minimum": 0}}  # fmt: skip


def test_bodies_and_queries_come_from_the_route_specs(doc):
    create = doc["paths"]["/api/v1/tasks"]["post"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"object_name", "data_type", "targets"}
    assert schema["properties"]["concurrency"]["maximum"] == 10_000
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Task"
    }
    params = {p["name"]: p for p in doc["paths"]["/api/v1/agents"]["get"]["parameters"]}
    assert params["page_size"]["schema"]["maximum"] == 1000
    upload = doc["paths"]["/api/v1/components"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"]["properties"]["file"] == {"type": "string", "format": "binary",
                                                      "description": "the plugin executable"}  # fmt: skip
    assert doc["paths"]["/api/v1/login"]["post"]["security"] == []
    assert "429" in doc["paths"]["/api/v1/login"]["post"]["responses"]
