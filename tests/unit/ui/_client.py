"""An in-process console for tests: the server's real Quart app, store and hub, no sockets."""

from __future__ import annotations

import re
from urllib.parse import urlencode
from dataclasses import dataclass
from pathlib import Path

from quart import Quart
from werkzeug.datastructures import MultiDict

from elkeid.config import ServerConfig
from elkeid.pki import ServerPKI
from elkeid.server import ServerContext
from elkeid.server.ac import AgentHub
from elkeid.server.manager import BUILTIN_PLUGINS, Manager, hash_password
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
    store.ensure_builtin_components(BUILTIN_PLUGINS)
    pki = ServerPKI.load_or_create(data_dir / "pki", ["localhost"])  # EC keys: quick to make
    ctx = ServerContext(config=ServerConfig(data_dir=data_dir), pki=pki, store=store, hub=AgentHub(),
                        writer=BatchWriter(store), https_port=8443)  # fmt: skip
    ctx.manager = Manager(ctx)  # its parts, not its tasks: routes reach ctx.manager.configs / .tasks
    return ctx


def close_context(ctx: ServerContext) -> None:
    # The writer's queue is made in its constructor; with no run() to drain and close it, close it here.
    ctx.writer._send.close()
    ctx.writer._receive.close()
    for stream in ctx.writer._subscribers.values():
        stream.close()
    for stream in ctx.derived or ():  # run_server makes this stream; test contexts have none
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
        if isinstance(form, MultiDict):  # the test client's urlencode would keep one value per name
            return await self.client.post(path, data=urlencode(list(form.items(multi=True))), scheme="https",
                                          headers={"Content-Type": "application/x-www-form-urlencoded"}, **kw)  # fmt: skip
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


def form(csrf: str, *pairs: tuple[str, str], **fields: str) -> MultiDict:
    """A form body with repeated fields allowed (``("agent_id", "a"), ("agent_id", "b")``)."""
    return MultiDict([("csrf_token", csrf), *pairs, *fields.items()])


def bearer(store: Store, username: str) -> dict[str, str]:
    """Headers for an API call as ``username`` (a fresh API token)."""
    token, _ = store.issue_api_token(username, 3600)
    return {"Authorization": f"Bearer {token}"}


def audit_entries(store: Store, **filters) -> list[dict]:
    """The audit log, newest first."""
    from elkeid.server.store import AuditFilter

    return store.list_audit(AuditFilter(**filters), limit=1000)[0]


def same_action(entry: dict) -> tuple:
    """What an audit entry says about the action, whichever front end took it (not how it arrived)."""
    return entry["username"], entry["action"], entry["target"], entry["outcome"], entry["detail"]
