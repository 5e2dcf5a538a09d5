"""Usage records: one row per answered question, and the sources and hosts each was about.

Revision ID: 0008_usage
Revises: 0007_audit
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_usage"
down_revision = "0007_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(96), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("front_end", sa.String(8), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("matched", sa.BigInteger(), nullable=False),
        sa.Column("total_ms", sa.Float(), nullable=False),
        sa.Column("parse_ms", sa.Float(), nullable=False),
        sa.Column("retrieve_ms", sa.Float(), nullable=False),
        sa.Column("llm_ms", sa.Float(), nullable=False),
        sa.Column("first_token_ms", sa.Float(), nullable=True),
        sa.Column("llm_error", sa.String(256), nullable=True),
        sa.Column("session", sa.String(200), nullable=True),
        sa.Column("shape", sa.String(256), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_usage_questions"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_usage_questions_at", "usage_questions", ["at"])
    op.create_index("ix_usage_questions_actor_at", "usage_questions", ["actor", "at"])
    op.create_index("ix_usage_questions_shape_at", "usage_questions", ["shape", "at"])
    op.create_table(
        "usage_scopes",
        sa.Column("usage_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.ForeignKeyConstraint(
            ["usage_id"], ["usage_questions.id"], name="fk_usage_scopes_usage_id_usage_questions", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("usage_id", "kind", "value", name="pk_usage_scopes"),
    )
    op.create_index("ix_usage_scopes_kind_value", "usage_scopes", ["kind", "value"])


def downgrade() -> None:
    op.drop_table("usage_scopes")
    op.drop_table("usage_questions")
