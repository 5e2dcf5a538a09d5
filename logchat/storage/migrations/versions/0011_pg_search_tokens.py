"""PostgreSQL full-text search splits dotted names, paths, URLs and identifiers into words, as FTS5 does.

PostgreSQL's text-search parser keeps ``com.example.payments.GatewayClient`` (a host),
``/api/v1/payments`` (a file path), ``10.0.0.1`` (a version) and ``-42`` (a signed integer) as
single lexemes, so the word "payments" inside them was never found, while SQLite's FTS5 (unicode61
tokenizer) splits text on every character that is not a letter or digit. The generated
``events.search`` column now turns each ASCII character other than a letter or digit into a space
before the parser sees the text, which leaves the parser nothing but runs of letters and digits:
the same words FTS5 indexes. The query side (``logchat.storage.fulltext_repo``) sends the same runs.

PostgreSQL (before 17) cannot change a generated column's expression: the column and its GIN index
are dropped and added again, which rewrites the events table (docs/maintenance.md gives a measured
time). Nothing to do on SQLite.

Revision ID: 0011_pg_search_tokens
Revises: 0010_event_id_high
"""

from __future__ import annotations

from alembic import op

revision = "0011_pg_search_tokens"
down_revision = "0010_event_id_high"
branch_labels = None
depends_on = None

_TEXT = "coalesce(process, '') || ' ' || message"
# Every ASCII character but 0-9, A-Z and a-z (underscore included, as in FTS5's unicode61). Written
# out rather than [^[:alnum:]] because that class follows the database's locale: under C it would also
# erase every non-ASCII letter, which the parser otherwise keeps in words.
_SEPARATORS = r"[\x01-\x2F\x3A-\x40\x5B-\x60\x7B-\x7F]+"
_SPLIT = f"to_tsvector('english', regexp_replace({_TEXT}, E'{_SEPARATORS.replace(chr(92), chr(92) * 2)}', ' ', 'g'))"
_WHOLE = f"to_tsvector('english', {_TEXT})"


def _rebuild(expression: str) -> None:
    op.execute("DROP INDEX IF EXISTS ix_events_search")
    op.execute("ALTER TABLE events DROP COLUMN search")
    op.execute(f"ALTER TABLE events ADD COLUMN search tsvector GENERATED ALWAYS AS ({expression}) STORED")
    op.execute("CREATE INDEX ix_events_search ON events USING gin (search)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rebuild(_SPLIT)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rebuild(_WHOLE)
