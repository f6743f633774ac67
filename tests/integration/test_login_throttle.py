"""Login throttling against a real server: per user, per source address, 429 with Retry-After."""

from __future__ import annotations

from elkeid.server.manager._throttle import PER_IP, PER_USER, WINDOW


def _login(client, username, password):
    return client.post("/api/v1/login", json={"username": username, "password": password})


def test_a_user_is_throttled_after_repeated_failures(fresh_server):
    fresh_server.start()
    with fresh_server.api() as admin:
        admin.post("/api/v1/users", json={"username": "mallory-target", "password": "right-password", "role": "viewer"})
    with fresh_server.client() as c:
        for _ in range(PER_USER):
            assert _login(c, "mallory-target", "wrong-password").status_code == 401
        r = _login(c, "mallory-target", "right-password")  # even the right password waits now
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "too_many_requests"
        assert 0 < int(r.headers["Retry-After"]) <= WINDOW
        # Other users from the same address are not affected (below the per-address limit).
        assert _login(c, "admin", fresh_server.admin_password).status_code == 200
    with fresh_server.api() as admin:
        denied = admin.get("/api/v1/audit", params={"action": "api.login", "username": "mallory-target"}).json()
        assert [e["status"] for e in denied["items"]][:1] == [429]


def test_an_address_is_throttled_whatever_names_it_tries(fresh_server):
    fresh_server.start()
    with fresh_server.client() as c:
        for i in range(PER_IP):
            assert _login(c, f"spray-{i}", "guess-password").status_code == 401
        r = _login(c, "admin", fresh_server.admin_password)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    # The server still serves everything else.
    with fresh_server.client() as c:
        assert c.get("/healthz").status_code == 200
