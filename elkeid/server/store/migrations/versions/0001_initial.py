"""initial schema: users, tokens, agents, certificates, heartbeats, settings

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), sa.ForeignKey("users.username", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_api_tokens_username", "api_tokens", ["username"])
    op.create_index("ix_api_tokens_expires_at", "api_tokens", ["expires_at"])
    op.create_table(
        "enroll_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("note", sa.String(255), nullable=False),
        sa.Column("used_at", sa.Float, nullable=True),
        sa.Column("used_by", sa.String(128), nullable=True),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("product", sa.String(64), nullable=False),
        sa.Column("intranet_ipv4", sa.JSON, nullable=False),
        sa.Column("extranet_ipv4", sa.JSON, nullable=False),
        sa.Column("intranet_ipv6", sa.JSON, nullable=False),
        sa.Column("extranet_ipv6", sa.JSON, nullable=False),
        sa.Column("source_ip", sa.String(64), nullable=False),
        sa.Column("online", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("enrolled_at", sa.Float, nullable=False),
        sa.Column("first_seen", sa.Float, nullable=True),
        sa.Column("last_seen", sa.Float, nullable=True),
        sa.Column("last_heartbeat", sa.JSON, nullable=False),
        sa.Column("last_heartbeat_at", sa.Float, nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
    )
    op.create_index("ix_agents_online", "agents", ["online"])
    op.create_index("ix_agents_hostname", "agents", ["hostname"])
    op.create_table(
        "certificates",
        sa.Column("serial", sa.String(64), primary_key=True),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("issued_at", sa.Float, nullable=False),
        sa.Column("not_after", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float, nullable=True),
    )
    op.create_index("ix_certificates_agent_id", "certificates", ["agent_id"])
    op.create_table(
        "plugin_heartbeats",
        sa.Column("agent_id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_table(
        "agent_seq",
        sa.Column("agent_id", sa.String(128), primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("settings", "agent_seq", "plugin_heartbeats", "certificates", "agents", "enroll_tokens",
                  "api_tokens", "users"):
        op.drop_table(table)
