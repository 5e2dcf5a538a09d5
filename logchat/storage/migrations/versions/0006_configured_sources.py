"""Sources kept in the store (added over the API or with `logchat sources`), and the last read of each location.

Revision ID: 0006_configured_sources
Revises: 0005_chat_owner

Both tables start empty: the configuration file's `[[sources]]` stay in the file, and a location gets
its status the next time it is read. Downgrading drops both; events read from the store's sources stay.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_configured_sources"
down_revision = "0005_chat_owner"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "configured_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("path", sa.String(4096), nullable=False),
        sa.Column("format", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=True),
        sa.Column("updated_by", sa.String(80), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_configured_sources"),
        sa.UniqueConstraint("name", name="uq_configured_sources_name"),
    )
    op.create_table(
        "source_status",
        sa.Column("location", sa.String(4096), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("first_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("last_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("last_status", sa.String(16), nullable=False),
        sa.Column("last_success_at", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("location", name="pk_source_status"),
    )
    op.create_index("ix_source_status_last_attempt_at", "source_status", ["last_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_source_status_last_attempt_at", "source_status")
    op.drop_table("source_status")
    op.drop_table("configured_sources")
