"""Chat sessions and turns; windows and signatures behind the vector index.

Revision ID: 0003_chat
Revises: 0002_auth
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_chat"
down_revision = "0002_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_sessions"),
        sa.UniqueConstraint("name", name="uq_chat_sessions_name"),
    )
    op.create_table(
        "chat_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("matched", sa.BigInteger(), nullable=False),
        sa.Column("evidence_event_ids", sa.JSON(), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["chat_sessions.id"], name="fk_chat_turns_session_id_chat_sessions", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_chat_turns"),
        sa.UniqueConstraint("session_id", "position", name="uq_chat_turns_session_id_position"),
    )
    op.create_table(
        "vector_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("template_ids", sa.Text(), nullable=False),
        sa.Column("window_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_vector_signatures"),
        sa.UniqueConstraint("key", name="uq_vector_signatures_key"),
    )
    op.create_table(
        "vector_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=False),
        sa.Column("first_event_id", sa.BigInteger(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("first_ts", sa.BigInteger(), nullable=True),
        sa.Column("last_ts", sa.BigInteger(), nullable=True),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name="fk_vector_windows_source_id_sources", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"], ["vector_signatures.id"], name="fk_vector_windows_signature_id_vector_signatures",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_vector_windows"),
    )
    op.create_index("ix_vector_windows_signature_id_last_ts", "vector_windows", ["signature_id", "last_ts"])
    op.create_index("ix_vector_windows_last_event_id", "vector_windows", ["last_event_id"])


def downgrade() -> None:
    op.drop_table("vector_windows")
    op.drop_table("vector_signatures")
    op.drop_table("chat_turns")
    op.drop_table("chat_sessions")
