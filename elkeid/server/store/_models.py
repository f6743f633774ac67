"""SQLAlchemy 2 models. Timestamps are float unix seconds (portable across SQLite
and PostgreSQL, cheap to compare); lists and maps are JSON columns.

The schema is owned by the Alembic migrations in ``migrations/versions``; a test
checks that they produce exactly these tables.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
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
    #: The server (ServerConfig.resolve_server_id) holding the agent's stream, when several share the database.
    server_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


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


# --- manager: audit log, tasks, components (migration 0003) ----------------------------

from sqlalchemy import Integer, LargeBinary, UniqueConstraint  # noqa: E402 - kept with the models that use them


class AuditEntry(Base):
    """One state-changing API call: who, what, when, on what, and how it ended."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(512))
    target: Mapped[str] = mapped_column(String(255))
    status: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    source_ip: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class Task(Base):
    """A task for many agents; it fans out to one :class:`Subtask` per agent."""

    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    object_name: Mapped[str] = mapped_column(String(64))
    data_type: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)
    targets: Mapped[dict] = mapped_column(JSON, default=dict)
    concurrency: Mapped[int] = mapped_column(Integer)
    wait_timeout: Mapped[float] = mapped_column(Float)
    result_timeout: Mapped[float] = mapped_column(Float)
    expect_result: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), index=True)
    total: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float, index=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Subtask(Base):
    """One agent's share of a task, found again by its token when the result arrives."""

    __tablename__ = "subtasks"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Float)
    wait_deadline: Mapped[float] = mapped_column(Float)
    sent_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    result_deadline: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(String(1024), default="")


Index("ix_subtasks_task_status", Subtask.task_id, Subtask.status, Subtask.seq)
Index("ix_subtasks_agent_status", Subtask.agent_id, Subtask.status)
Index("ix_subtasks_status_wait", Subtask.status, Subtask.wait_deadline)


class Component(Base):
    """A plugin the server hands to agents: an uploaded, signed package or a built-in."""

    __tablename__ = "components"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_components_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    signature: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)


class ComponentBlob(Base):
    """A package's bytes, once per SHA-256, in the database so every server can serve it."""

    __tablename__ = "component_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Assignment(Base):
    """Component -> agents chosen by a selector (tags, platform, arch; empty = every agent)."""

    __tablename__ = "component_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id", ondelete="RESTRICT"), index=True)
    selector: Mapped[dict] = mapped_column(JSON, default=dict)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
# --- ingest (server-ingest): recent events, uploads, service registry ------------------

#: SQLite gives its rowid alias only to a column declared exactly INTEGER.
_ROWID = BigInteger().with_variant(Integer, "sqlite")
#: PostgreSQL stores event fields as JSONB (parsed once, cheap ``->>``); SQLite as JSON text.
_FIELDS = JSON().with_variant(JSONB(), "postgresql")
#: Longest pid / exe copied into the indexed columns of ``events``; longer ones stay in ``fields`` only.
EVENT_PID_LEN = 32
EVENT_EXE_LEN = 255


class Event(Base):
    """One record from an agent, kept for the retention period (the recent-event store).

    ``fields`` holds the record as sent. A few fields are copied into indexed
    columns when they are short enough (``pid``, ``exe``), so process trees
    (agent + pid) and executable searches do not read JSON.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(_ROWID, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(128))
    data_type: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[float] = mapped_column(Float)
    pid: Mapped[str | None] = mapped_column(String(EVENT_PID_LEN), nullable=True)
    exe: Mapped[str | None] = mapped_column(String(EVENT_EXE_LEN), nullable=True)
    fields: Mapped[dict] = mapped_column(_FIELDS)


Index("ix_events_agent_id", Event.agent_id, Event.id)
Index("ix_events_data_type", Event.data_type, Event.id)
Index("ix_events_agent_pid", Event.agent_id, Event.pid)
Index("ix_events_exe", Event.exe)


class Upload(Base):
    """A file an agent uploads over FileExt for a task (data_type 1050).

    The row is created as ``expected`` by the task that asks for the file, and
    becomes ``stored`` once the whole file is on disk under ``data_dir/uploads``.
    """

    __tablename__ = "uploads"

    token: Mapped[str] = mapped_column(String(128), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(16))
    max_bytes: Mapped[int] = mapped_column(BigInteger)
    expected_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    path: Mapped[str | None] = mapped_column(Text, nullable=True)
    stored_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class RegistryInstance(Base):
    """One service instance in service discovery (PROTOCOL.md, /registry)."""

    __tablename__ = "registry"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    ip: Mapped[str] = mapped_column(String(255), primary_key=True)
    port: Mapped[int] = mapped_column(Integer, primary_key=True)
    weight: Mapped[int] = mapped_column(BigInteger)
    extra: Mapped[dict] = mapped_column(JSON)
    registered_at: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float, index=True)


# --- assets: inventory, snapshots, change feed (migration 0005) -------------------------


class Asset(Base):
    """One item of an agent's inventory (a listening port, a package ...), keyed by its identity key.

    ``key_hash`` is the SHA-1 of the item's identity key values (``DataType.key``),
    ``label`` a copy of the type's main field (name, port ...) when short enough,
    indexed for fleet-wide searches; ``fields`` the item as last seen.
    """

    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("agent_id", "data_type", "key_hash", name="uq_assets_agent_type_key"),)

    id: Mapped[int] = mapped_column(_ROWID, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(128))
    data_type: Mapped[int] = mapped_column(Integer)
    key_hash: Mapped[str] = mapped_column(String(40))
    label: Mapped[str | None] = mapped_column(String(255), nullable=True)
    fields: Mapped[dict] = mapped_column(_FIELDS)
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    package_seq: Mapped[str] = mapped_column(String(64))


Index("ix_assets_type_label", Asset.data_type, Asset.label)


class AssetSnapshot(Base):
    """The last snapshot applied per agent and asset type, and when the change feed started for it."""

    __tablename__ = "asset_snapshots"

    agent_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    data_type: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_seq: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    msg: Mapped[str] = mapped_column(String(1024))
    count: Mapped[int] = mapped_column(Integer)
    received: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[float] = mapped_column(Float)
    applied_at: Mapped[float] = mapped_column(Float)
    items: Mapped[int] = mapped_column(Integer)
    baseline_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class AssetChange(Base):
    """One entry of the change feed: an item added, removed or changed between two snapshots."""

    __tablename__ = "asset_changes"

    id: Mapped[int] = mapped_column(_ROWID, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(128))
    data_type: Mapped[int] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(16))
    key: Mapped[dict] = mapped_column(JSON)
    label: Mapped[str | None] = mapped_column(String(255), nullable=True)
    before: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    at: Mapped[float] = mapped_column(Float)
    package_seq: Mapped[str] = mapped_column(String(64))


Index("ix_asset_changes_agent", AssetChange.agent_id, AssetChange.id)
Index("ix_asset_changes_type", AssetChange.data_type, AssetChange.id)
Index("ix_asset_changes_at", AssetChange.at)
# --- rule engine: alerts and their triage history, rule files and settings (migration 0004) ----


class AlertRow(Base):
    """One alert (docs/alerts.md): a rule's detection on one host, de-duplicated by ``dedup_key``.

    ``search`` holds lower-cased text (rule, host, event values) for the API's text search.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(_ROWID, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[str] = mapped_column(String(128))
    rule_name: Mapped[str] = mapped_column(String(300))
    severity: Mapped[str] = mapped_column(String(16))
    severity_rank: Mapped[int] = mapped_column(Integer)
    rule_source: Mapped[str] = mapped_column(String(16))
    rule_kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    attack: Mapped[list] = mapped_column(JSON)
    agent_id: Mapped[str] = mapped_column(String(128))
    hostname: Mapped[str] = mapped_column(String(255))
    data_type: Mapped[int] = mapped_column(Integer)
    event: Mapped[dict] = mapped_column(JSON)
    fields: Mapped[dict] = mapped_column(JSON)
    frequency: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    process_chain: Mapped[list] = mapped_column(JSON)
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    search: Mapped[str] = mapped_column(Text)


Index("ix_alerts_dedup_status", AlertRow.dedup_key, AlertRow.status)
Index("ix_alerts_status_last_seen", AlertRow.status, AlertRow.last_seen)
Index("ix_alerts_rule_last_seen", AlertRow.rule_id, AlertRow.last_seen)
Index("ix_alerts_agent_last_seen", AlertRow.agent_id, AlertRow.last_seen)
Index("ix_alerts_last_seen", AlertRow.last_seen)
Index("ix_alerts_first_seen", AlertRow.first_seen)


class AlertHistory(Base):
    """One triage step of an alert: who moved it from which status to which, when and why."""

    __tablename__ = "alert_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[float] = mapped_column(Float)
    username: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text)


class RuleFile(Base):
    """A rule file uploaded through the API (our rules, Sigma, or a whitelist made from an alert).

    Kept in the database so every server sharing it runs the same rules.
    """

    __tablename__ = "rule_files"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[float] = mapped_column(Float)


class RuleSetting(Base):
    """A rule switched on or off through the API (overrides the rule file's ``enabled``)."""

    __tablename__ = "rule_settings"

    rule_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(String(1024))
