"""The store: every database read and write the server makes.

Methods are synchronous (SQLAlchemy sessions); async callers run them in a
worker thread with ``anyio.to_thread.run_sync`` so the event loop never blocks.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from elkeid.pki import hash_token

from ._agent_filter import AgentQueries
from ._assets import AssetStore
from ._alerts import AlertStore
from ._audit import AuditLog
from ._components import ComponentStore
from ._engine import NUL_STANDIN, make_engine, upgrade
from ._events import EventsMixin
from ._ingest import IngestMixin
from ._models import Agent, AgentSeq, ApiToken, Certificate, EnrollToken, PluginHeartbeat, Setting, User
from ._registry import RegistryMixin
from ._rules import RuleStore
from ._tasks import TaskStore
from ._uploads import UploadsMixin
from ._users import UserAdmin
from .errors import Conflict, NotFound, TokenRejected

ROLES = ("admin", "analyst", "viewer")


def _agent_dict(a: Agent) -> dict[str, Any]:
    return {
        "id": a.id,
        "hostname": a.hostname,
        "version": a.version,
        "product": a.product,
        "intranet_ipv4": list(a.intranet_ipv4 or []),
        "extranet_ipv4": list(a.extranet_ipv4 or []),
        "intranet_ipv6": list(a.intranet_ipv6 or []),
        "extranet_ipv6": list(a.extranet_ipv6 or []),
        "source_ip": a.source_ip,
        "online": bool(a.online),
        "status": a.status,
        "enrolled_at": a.enrolled_at,
        "first_seen": a.first_seen,
        "last_seen": a.last_seen,
        "last_heartbeat_at": a.last_heartbeat_at,
        "last_heartbeat": dict(a.last_heartbeat or {}),
        "tags": list(a.tags or []),
        "server_id": a.server_id or "",
    }


def _command_line_token() -> str:
    """A new enrollment token (24 random bytes, URL-safe base64) that never begins with "-": it is
    typed as ``elkeid agent --token TOKEN``, where argparse would take "-..." for an option."""
    while (token := secrets.token_urlsafe(24)).startswith("-"):
        pass
    return token


def _held_by(server_id: str) -> tuple:
    """The condition "``server_id`` holds the agent's stream, or no server claims it" (none for no id)."""
    return (or_(Agent.server_id == server_id, Agent.server_id.is_(None)),) if server_id else ()


def _plugin_dict(p: PluginHeartbeat) -> dict[str, Any]:
    return {"name": p.name, "received_at": p.received_at, "fields": dict(p.fields)}


class Store(UserAdmin, AgentQueries, TaskStore, ComponentStore, AuditLog, IngestMixin, EventsMixin, UploadsMixin,
            RegistryMixin, AssetStore, AlertStore, RuleStore):  # fmt: skip
    """Database access for the server (SQLite by default, PostgreSQL by URL).

    Each group of tables lives in a mixin module of its own: the manager's
    (``_users``, ``_agent_filter``, ``_tasks``, ``_components``, ``_audit``) and
    ingest's (``_ingest``, ``_events``, ``_uploads``, ``_registry``), the asset inventory's (``_assets``),
    the rule engine's (``_alerts``, ``_rules``).
    """

    _agent_dict = staticmethod(_agent_dict)

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if migrate:
            upgrade(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self._session()

    # --- settings ------------------------------------------------------------------
    def get_setting(self, key: str) -> str | None:
        with self.session() as s:
            row = s.get(Setting, key)
            return row.value if row else None

    def set_setting(self, key: str, value: str) -> None:
        with self.session() as s, s.begin():
            s.merge(Setting(key=key, value=value))

    # --- users ---------------------------------------------------------------------
    def add_user(self, username: str, password_hash: str, role: str) -> None:
        """Raises: Conflict if the user exists; ValueError for an unknown role."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
        now = time.time()
        try:
            with self.session() as s, s.begin():
                s.add(User(username=username, password_hash=password_hash, role=role, created_at=now,
                           updated_at=now, disabled=False))  # fmt: skip
        except IntegrityError as exc:
            raise Conflict(f"user {username!r} already exists") from exc

    def count_users(self) -> int:
        with self.session() as s:
            return s.scalar(select(func.count()).select_from(User)) or 0

    def get_user(self, username: str) -> dict[str, Any] | None:
        with self.session() as s:
            u = s.get(User, username)
            if u is None:
                return None
            return {"username": u.username, "password_hash": u.password_hash, "role": u.role,
                    "disabled": u.disabled, "created_at": u.created_at}  # fmt: skip

    def set_password(self, username: str, password_hash: str) -> None:
        """Set a password and end every API session of that user. Raises: NotFound."""
        with self.session() as s, s.begin():
            u = s.get(User, username)
            if u is None:
                raise NotFound(f"no user named {username!r}")
            u.password_hash = password_hash
            u.updated_at = time.time()
            s.execute(delete(ApiToken).where(ApiToken.username == username))

    def issue_api_token(self, username: str, ttl: float) -> tuple[str, float]:
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self.session() as s, s.begin():
            s.execute(delete(ApiToken).where(ApiToken.expires_at < now))
            s.add(ApiToken(token_hash=hash_token(token), username=username, created_at=now, expires_at=now + ttl))
        return token, now + ttl

    def resolve_api_token(self, token: str) -> dict[str, Any] | None:
        """The user behind a live API token, or None if unknown or expired."""
        with self.session() as s:
            row = s.get(ApiToken, hash_token(token))
            if row is None or row.expires_at < time.time():
                return None
            u = s.get(User, row.username)
            if u is None or u.disabled:
                return None
            return {"username": u.username, "role": u.role, "expires_at": row.expires_at}

    def revoke_api_token(self, token: str) -> None:
        with self.session() as s, s.begin():
            s.execute(delete(ApiToken).where(ApiToken.token_hash == hash_token(token)))

    # --- enrollment ----------------------------------------------------------------
    def create_enroll_token(self, ttl: float, *, created_by: str = "", note: str = "") -> tuple[str, float]:
        token = _command_line_token()
        now = time.time()
        with self.session() as s, s.begin():
            s.add(EnrollToken(token_hash=hash_token(token), created_at=now, expires_at=now + ttl,
                              created_by=created_by, note=note))  # fmt: skip
        return token, now + ttl

    def enroll_agent(
        self,
        token: str,
        agent_id: str,
        *,
        serial: str,
        not_after: float,
        hostname: str = "",
        source_ip: str = "",
    ) -> None:
        """Consume ``token`` and record the agent and its new certificate, atomically.

        Older certificates of the same agent id are revoked: one identity, one key.

        Raises:
            TokenRejected: the token is unknown, already used or expired.
        """
        now = time.time()
        th = hash_token(token)
        with self.session() as s, s.begin():
            # The conditional UPDATE is the single-use guarantee: two racing
            # enrollments cannot both see rowcount 1.
            res = s.execute(
                update(EnrollToken)
                .where(EnrollToken.token_hash == th, EnrollToken.used_at.is_(None), EnrollToken.expires_at >= now)
                .values(used_at=now, used_by=agent_id)
            )
            if res.rowcount != 1:
                row = s.get(EnrollToken, th)
                if row is None:
                    raise TokenRejected("unknown enrollment token")
                if row.used_at is not None:
                    raise TokenRejected("this enrollment token was already used")
                raise TokenRejected("this enrollment token has expired")
            s.execute(
                update(Certificate)
                .where(Certificate.agent_id == agent_id, Certificate.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            s.add(Certificate(serial=serial, agent_id=agent_id, issued_at=now, not_after=not_after))
            agent = s.get(Agent, agent_id)
            if agent is None:
                s.add(Agent(id=agent_id, hostname=hostname, version="", product="", intranet_ipv4=[],
                            extranet_ipv4=[], intranet_ipv6=[], extranet_ipv6=[], source_ip=source_ip,
                            online=False, status="enrolled", enrolled_at=now, last_heartbeat={}, tags=[]))  # fmt: skip
            else:
                agent.status = "enrolled"
                agent.enrolled_at = now
                agent.source_ip = source_ip or agent.source_ip
                if hostname:
                    agent.hostname = hostname

    def certificate_status(self, serial: str) -> tuple[str | None, bool]:
        """(agent id, revoked) for a certificate serial; (None, True) if we never issued it."""
        with self.session() as s:
            row = s.get(Certificate, serial)
            if row is None:
                return None, True
            return row.agent_id, row.revoked_at is not None

    def revoked_among(self, serials: list[str]) -> set[str]:
        """Those of ``serials`` that are revoked or were never issued."""
        found: dict[str, bool] = {}
        with self.session() as s:
            for i in range(0, len(serials), 500):
                chunk = serials[i : i + 500]
                stmt = select(Certificate.serial, Certificate.revoked_at).where(Certificate.serial.in_(chunk))
                found.update({serial: revoked_at is not None for serial, revoked_at in s.execute(stmt)})
        return {serial for serial in serials if found.get(serial, True)}

    def revoke_agent(self, agent_id: str) -> list[str]:
        """Revoke every certificate of an agent; returns the revoked serials. Raises: NotFound."""
        now = time.time()
        with self.session() as s, s.begin():
            agent = s.get(Agent, agent_id)
            if agent is None:
                raise NotFound(f"no agent with id {agent_id!r}")
            serials = list(
                s.scalars(
                    select(Certificate.serial).where(Certificate.agent_id == agent_id, Certificate.revoked_at.is_(None))
                )
            )
            s.execute(update(Certificate).where(Certificate.serial.in_(serials)).values(revoked_at=now))
            agent.status = "revoked"
            agent.online = False
            return serials

    # --- agent presence ------------------------------------------------------------
    def agent_connected(self, agent_id: str, host: dict[str, Any], source_ip: str, server_id: str = "") -> None:
        """Mark the agent online, held by ``server_id`` (the server whose stream it is). Raises: NotFound."""
        now = time.time()
        with self.session() as s, s.begin():
            agent = s.get(Agent, agent_id)
            if agent is None:  # enrolled by another server sharing the database, then lost? keep going
                raise NotFound(f"no agent with id {agent_id!r}")
            agent.online = True
            agent.server_id = server_id or None
            agent.last_seen = now
            agent.first_seen = agent.first_seen or now
            agent.source_ip = source_ip or agent.source_ip
            # Host fields come from the agent: cut to the column and without NUL (PostgreSQL refuses it).
            for key, limit in (("hostname", 255), ("version", 64), ("product", 64)):
                if host.get(key):
                    setattr(agent, key, host[key][:limit].replace("\0", NUL_STANDIN))
            for key in ("intranet_ipv4", "extranet_ipv4", "intranet_ipv6", "extranet_ipv6"):
                if key in host:
                    setattr(agent, key, [a[:64] for a in host[key][:64]])

    def agent_disconnected(self, agent_id: str, server_id: str = "") -> bool:
        """Mark the agent offline, unless another server holds its stream by now (with several servers on
        one database an agent may reconnect elsewhere before this server hears its old stream end).
        Whether the row was changed."""
        stmt = update(Agent).where(Agent.id == agent_id, *_held_by(server_id))
        with self.session() as s, s.begin():
            return s.execute(stmt.values(online=False, last_seen=time.time())).rowcount > 0

    def mark_offline(self, server_id: str = "") -> int:
        """Mark offline the agents ``server_id`` held (on its start and stop), and those nobody claims;
        every online agent when ``server_id`` is empty. How many rows changed."""
        stmt = update(Agent).where(Agent.online.is_(True), *_held_by(server_id))
        with self.session() as s, s.begin():
            return s.execute(stmt.values(online=False)).rowcount

    def get_agent(self, agent_id: str) -> dict[str, Any]:
        """Raises: NotFound."""
        with self.session() as s:
            a = s.get(Agent, agent_id)
            if a is None:
                raise NotFound(f"no agent with id {agent_id!r}")
            out = _agent_dict(a)
            out["plugins"] = [_plugin_dict(p) for p in
                              s.scalars(select(PluginHeartbeat).where(PluginHeartbeat.agent_id == agent_id))]  # fmt: skip
            return out

    def plugin_heartbeats(self) -> dict[str, list[dict[str, Any]]]:
        """Every agent's latest plugin heartbeats in one read: {agent id: [{name, received_at, fields}]}."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self.session() as s:
            for p in s.scalars(select(PluginHeartbeat).order_by(PluginHeartbeat.agent_id, PluginHeartbeat.name)):
                out.setdefault(p.agent_id, []).append(_plugin_dict(p))
        return out

    def list_agents(self) -> list[dict[str, Any]]:
        with self.session() as s:
            return [_agent_dict(a) for a in s.scalars(select(Agent).order_by(Agent.hostname, Agent.id))]

    # --- batch sequence (acks) -----------------------------------------------------
    def last_seq(self, agent_id: str) -> int:
        with self.session() as s:
            row = s.get(AgentSeq, agent_id)
            return row.last_seq if row else 0
