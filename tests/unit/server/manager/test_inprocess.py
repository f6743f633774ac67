"""Running an API route in process: its role, its spec and its logic; auditing it by its name."""

from __future__ import annotations

import pytest
from quart import Quart, g
from werkzeug.datastructures import MultiDict

from elkeid.server.manager import api_route, audit_call, call_route, role_allows
from elkeid.server.manager._auth import requires
from elkeid.server.manager._spec import Field, accepts, page_params
from elkeid.server.manager.errors import BadRequest, Forbidden
from elkeid.server.store import AuditFilter, Store

pytestmark = pytest.mark.anyio

ANALYST = {"username": "ann", "role": "analyst"}


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'e.db'}")
    yield s
    s.close()


@pytest.fixture
def app(store):
    app = Quart("t")
    app.extensions["elkeid"] = type("Ctx", (), {"store": store})()

    @app.post("/api/v1/things/<name>/parts/<int:n>")
    @requires("analyst")
    @accepts(body=(Field("size", "integer", required=True, minimum=1), Field("tag", "string", default="x")),
             status=201)  # fmt: skip
    async def make_part(name, n, body):
        """Make a part."""
        g.audit_detail = {"size": body["size"]}
        return {"name": name, "n": n, "size": body["size"], "tag": body["tag"], "by": g.user["username"]}, 201

    @app.get("/api/v1/things")
    @requires("viewer")
    @accepts(query=(Field("tag", "array", items=Field("tag", "string")), *page_params(10)))
    async def list_things(query):
        """List."""
        return {"query": query}

    @app.post("/api/v1/open")
    async def open_door():
        return {"ok": True}

    return app


async def test_a_route_runs_with_its_spec_and_the_callers_name(app):
    async with app.test_request_context("/console/form", method="POST"):
        answer, status = await call_route("make_part", ANALYST, body={"size": 3}, name="a", n=7)
        assert status == 201
        assert answer == {"name": "a", "n": 7, "size": 3, "tag": "x", "by": "ann"}
        assert g.audit_default_target == "a/7" and g.audit_user == "ann"


async def test_the_routes_role_is_required(app):
    async with app.test_request_context("/console/form", method="POST"):
        with pytest.raises(Forbidden, match="role 'viewer' may not do this; it needs 'analyst'"):
            await call_route("make_part", {"username": "v", "role": "viewer"}, body={"size": 3}, name="a", n=1)
        assert g.audit_user == "v"  # a refusal is audited with who tried
        assert role_allows("admin", "make_part") and not role_allows("viewer", "make_part")
        assert role_allows("viewer", "open_door")  # public


async def test_the_body_is_checked_as_over_http(app):
    async with app.test_request_context("/console/form", method="POST"):
        with pytest.raises(BadRequest, match="field size must be at least 1, not 0"):
            await call_route("make_part", ANALYST, body={"size": 0}, name="a", n=1)
        with pytest.raises(BadRequest, match="unknown field 'csrf_token'"):
            await call_route("make_part", ANALYST, body={"size": 1, "csrf_token": "t"}, name="a", n=1)
        with pytest.raises(BadRequest, match="field size is required"):
            await call_route("make_part", ANALYST, name="a", n=1)


async def test_a_query_is_parsed_from_strings(app):
    async with app.test_request_context("/console/page"):
        answer, status = await call_route("list_things", ANALYST, query=MultiDict([("tag", "a,b"), ("page", "2")]))
        assert status == 200 and answer["query"] == {"tag": ["a", "b"], "page": 2, "page_size": 50}
        with pytest.raises(BadRequest, match="query parameter page_size must be between 1 and 10"):
            await call_route("list_things", ANALYST, query=MultiDict({"page_size": "11"}))
        assert (await call_route("list_things", ANALYST))[0]["query"]["page"] == 1


async def test_unknown_endpoints_are_named(app):
    async with app.test_request_context("/x"):
        with pytest.raises(LookupError, match="no API endpoint 'nope'"):
            api_route("nope")
        route = api_route("make_part")
        assert route.role == "analyst" and route.path_params() == ["name", "n"]
        assert route.body_field("tag").default == "x"
        with pytest.raises(KeyError):
            route.body_field("colour")


async def test_audit_call_writes_the_requests_entry_under_the_action(app, store):
    async with app.test_request_context("/hosts/a/parts", method="POST"):
        await call_route("make_part", ANALYST, body={"size": 4}, name="a", n=2)
        await audit_call("make_part", "ann", 302)
    async with app.test_request_context("/hosts/b", method="POST"):
        g.audit_target = "explicit"
        await audit_call("make_part", "", 403)
    items, total = store.list_audit(AuditFilter())
    assert total == 2
    denied, ok = items
    assert (ok["action"], ok["username"], ok["target"], ok["status"], ok["outcome"], ok["method"], ok["path"],
            ok["detail"]) == ("make_part", "ann", "a/2", 302, "ok", "POST", "/hosts/a/parts", {"size": 4})  # fmt: skip
    assert (denied["target"], denied["outcome"]) == ("explicit", "denied")
