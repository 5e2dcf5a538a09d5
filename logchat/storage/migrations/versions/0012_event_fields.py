"""Named fields of events: one JSON object per event, and the fields each template carries.

Events stored before this revision have no fields yet (NULL); `logchat db upgrade` reads them right
after migrating, with a progress bar (logchat.services.fields.backfill_fields), and so does the first
`logchat fields`. The schema change itself is instant: adding a nullable column rewrites no rows.

Revision ID: 0012_event_fields
Revises: 0011_pg_search_tokens
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0012_event_fields"
down_revision = "0011_pg_search_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("fields", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True))
    op.create_table(
        "template_fields",
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(8), nullable=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("example", sa.String(256), nullable=True),
        sa.PrimaryKeyConstraint("template_id", "name", name="pk_template_fields"),
    )
    op.create_index("ix_template_fields_name", "template_fields", ["name"])


def downgrade() -> None:
    op.drop_table("template_fields")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("fields")
