"""SQLAlchemy 2 models. Timestamps are float unix seconds (portable across SQLite
and PostgreSQL, cheap to compare); lists and maps are JSON columns.

The schema is owned by the Alembic migrations in ``migrations/versions``; a test
checks that they produce exactly these tables.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username", ondelete="CASCADE"), index=True)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class EnrollToken(Base):
    __tablename__ = "enroll_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(255), default="")
    used_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    used_by: Mapped[str | None] = mapped_column(String(128), nullable=True)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    version: Mapped[str] = mapped_column(String(64), default="")
    product: Mapped[str] = mapped_column(String(64), default="")
    intranet_ipv4: Mapped[list] = mapped_column(JSON, default=list)
    extranet_ipv4: Mapped[list] = mapped_column(JSON, default=list)
    intranet_ipv6: Mapped[list] = mapped_column(JSON, default=list)
    extranet_ipv6: Mapped[list] = mapped_column(JSON, default=list)
    source_ip: Mapped[str] = mapped_column(String(64), default="")
    online: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    status: Mapped[str] = mapped_column(String(16), default="enrolled")
    enrolled_at: Mapped[float] = mapped_column(Float)
    first_seen: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_seen: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_heartbeat: Mapped[dict] = mapped_column(JSON, default=dict)
    last_heartbeat_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    tags: Mapped[list] = mapped_column(JSON, default=list)


class Certificate(Base):
    __tablename__ = "certificates"

    serial: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(128), index=True)
    issued_at: Mapped[float] = mapped_column(Float)
    not_after: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class PluginHeartbeat(Base):
    __tablename__ = "plugin_heartbeats"

    agent_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    received_at: Mapped[float] = mapped_column(Float)


class AgentSeq(Base):
    """The highest batch seq durably taken per agent (PROTOCOL.md acks)."""

    __tablename__ = "agent_seq"

    agent_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    # Per-stream sessions restart seq from 1; an agent's spool keeps its seq
    # across restarts, so the server only ever compares within one agent.
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[float] = mapped_column(Float)


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


Index("ix_agents_hostname", Agent.hostname)
