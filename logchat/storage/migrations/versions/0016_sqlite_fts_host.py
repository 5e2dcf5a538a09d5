"""On SQLite, the full-text index holds each event's host as a third column, so a host filter narrows its hits.

A question about one host ("what is the slowest request on lb-01?") walked every full-text hit of its words
and looked each event up for its host: 301,806 hits of "request" to keep the 30,206 of lb-01. With the host
in the index, the walk also requires the asked host in that column (as it requires an asked process in the
process column, which the index held from the start), and only the events of that host are looked up.

The column holds the host as one word: its UTF-8 bytes in hexadecimal (``hex(host)``, "lb-01" is
6C622D3031), read through the view ``events_fts_source``, so that FTS5 'rebuild' (``logchat db copy``)
indexes what ingest writes. One word per event rather than the host's own words ("lb", "01") because BM25
counts every column's words in a line's length: lines of the same text on hosts of one and of three words
would no longer tie (and ties go to the most recent line). A single word keeps every such tie, and the
hexadecimal word is the host exactly, whatever characters it has. Ordinary text search names the columns
it searches (``{message process}``), so no word of a question matches through the host column.

FTS5 cannot add a column to a table, so the index is dropped, created anew and rebuilt from the events
table (external content: the text is not copied, only the index is written again): on a million events
about 6 s of one core (docs/ask.md). PostgreSQL is unchanged.

Revision ID: 0016_sqlite_fts_host
Revises: 0014_pg_search_plain
"""

from __future__ import annotations

from alembic import op

revision = "0016_sqlite_fts_host"
down_revision = "0015_value_counts"
branch_labels = None
depends_on = None


def _recreate(columns: str, content: str) -> None:
    op.execute("DROP TABLE IF EXISTS events_fts")
    # As migration 0001 created it, but for its columns and where it reads them: the rowid is the event id.
    op.execute(
        f"CREATE VIRTUAL TABLE events_fts USING fts5({columns}, content='{content}', content_rowid='id', "
        "tokenize='porter unicode61')"
    )
    op.execute("INSERT INTO events_fts(events_fts) VALUES ('rebuild')")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE VIEW events_fts_source AS SELECT id, message, process, hex(host) AS host FROM events")
    _recreate("message, process, host", "events_fts_source")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _recreate("message, process", "events")
    op.execute("DROP VIEW events_fts_source")
