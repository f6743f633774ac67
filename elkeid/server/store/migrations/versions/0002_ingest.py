"""ingest: recent events, uploads, service registry

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        # INTEGER on SQLite so the id is the rowid (fast appends, no extra index).
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("data_type", sa.Integer, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("pid", sa.String(32), nullable=True),
        sa.Column("exe", sa.String(255), nullable=True),
        sa.Column("fields", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    )
    op.create_index("ix_events_agent_id", "events", ["agent_id", "id"])
    op.create_index("ix_events_data_type", "events", ["data_type", "id"])
    op.create_index("ix_events_agent_pid", "events", ["agent_id", "pid"])
    op.create_index("ix_events_exe", "events", ["exe"])
    op.create_table(
        "uploads",
        sa.Column("token", sa.String(128), primary_key=True),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("max_bytes", sa.BigInteger, nullable=False),
        sa.Column("expected_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("path", sa.Text, nullable=True),
        sa.Column("stored_at", sa.Float, nullable=True),
    )
    op.create_index("ix_uploads_agent_id", "uploads", ["agent_id"])
    op.create_table(
        "registry",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("ip", sa.String(255), primary_key=True),
        sa.Column("port", sa.Integer, primary_key=True),
        sa.Column("weight", sa.BigInteger, nullable=False),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("registered_at", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
    )
    op.create_index("ix_registry_last_seen", "registry", ["last_seen"])


def downgrade() -> None:
    for table in ("registry", "uploads", "events"):
        op.drop_table(table)
