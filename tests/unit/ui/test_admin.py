"""Users and the audit log (admins only), with the API's guards."""

from __future__ import annotations

import time

import pytest
from markupsafe import escape

from elkeid.ui._admin import audit_query, change_body
from elkeid.ui.errors import BadForm

from ._client import PASSWORDS, Browser, audit_entries, form

pytestmark = pytest.mark.anyio

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'


async def test_an_admin_creates_a_user_who_can_then_log_in(app, ctx):
    b = Browser(app)
    await b.login("admin")
    r = await b.post("/users", form(b.csrf, username="carol", role="analyst", password="carol-pass-1",
                                    password_again="carol-pass-1"))  # fmt: skip
    assert r.status_code == 302 and r.location == "/users?done=created&user=carol"
    page = await b.text(await b.get(r.location))
    assert "User carol created." in page and 'data-user="carol"' in page and "carol-pass-1" not in page
    assert (await Browser(app).login("carol", "carol-pass-1")).status_code == 302
    (entry,) = audit_entries(ctx.store, action="users.create_user")
    assert (entry["username"], entry["target"], entry["detail"], entry["path"]) == ("admin", "carol",
                                                                                   {"role": "analyst"}, "/users")  # fmt: skip


async def test_user_form_refusals(app, ctx):
    b = Browser(app)
    await b.login("admin")
    cases = [
        ({"username": "dave", "role": "viewer", "password": "dave-pass-1", "password_again": "other-pass-1"}, 400,
         "The two passwords differ."),
        ({"username": "dave", "role": "viewer", "password": "short", "password_again": "short"}, 400,
         "field password:"),
        ({"username": "viewer", "role": "viewer", "password": "dave-pass-1", "password_again": "dave-pass-1"}, 409,
         "already exists"),
        ({"username": SCRIPT, "role": "viewer", "password": "dave-pass-1", "password_again": "dave-pass-1"}, 400,
         "field username"),
        ({"username": "dave", "role": "root", "password": "dave-pass-1", "password_again": "dave-pass-1"}, 400,
         "field role must be one of admin, analyst, viewer"),
    ]  # fmt: skip
    for fields, status, message in cases:
        r = await b.post("/users", form(b.csrf, **fields))
        page = await b.text(r)
        assert r.status_code == status and str(escape(message)) in page, (fields, page[-600:])
        assert SCRIPT not in page
    assert [u["username"] for u in ctx.store.list_users()] == ["admin", "analyst", "viewer"]


async def test_changes_end_the_users_sessions(app, ctx):
    admin, viewer = Browser(app), Browser(app)
    await admin.login("admin")
    await viewer.login("viewer")
    r = await admin.post("/users/viewer", form(admin.csrf, change="role", role="analyst"))
    assert r.status_code == 302 and r.location == "/users?done=role&user=viewer"
    assert ctx.store.user_info("viewer")["role"] == "analyst"
    assert (await viewer.get("/")).status_code == 302  # logged out by the change
    await admin.post("/users/viewer", form(admin.csrf, change="disable"))
    assert ctx.store.user_info("viewer")["disabled"] is True
    assert (await viewer.login("viewer")).status_code == 401
    await admin.post("/users/viewer", form(admin.csrf, change="enable"))
    r = await admin.post("/users/viewer", form(admin.csrf, change="password", password="fresh-pass-22"))
    assert r.status_code == 302
    assert (await viewer.login("viewer", PASSWORDS["viewer"])).status_code == 401
    assert (await viewer.login("viewer", "fresh-pass-22")).status_code == 302
    details = [e["detail"] for e in audit_entries(ctx.store, action="users.change_user")]
    assert details == [{"password": "changed"}, {"disabled": False}, {"disabled": True}, {"role": "analyst"}]
    r = await admin.post("/users/viewer/delete", form(admin.csrf))
    assert r.status_code == 302 and "viewer" not in [u["username"] for u in ctx.store.list_users()]


async def test_an_admin_cannot_lock_themselves_out(app, ctx):
    b = Browser(app)
    await b.login("admin")
    page = await b.text(await b.get("/users"))
    assert 'action="/users/admin/delete"' not in page  # no such control for oneself
    for fields in ({"change": "role", "role": "viewer"}, {"change": "disable"}):
        r = await b.post("/users/admin", form(b.csrf, **fields))
        assert r.status_code == 409 and "you cannot disable or demote yourself" in await b.text(r)
    r = await b.post("/users/admin/delete", form(b.csrf))
    assert r.status_code == 409 and "you cannot delete yourself" in await b.text(r)
    assert (await b.post("/users/admin", form(b.csrf, change="explode"))).status_code == 400
    assert (await b.post("/users/nobody", form(b.csrf, change="disable"))).status_code == 404
    assert ctx.store.user_info("admin") == {**ctx.store.user_info("admin"), "role": "admin", "disabled": False}
    assert {e["outcome"] for e in audit_entries(ctx.store, target="admin")} == {"rejected"}


@pytest.mark.parametrize("role", ["viewer", "analyst"])
async def test_users_and_audit_are_for_admins_only(app, ctx, role):
    b = Browser(app)
    await b.login(role)
    nav = await b.text(await b.get("/"))
    assert 'href="/users"' not in nav and 'href="/audit"' not in nav
    assert (await b.get("/users")).status_code == 403
    assert (await b.get("/audit")).status_code == 403
    r = await b.post("/users", form(b.csrf, username="eve", role="admin", password="eve-pass-11",
                                    password_again="eve-pass-11"))  # fmt: skip
    assert r.status_code == 403 and ctx.store.get_user("eve") is None
    assert (await b.post("/users/admin", form(b.csrf, change="disable"))).status_code == 403
    assert (await b.post("/users/admin/delete", form(b.csrf))).status_code == 403
    assert ctx.store.user_info("admin")["disabled"] is False
    denied = audit_entries(ctx.store, username=role, outcome="denied")
    assert [e["action"] for e in denied] == ["users.delete_user", "users.change_user", "users.create_user"]


async def test_audit_page_filters_pages_and_escapes(app, ctx):
    now = time.time()
    for i in range(130):
        ctx.store.add_audit(username="bot", action="agents.add_tags", method="POST", path="/api/v1/x", target=f"t{i}",
                            status=200, outcome="ok", source_ip="10.0.0.1", at=now - 3600 + i)  # fmt: skip
    ctx.store.add_audit(username=SCRIPT, action="api.login", method="POST", path="/api/v1/login", target=IMG,
                        status=401, outcome="denied", source_ip="10.0.0.2", detail={IMG: SCRIPT}, at=now)  # fmt: skip
    b = Browser(app)
    await b.login("admin")
    page = await b.text(await b.get("/audit"))
    assert SCRIPT not in page and IMG not in page and "<img" not in page
    assert str(escape(SCRIPT)) in page and str(escape(IMG)) in page
    assert "132 entries, page 1 of 2" in page  # and the login of this browser
    assert 'rel="next"' in page
    page2 = await b.text(await b.get("/audit?page=2&username=bot"))
    assert "130 entries, page 2 of 2" in page2 and 'data-audit' in page2 and 'class="audit-user">bot<' in page2
    denied = await b.text(await b.get("/audit?outcome=denied"))
    assert "1 entry." in denied
    since = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(now - 60))
    recent = await b.text(await b.get(f"/audit?since={since}&action=agents.add_tags"))
    assert "entries." in recent and 'class="audit-target">t0<' not in recent
    for bad in ("?outcome=maybe", "?since=yesterday", "?page=0", "?username=" + "x" * 300):
        assert (await b.get("/audit" + bad)).status_code == 400, bad


def test_audit_query_and_change_forms():
    query, filters, page = audit_query({"username": " bob ", "since": "2025-01-31T12:00", "page": "3"})
    assert query.to_dict() == {"username": "bob", "since": "1738324800.0", "page": "3", "page_size": "100"}
    assert filters["since"] == "2025-01-31T12:00" and page == 3
    assert change_body({"change": "role", "role": "viewer"}) == ("role", {"role": "viewer"})
    assert change_body({"change": "enable"}) == ("enable", {"disabled": False})
    with pytest.raises(BadForm, match="unknown change"):
        change_body({})
