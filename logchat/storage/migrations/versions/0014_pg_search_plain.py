"""PostgreSQL's ``events.search`` becomes a plain column that ingest fills, and a trigger fills for other writers.

Computing the generated full-text vector was two thirds of the server's work per ingested event. Ingest
now builds the same vector itself (logchat.storage.pg_search: exactly the value the expression of
migration 0011 gives, lexemes, stop words and positions alike) and sends it in its COPY. Every other
writer (``logchat db copy``, a hand-written INSERT) sends none: a trigger computes it with that same
expression whenever a row arrives without it, or its text changes.

The upgrade only drops the expression (``ALTER COLUMN ... DROP EXPRESSION``: a catalog change, no rewrite;
the stored vectors stay as they are). The downgrade makes the column generated again, which PostgreSQL
can only do by adding it anew: the events table is rewritten and its GIN index rebuilt, as in 0011.
Nothing to do on SQLite.

Revision ID: 0014_pg_search_plain
Revises: 0013_sqlite_event_rowid
"""

from __future__ import annotations

from alembic import op

revision = "0014_pg_search_plain"
down_revision = "0013_sqlite_event_rowid"
branch_labels = None
depends_on = None

# Migration 0011's expression, spelled for the row a trigger sees and for the generated column.
_SEPARATORS = r"E'[\\x01-\\x2F\\x3A-\\x40\\x5B-\\x60\\x7B-\\x7F]+'"
_VECTOR = "to_tsvector('english', regexp_replace(coalesce({row}process, '') || ' ' || {row}message, {sep}, ' ', 'g'))"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE events ALTER COLUMN search DROP EXPRESSION")
    op.execute(
        "CREATE FUNCTION events_fill_search() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"NEW.search := {_VECTOR.format(row='NEW.', sep=_SEPARATORS)}; RETURN NEW; END $$"
    )
    # Only rows that come without a vector: ingest's COPY pays for no function call.
    op.execute(
        "CREATE TRIGGER events_search_on_insert BEFORE INSERT ON events FOR EACH ROW "
        "WHEN (NEW.search IS NULL) EXECUTE FUNCTION events_fill_search()"
    )
    # A changed text must not keep the vector of the former one, whatever the writer sent for it.
    op.execute(
        "CREATE TRIGGER events_search_on_update BEFORE UPDATE OF process, message, search ON events FOR EACH ROW "
        "WHEN (NEW.search IS NULL OR NEW.process IS DISTINCT FROM OLD.process "
        "OR NEW.message IS DISTINCT FROM OLD.message) EXECUTE FUNCTION events_fill_search()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER events_search_on_update ON events")
    op.execute("DROP TRIGGER events_search_on_insert ON events")
    op.execute("DROP FUNCTION events_fill_search()")
    op.execute("DROP INDEX IF EXISTS ix_events_search")
    op.execute("ALTER TABLE events DROP COLUMN search")
    op.execute(
        "ALTER TABLE events ADD COLUMN search tsvector GENERATED ALWAYS AS "
        f"({_VECTOR.format(row='', sep=_SEPARATORS)}) STORED"
    )
    op.execute("CREATE INDEX ix_events_search ON events USING gin (search)")
