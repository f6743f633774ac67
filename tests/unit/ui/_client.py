"""An in-process console for tests: the server's real Quart app, store and hub, no sockets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from quart import Quart

from elkeid.config import ServerConfig
from elkeid.server import ServerContext
from elkeid.server.ac import AgentHub
from elkeid.server.manager import hash_password
from elkeid.server.pipeline import BatchWriter
from elkeid.server.store import Store

PASSWORDS = {"admin": "admin-pass-1", "analyst": "analyst-pass-1", "viewer": "viewer-pass-1"}
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
_HASHES: dict[str, str] = {}  # scrypt is slow on purpose; hash each test password once


def make_context(data_dir: Path, db_url: str | None = None) -> ServerContext:
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(db_url or f"sqlite:///{data_dir / 'elkeid.db'}")
    for role, password in PASSWORDS.items():
        if role not in _HASHES:
            _HASHES[role] = hash_password(password)
        store.add_user(role, _HASHES[role], role)
    return ServerContext(config=ServerConfig(data_dir=data_dir), pki=None, store=store, hub=AgentHub(),
                         writer=BatchWriter(store))  # fmt: skip


def close_context(ctx: ServerContext) -> None:
    # The writer's queue is made in its constructor; with no run() to drain and close it, close it here.
    ctx.writer._send.close()
    ctx.writer._receive.close()
    for stream in ctx.writer._subscribers.values():
        stream.close()
    for stream in ctx.derived:  # the rule engine's stream of derived records, made with the context
        stream.close()
    ctx.store.close()


def csrf_of(html: str) -> str:
    m = _CSRF_RE.search(html)
    assert m, "no csrf_token field on the page"
    return m.group(1)


@dataclass
class Browser:
    """A Quart test client speaking HTTPS, with a cookie jar and the page's CSRF token."""

    app: Quart

    def __post_init__(self) -> None:
        self.client = self.app.test_client()
        self.csrf = ""

    async def get(self, path: str, **kw):
        return await self.client.get(path, scheme="https", **kw)

    async def post(self, path: str, form: dict | None = None, **kw):
        return await self.client.post(path, form=form or {}, scheme="https", **kw)

    async def text(self, response) -> str:
        return (await response.get_data()).decode()

    async def login(self, username: str = "admin", password: str | None = None, next_path: str = "/"):
        page = await self.get("/login")
        token = csrf_of(await self.text(page))
        response = await self.post("/login", {"username": username, "password": password or PASSWORDS[username],
                                              "csrf_token": token, "next": next_path})  # fmt: skip
        if response.status_code == 302:
            self.csrf = csrf_of(await self.text(await self.get("/account")))
        return response

    def cookie(self, name: str) -> str | None:
        for c in self.client.cookie_jar:
            if c.name == name:
                return c.value
        return None


def add_agent(store: Store, agent_id: str, *, hostname: str = "", heartbeat: dict | None = None,
              plugins: list[dict] | None = None, connected: bool = True, tags: list[str] | None = None,
              version: str = "1.0") -> None:  # fmt: skip
    """Enroll an agent through the store; ``connected`` marks it online as the servicer would."""
    token, _ = store.create_enroll_token(60)
    store.enroll_agent(token, agent_id, serial=f"s-{agent_id}", not_after=0, hostname=hostname)
    if connected:
        store.agent_connected(agent_id, {"hostname": hostname, "version": version, "product": "elkeid-agent",
                                         "intranet_ipv4": ["10.0.0.1"]}, "127.0.0.1")  # fmt: skip
    if heartbeat is not None or plugins:
        store.store_heartbeats(agent_id, [(0, heartbeat)] if heartbeat is not None else [],
                               [(0, p) for p in plugins or []])  # fmt: skip
    if tags:
        from elkeid.server.store._models import Agent

        with store.session() as s, s.begin():
            s.get(Agent, agent_id).tags = list(tags)
