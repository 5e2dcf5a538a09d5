"""Counts of the values of each template's fields (``value_counts``) and whether each (template, field) is
counted (``value_count_fields``), filled from the events' stored fields.

The most frequent values and the distinct count over every event of some templates are then read from these
counts instead of from the events (logchat.storage.value_counts_repo). The upgrade counts the existing events
with the same SQL a recount uses (json_each on SQLite, jsonb_each on PostgreSQL), one pass over the events'
fields with the same cap on different values per field; the downgrade drops both tables.

Revision ID: 0015_value_counts
Revises: 0014_pg_search_plain
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0015_value_counts"
down_revision = "0014_pg_search_plain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "value_counts",
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("template_id", "name", "value", name="pk_value_counts"),
    )
    op.create_table(
        "value_count_fields",
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("values_bound", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("template_id", "name", name="pk_value_count_fields"),
    )
    from logchat.storage.value_counts_repo import recount

    bind = op.get_bind()
    templates = [int(t) for (t,) in bind.exec_driver_sql("SELECT DISTINCT template_id FROM template_fields")]
    if templates:
        recount(Session(bind=bind), templates)


def downgrade() -> None:
    op.drop_table("value_count_fields")
    op.drop_table("value_counts")
