"""A random identity for the store; finished generations of files; no pickled miner state.

Revision ID: 0004_store_identity
Revises: 0003_chat

The miner state rows written by earlier versions are pickles; they are deleted unread (loading a
pickle runs code chosen by whoever wrote the row). The ingester rebuilds the miner from the
`templates` table, keeping template ids, and saves it again as JSON.
"""

from __future__ import annotations

import time
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0004_store_identity"
down_revision = "0003_chat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    identity = op.create_table(
        "store_identity",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_store_identity"),
    )
    op.bulk_insert(identity, [{"id": 1, "store_id": uuid.uuid4().hex, "created_at": int(time.time() * 1_000_000)}])
    op.execute("DELETE FROM template_miner_state")
    op.create_table(
        "source_generations",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("head_checksum", sa.String(64), nullable=False),
        sa.Column("head_length", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("line_count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name="fk_source_generations_source_id_sources", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("source_id", "generation", name="pk_source_generations"),
    )


def downgrade() -> None:
    op.drop_table("source_generations")
    op.drop_table("store_identity")
