"""On SQLite, events.id becomes the table's rowid (INTEGER PRIMARY KEY); PostgreSQL is unchanged.

Declared BIGINT, the id was a separate key beside SQLite's hidden rowid: every full-text hit
(FTS5 keeps events.id as its rowid) and every evidence line was found through the primary-key
index first and then through the rowid, two B-tree searches per event. As the rowid itself it
is one. A question that reads hundreds of thousands of full-text hits to keep those of one host
spends about a third less time in SQLite.

SQLite cannot change a column into the rowid in place, so the table is rebuilt: created anew,
filled in id order, the old one dropped, the new one renamed, its two indexes created again.
Ids do not change, so the full-text index (which points at ids) stays valid as it is; the id
counter (store_identity.event_id_high) and everything that stores event ids are untouched.
On a million events this takes about 15 s of one core and needs room for a second copy of the
events table while it runs (docs/maintenance.md).

Revision ID: 0013_sqlite_event_rowid
Revises: 0012_event_fields
"""

from __future__ import annotations

from alembic import op

revision = "0013_sqlite_event_rowid"
down_revision = "0012_event_fields"
branch_labels = None
depends_on = None

_COLUMNS = ("id, source_id, generation, line_no, line_end, byte_offset, ts, level, host, process, pid, "
            "template_id, message, raw, fields")  # fmt: skip


def _events_table(name: str, id_type: str) -> str:
    # The table as 0001 and 0012 left it, but for the id's declared type: "INTEGER" with a
    # PRIMARY KEY constraint is what makes SQLite use the column as the rowid.
    return f"""CREATE TABLE {name} (
    id {id_type} NOT NULL,
    source_id INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    line_no BIGINT NOT NULL,
    line_end BIGINT NOT NULL,
    byte_offset BIGINT NOT NULL,
    ts BIGINT,
    level VARCHAR(8),
    host VARCHAR(255),
    process VARCHAR(255),
    pid INTEGER,
    template_id INTEGER,
    message TEXT NOT NULL,
    raw TEXT NOT NULL,
    fields JSON,
    CONSTRAINT pk_events PRIMARY KEY (id),
    CONSTRAINT fk_events_source_id_sources FOREIGN KEY(source_id) REFERENCES sources (id) ON DELETE CASCADE
)"""


def _rebuild_events(id_type: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(_events_table("events_rebuilt", id_type))
    # In id order: with the id as rowid every row is appended to the end of the new table.
    op.execute(f"INSERT INTO events_rebuilt ({_COLUMNS}) SELECT {_COLUMNS} FROM events ORDER BY id")  # nosec B608
    # Nothing refers to events by foreign key, and the full-text table names its content table
    # only as text, read at query time: dropping and renaming leave both intact.
    op.execute("DROP TABLE events")
    op.execute("ALTER TABLE events_rebuilt RENAME TO events")
    op.execute("CREATE INDEX ix_events_ts ON events (ts)")
    op.execute("CREATE INDEX ix_events_template_ts ON events (template_id, ts)")


def upgrade() -> None:
    _rebuild_events("INTEGER")


def downgrade() -> None:
    _rebuild_events("BIGINT")
