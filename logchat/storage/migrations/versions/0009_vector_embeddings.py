"""Vectors of templates and window contents, shared by every process on the database.

Revision ID: 0009_vector_embeddings
Revises: 0008_usage
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_vector_embeddings"
down_revision = "0008_usage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Starts empty: the next vector update fills it, from the process's own vector files when they
    # match this database and embedder (no model calls), by embedding otherwise.
    op.create_table(
        "vector_embeddings",
        sa.Column("embedder", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("text_hash", sa.BigInteger(), nullable=True),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("embedder", "kind", "item_id", name="pk_vector_embeddings"),
    )
    op.create_index("ix_vector_embeddings_seq", "vector_embeddings", ["seq"], unique=True)


def downgrade() -> None:
    op.drop_table("vector_embeddings")
