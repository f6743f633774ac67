"""assets: inventory per agent and type, last snapshot per type, change feed

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ROWID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("id", _ROWID, primary_key=True, autoincrement=True),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("data_type", sa.Integer, nullable=False),
        sa.Column("key_hash", sa.String(40), nullable=False),
        sa.Column("label", sa.String(255), nullable=True),
        sa.Column("fields", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("first_seen", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.Column("package_seq", sa.String(64), nullable=False),
        sa.UniqueConstraint("agent_id", "data_type", "key_hash", name="uq_assets_agent_type_key"),
    )
    op.create_index("ix_assets_type_label", "assets", ["data_type", "label"])
    op.create_table(
        "asset_snapshots",
        sa.Column("agent_id", sa.String(128), primary_key=True),
        sa.Column("data_type", sa.Integer, primary_key=True),
        sa.Column("package_seq", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("msg", sa.String(1024), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("received", sa.Integer, nullable=False),
        sa.Column("taken_at", sa.Float, nullable=False),
        sa.Column("applied_at", sa.Float, nullable=False),
        sa.Column("items", sa.Integer, nullable=False),
        sa.Column("baseline_at", sa.Float, nullable=True),
    )
    op.create_table(
        "asset_changes",
        sa.Column("id", _ROWID, primary_key=True, autoincrement=True),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("data_type", sa.Integer, nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("key", sa.JSON, nullable=False),
        sa.Column("label", sa.String(255), nullable=True),
        sa.Column("before", sa.JSON, nullable=True),
        sa.Column("after", sa.JSON, nullable=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("package_seq", sa.String(64), nullable=False),
    )
    op.create_index("ix_asset_changes_agent", "asset_changes", ["agent_id", "id"])
    op.create_index("ix_asset_changes_type", "asset_changes", ["data_type", "id"])
    op.create_index("ix_asset_changes_at", "asset_changes", ["at"])


def downgrade() -> None:
    for table in ("asset_changes", "asset_snapshots", "assets"):
        op.drop_table(table)
