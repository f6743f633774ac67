"""Users API, roles on every route, one's own password, and the audit log (real server, both databases)."""

from __future__ import annotations

import json

from tests.integration._manager import (  # noqa: F401 - fixtures
    PASSWORD,
    admin,
    analyst,
    check_schema,
    mserver,
    new_id,
    openapi,
    viewer,
)


def test_admin_manages_users(mserver, admin, openapi):
    name = new_id("u")
    r = admin.post("/api/v1/users", json={"username": name, "password": PASSWORD, "role": "viewer"})
    assert r.status_code == 201, r.text
    check_schema(openapi, "User", r.json())
    assert r.json()["role"] == "viewer" and "password_hash" not in r.text
    listed = admin.get("/api/v1/users").json()
    check_schema(openapi, "UserList", listed)
    assert name in [u["username"] for u in listed["items"]]
    assert admin.post("/api/v1/users", json={"username": name, "password": PASSWORD, "role": "viewer"}).status_code == 409

    token = mserver.login(name, PASSWORD)
    with mserver.client(token) as c:
        assert c.get("/api/v1/me").json()["role"] == "viewer"
        r = admin.patch(f"/api/v1/users/{name}", json={"role": "analyst"})
        assert r.status_code == 200 and r.json()["role"] == "analyst"
        assert c.get("/api/v1/me").status_code == 401  # a role change ends sessions
    assert admin.patch(f"/api/v1/users/{name}", json={"disabled": True}).json()["disabled"] is True
    with mserver.client() as c:
        assert c.post("/api/v1/login", json={"username": name, "password": PASSWORD}).status_code == 401
    admin.patch(f"/api/v1/users/{name}", json={"disabled": False, "password": "another-password"})
    assert mserver.login(name, "another-password")
    assert admin.delete(f"/api/v1/users/{name}").json() == {"ok": True}
    assert admin.get(f"/api/v1/users/{name}").status_code == 404
    assert admin.delete(f"/api/v1/users/{name}").status_code == 404


def test_json_sent_the_way_curl_d_sends_it_is_accepted(admin):
    body = json.dumps({"username": new_id("curl"), "password": PASSWORD, "role": "viewer"})
    r = admin.post("/api/v1/users", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 201, r.text


def test_admin_cannot_lock_themselves_out(admin):
    for body in ({"disabled": True}, {"role": "viewer"}):
        r = admin.patch("/api/v1/users/admin", json=body)
        assert r.status_code == 409 and "ask another admin" in r.json()["error"]["message"]
    assert admin.delete("/api/v1/users/admin").status_code == 409


def test_user_changes_own_password(mserver, admin):
    name = new_id("pw")
    admin.post("/api/v1/users", json={"username": name, "password": PASSWORD, "role": "viewer"})
    with mserver.api(name, PASSWORD) as me:
        r = me.post("/api/v1/me/password", json={"current_password": "wrong-password", "new_password": "x" * 12})
        assert r.status_code == 401
        r = me.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "short"})
        assert r.status_code == 400 and "at least 8" in r.json()["error"]["message"]
        r = me.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "brand-new-pass"})
        assert r.status_code == 200
        assert me.get("/api/v1/me").status_code == 401  # sessions end
    assert mserver.login(name, "brand-new-pass")


def test_viewer_and_analyst_are_denied_what_is_above_them(viewer, analyst, admin):
    agent_target = {"object_name": "collector", "data_type": 5100, "targets": {"tags": ["nobody-has-this"]}}
    denied = {
        viewer: [("post", "/api/v1/tasks", {"json": agent_target}),
                 ("put", "/api/v1/agents/some-agent/tags", {"json": {"tags": ["x"]}}),
                 ("post", "/api/v1/tasks/" + "0" * 32 + "/cancel", {}),
                 ("get", "/api/v1/users", {}), ("get", "/api/v1/audit", {})],
        analyst: [("post", "/api/v1/users", {"json": {"username": "x1", "password": PASSWORD, "role": "admin"}}),
                  ("patch", "/api/v1/users/viewer", {"json": {"role": "admin"}}),
                  ("delete", "/api/v1/agents/some-agent", {}),
                  ("post", "/api/v1/components/assignments", {"json": {"component_id": 1, "selector": {}}}),
                  ("post", "/api/v1/components", {"files": {"file": b"x"}, "data": {"name": "n", "version": "1"}}),
                  ("delete", "/api/v1/components/1", {}), ("get", "/api/v1/audit", {})],
    }  # fmt: skip
    for client, calls in denied.items():
        for method, path, kwargs in calls:
            r = getattr(client, method)(path, **kwargs)
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            assert "needs" in r.json()["error"]["message"]
    # What they may do still works.
    assert viewer.get("/api/v1/agents").status_code == 200
    assert viewer.get("/api/v1/tasks").status_code == 200
    assert analyst.post("/api/v1/tasks", json=agent_target).status_code == 400  # allowed, but nothing matches
    # ... and the denials are in the audit log, with who tried.
    log = admin.get("/api/v1/audit", params={"username": "analyst", "outcome": "denied"}).json()
    assert {e["action"] for e in log["items"]} >= {"users.create_user", "agents.delete_agent"}


def test_audit_log_records_who_what_when_target_outcome(mserver, admin, openapi):
    name = new_id("aud")
    admin.post("/api/v1/users", json={"username": name, "password": PASSWORD, "role": "viewer"})
    admin.patch(f"/api/v1/users/{name}", json={"password": "secret-never-logged"})
    with mserver.client() as c:
        c.post("/api/v1/login", json={"username": name, "password": "wrong-password"})
    log = admin.get("/api/v1/audit", params={"target": name}).json()
    check_schema(openapi, "AuditList", log)
    entries = {e["action"]: e for e in log["items"]}
    created = entries["users.create_user"]
    assert created["username"] == "admin" and created["outcome"] == "ok" and created["status"] == 201
    assert created["detail"] == {"role": "viewer"} and created["method"] == "POST"
    assert entries["users.change_user"]["detail"] == {"password": "changed"}
    assert "secret-never-logged" not in str(log)
    failed = admin.get("/api/v1/audit", params={"action": "api.login", "outcome": "denied"}).json()["items"]
    assert any(e["username"] == name and e["status"] == 401 for e in failed)
    # Reads are not state changes.
    assert admin.get("/api/v1/audit", params={"action": "users.list_users"}).json()["total"] == 0
    newest = admin.get("/api/v1/audit", params={"page_size": 2}).json()
    assert len(newest["items"]) == 2 and newest["items"][0]["at"] >= newest["items"][1]["at"]
