"""The highest event id ever given out, so that ids freed by retention are never given again.

Revision ID: 0010_event_id_high
Revises: 0009_vector_embeddings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_event_id_high"
down_revision = "0009_vector_embeddings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("store_identity") as batch:
        batch.add_column(sa.Column("event_id_high", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("store_identity") as batch:
        batch.drop_column("event_id_high")
