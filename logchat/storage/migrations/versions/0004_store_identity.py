"""A random identity for the store; the template miner state no longer held as a pickle.

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


def downgrade() -> None:
    op.drop_table("store_identity")
