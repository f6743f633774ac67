"""Components in the console: upload (multipart, CSRF), assign by tag, remove, delete; as the API does them."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from markupsafe import escape
from werkzeug.datastructures import FileStorage

from elkeid.server.manager import package_message
from elkeid.server.manager._components import max_body_for
from elkeid.ui._console import UPLOAD_PATH

from ._client import Browser, add_agent, audit_entries, bearer, form, same_action

pytestmark = pytest.mark.anyio

PACKAGE = b"#!/bin/sh\nexec sleep 3600\n"


def _file(data: bytes = PACKAGE) -> dict:
    return {"file": FileStorage(io.BytesIO(data), filename="plugin", content_type="application/octet-stream")}


async def _upload(b: Browser, data: bytes = PACKAGE, **fields):
    values = {"csrf_token": b.csrf, "name": "probe", "version": "1", **fields}
    return await b.post(UPLOAD_PATH, values, files=_file(data))


async def test_an_admin_uploads_assigns_and_removes_a_plugin(app, ctx):
    add_agent(ctx.store, "h-1", hostname="web", tags=["web"])
    b = Browser(app)
    await b.login("admin")
    page = await b.text(await b.get("/components"))
    assert 'enctype="multipart/form-data"' in page and 'data-name="collector"' in page
    r = await _upload(b, description="a probe", detail='{"level": 2}')
    assert r.status_code == 302 and r.location == "/components?done=uploaded"
    (comp,) = [c for c in ctx.store.list_components() if c["name"] == "probe"]
    sha = hashlib.sha256(PACKAGE).hexdigest()
    assert comp["sha256"] == sha
    ctx.pki.signing_key.public_key().verify(base64.b64decode(comp["signature"]), package_message("probe", "1", sha))
    assert comp["created_by"] == "admin" and comp["description"] == "a probe"

    r = await b.post("/components/assignments", form(b.csrf, component_id=str(comp["id"]), tags="web ops"))
    assert r.status_code == 302 and r.location == "/components?done=assigned"
    (assignment,) = ctx.store.list_assignments()
    assert assignment["selector"] == {"tags": ["web", "ops"]} and assignment["detail"] is None
    host = await b.text(await b.get("/hosts/h-1"))
    assert 'data-config="probe"' in host and '{&#34;level&#34;: 2}' in host  # the desired config, read-only

    r = await b.post(f"/components/assignments/{assignment['id']}/delete", form(b.csrf))
    assert r.status_code == 302 and ctx.store.list_assignments() == []
    assert 'data-config="probe"' not in await b.text(await b.get("/hosts/h-1"))
    r = await b.post(f"/components/{comp['id']}/delete", form(b.csrf))
    assert r.status_code == 302 and not [c for c in ctx.store.list_components() if c["name"] == "probe"]
    actions = [e["action"] for e in audit_entries(ctx.store, username="admin")][:4]
    assert actions == ["components.delete_component", "components.delete_assignment",
                       "components.create_assignment", "components.upload_component"]  # fmt: skip


async def test_audit_entries_match_the_apis(app, ctx):
    b = Browser(app)
    await b.login("admin")
    await _upload(b, name="twin", version="1")
    api = app.test_client()
    r = await api.post("/api/v1/components", headers=bearer(ctx.store, "admin"), form={"name": "twin", "version": "2"},
                       files=_file())  # fmt: skip
    assert r.status_code == 201
    via_api, via_console = audit_entries(ctx.store, action="components.upload_component")
    assert via_console["target"] == "twin@1" and via_api["target"] == "twin@2"
    assert via_console["detail"] == via_api["detail"] == {"sha256": hashlib.sha256(PACKAGE).hexdigest(),
                                                          "size": len(PACKAGE)}  # fmt: skip
    collector = next(c for c in ctx.store.list_components() if c["name"] == "collector")
    await b.post("/components/assignments", form(b.csrf, component_id=str(collector["id"]), platform="debian"))
    r = await api.post("/api/v1/components/assignments", headers=bearer(ctx.store, "admin"),
                       json={"component_id": collector["id"], "selector": {"platform": "debian"}})  # fmt: skip
    via_api, via_console = audit_entries(ctx.store, action="components.create_assignment")
    assert same_action(via_console)[3:] == same_action(via_api)[3:]  # outcome and detail; targets are the new ids


async def test_refusals_are_shown_beside_the_form(app, ctx):
    b = Browser(app)
    await b.login("admin")
    r = await _upload(b, detail="[1]")
    assert r.status_code == 400 and "field detail must be a JSON object" in await b.text(r)
    r = await _upload(b, data=b"")
    assert r.status_code == 400 and "field file is empty" in await b.text(r)
    r = await _upload(b, version="builtin")
    assert r.status_code == 400 and "builtin is reserved" in await b.text(r)
    r = await _upload(b, name='<script>alert(1)</script>')
    page = await b.text(r)
    assert r.status_code == 400 and "<script>alert" not in page and str(escape("<script>alert(1)</script>")) in page
    assert (await _upload(b)).status_code == 302
    r = await _upload(b)
    assert r.status_code == 409 and "exists already" in await b.text(r)
    r = await b.post("/components/assignments", form(b.csrf, component_id=""))
    assert r.status_code == 400 and "choose the component" in await b.text(r)
    r = await b.post("/components/assignments", form(b.csrf, component_id="999"))
    assert r.status_code == 404
    r = await b.post("/components/assignments", form(b.csrf, component_id="1", tags="ok", detail="{"))
    assert r.status_code == 400 and "field detail must be a JSON object" in await b.text(r)
    collector = next(c for c in ctx.store.list_components() if c["name"] == "collector")
    r = await b.post(f"/components/{collector['id']}/delete", form(b.csrf))
    assert r.status_code == 409 and "built into the agent" in await b.text(r)
    assert (await b.post("/components/assignments/424242/delete", form(b.csrf))).status_code == 404
    assert (await b.post("/components/99999999999/delete", form(b.csrf))).status_code == 404


async def test_packages_larger_than_other_bodies_are_taken(app, ctx):
    assert max_body_for("POST", UPLOAD_PATH) == max_body_for("POST", "/api/v1/components") > 16 * 1024 * 1024
    assert max_body_for("POST", "/tasks") is None
    b = Browser(app)
    await b.login("admin")
    big = PACKAGE + b"\0" * (17 * 1024 * 1024)
    assert (await _upload(b, data=big, name="big")).status_code == 302
    assert next(c for c in ctx.store.list_components() if c["name"] == "big")["size"] == len(big)


@pytest.mark.parametrize("role", ["viewer", "analyst"])
async def test_only_admins_change_components(app, ctx, role):
    b = Browser(app)
    await b.login(role)
    page = await b.text(await b.get("/components"))
    assert 'data-name="collector"' in page  # everyone reads
    assert "<form" not in page.replace('<form method="post" action="/logout"', "")  # no control but "Log out"
    assert (await _upload(b)).status_code == 403
    assert (await b.post("/components/assignments", form(b.csrf, component_id="1"))).status_code == 403
    assert (await b.post("/components/1/delete", form(b.csrf))).status_code == 403
    assert ctx.store.list_assignments() == [] and len(ctx.store.list_components()) == 3
