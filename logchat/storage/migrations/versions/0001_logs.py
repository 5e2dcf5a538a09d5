"""Sources with checkpoints, events with full-text search, templates, template miner state.

Revision ID: 0001_logs
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_logs"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("location", sa.String(4096), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("format", sa.String(64), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("device", sa.BigInteger(), nullable=True),
        sa.Column("inode", sa.BigInteger(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("line_count", sa.BigInteger(), nullable=False),
        sa.Column("head_checksum", sa.String(64), nullable=True),
        sa.Column("head_length", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(80), nullable=True),
        sa.Column("event_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_indexed_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sources"),
        sa.UniqueConstraint("location", name="uq_sources_location"),
    )
    op.create_index("ix_sources_name", "sources", ["name"])
    op.create_table(
        "templates",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", sa.BigInteger(), nullable=True),
        sa.Column("last_seen", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_templates"),
    )
    op.create_table(
        "template_miner_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_template_miner_state"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.BigInteger(), nullable=False),
        sa.Column("line_end", sa.BigInteger(), nullable=False),
        sa.Column("byte_offset", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=True),
        sa.Column("level", sa.String(8), nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("process", sa.String(255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name="fk_events_source_id_sources",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_ts", "events", ["ts"])
    op.create_index("ix_events_template_ts", "events", ["template_id", "ts"])
    op.create_table(
        "event_rollup",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("process", sa.String(255), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_ts", sa.BigInteger(), nullable=True),
        sa.Column("last_ts", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name="fk_event_rollup_source_id_sources",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_event_rollup"),
        sa.UniqueConstraint("hour", "source_id", "level", "host", "process", "template_id",
                            name="uq_event_rollup_hour_source_id_level_host_process_template_id"),
    )

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        # External-content FTS5: the text lives once, in events; the ingester fills the index in
        # the same transaction as the rows. Porter stemming lets "rejected" match "reject".
        op.execute(
            "CREATE VIRTUAL TABLE events_fts USING fts5("
            "message, process, content='events', content_rowid='id', "
            "tokenize='porter unicode61')"
        )
    elif dialect == "postgresql":
        op.execute(
            "ALTER TABLE events ADD COLUMN search tsvector GENERATED ALWAYS AS "
            "(to_tsvector('english', coalesce(process, '') || ' ' || message)) STORED"
        )
        op.execute("CREATE INDEX ix_events_search ON events USING gin (search)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TABLE IF EXISTS events_fts")
    op.drop_table("event_rollup")
    op.drop_table("events")
    op.drop_table("template_miner_state")
    op.drop_table("templates")
    op.drop_table("sources")
