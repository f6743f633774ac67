"""Login, bearer tokens and the CLI's user verbs against a real server."""

from __future__ import annotations


def test_login_with_a_wrong_password_is_refused(server):
    with server.client() as c:
        r = c.post("/api/v1/login", json={"username": "admin", "password": "wrong-password"})
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"
        assert c.post("/api/v1/login", json={"username": "nobody", "password": "x"}).status_code == 401


def test_agents_need_a_bearer_token(server):
    with server.client() as c:
        assert c.get("/api/v1/agents").status_code == 401
    with server.client("made-up") as c:
        assert c.get("/api/v1/agents").status_code == 401


def test_logout_ends_the_token(server):
    token = server.login()
    with server.client(token) as c:
        assert c.get("/api/v1/me").json()["role"] == "admin"
        assert c.post("/api/v1/logout").status_code == 200
        assert c.get("/api/v1/me").status_code == 401


def test_cli_user_add_and_passwd(server):
    out = server.cli("user", "add", "alice", "--role", "viewer", "--password-stdin", input="alice-pass-1\n")
    assert out.returncode == 0, out.stderr
    assert server.login("alice", "alice-pass-1")
    again = server.cli("user", "add", "alice", "--password-stdin", input="alice-pass-1\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    short = server.cli("user", "passwd", "alice", "--password-stdin", input="short\n")
    assert short.returncode == 1 and "at least 8" in short.stderr
    out = server.cli("user", "passwd", "alice", "--password-stdin", input="alice-pass-2\n")
    assert out.returncode == 0, out.stderr
    assert server.login("alice", "alice-pass-2")


def test_bad_json_login_gets_400(server):
    with server.client() as c:
        r = c.post("/api/v1/login", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 400
        r = c.post("/api/v1/login", json={"username": ["admin"], "password": "x"})
        assert r.status_code == 400
        assert "field username must be a string, not an array" in r.json()["error"]["message"]
