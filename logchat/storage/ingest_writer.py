"""Writes of the ingester: one batch of events, the templates they touch, the miner state and the
source checkpoint, all in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from logchat.storage.models import Event, Source, SourceGeneration, StoreIdentity, Template, TemplateMinerState
from logchat.vocabulary import EVENT_COLUMNS, EventRow

if TYPE_CHECKING:
    from logchat.ingest.value_counts import BatchCounts

# The full-text index's entries for the events just written (ids from ? to ?): the host as the one hexadecimal word
# the view events_fts_source gives (migration 0016), so that an index rebuilt from that view is the same.
FULLTEXT_INSERT = (
    "INSERT INTO events_fts(rowid, message, process, host) "
    "SELECT id, message, process, hex(host) FROM events WHERE id BETWEEN ? AND ?"
)


@dataclass
class Checkpoint:
    generation: int
    offset: int
    line_count: int
    size: int
    device: int | None = None
    inode: int | None = None
    head_checksum: str | None = None
    head_length: int = 0
    content_hash: str | None = None
    format: str | None = None


def get_source(session: Session, location: str) -> Source | None:
    return session.scalars(select(Source).where(Source.location == location)).first()


@dataclass(frozen=True)
class ArchiveElsewhere:
    """Another source holding the same compressed content: all of it, or its first lines."""

    location: str
    complete: bool
    offset: int
    line_count: int


def archive_elsewhere(session: Session, digest: str, *, exclude_id: int) -> ArchiveElsewhere | None:
    """Another source whose content hash is ``digest`` (completely read) or ``partial:digest`` (an
    interrupted read, e.g. before logrotate renamed the archive); a complete one first."""
    rows = session.execute(
        select(Source.location, Source.content_hash, Source.offset, Source.line_count).where(
            Source.content_hash.in_([digest, f"partial:{digest}"]), Source.id != exclude_id
        )
    ).all()
    found = [ArchiveElsewhere(location, content_hash == digest, offset, line_count)
             for location, content_hash, offset, line_count in rows]
    return max(found, key=lambda item: (item.complete, item.offset), default=None)


@dataclass(frozen=True)
class StoredPrefix:
    """The first ``offset`` bytes (``line_count`` lines) of a file whose first ``head_length`` bytes
    have ``head_checksum`` are stored, read from ``location``."""

    location: str
    head_checksum: str
    head_length: int
    offset: int
    line_count: int


def retire_generation(session: Session, source_id: int) -> None:
    """Remember what was read of the source's current generation before a new one starts."""
    source = session.get_one(Source, source_id)
    if not source.offset or not source.head_length or not source.head_checksum:
        return
    if session.get(SourceGeneration, (source_id, source.generation)) is None:
        session.add(SourceGeneration(
            source_id=source_id, generation=source.generation, head_checksum=source.head_checksum,
            head_length=source.head_length, offset=source.offset, line_count=source.line_count,
        ))  # fmt: skip


def stored_prefixes(session: Session, *, exclude_id: int) -> list[StoredPrefix]:
    """Plain-file contents already stored: current generations of other sources and finished ones."""
    current = session.execute(
        select(Source.location, Source.head_checksum, Source.head_length, Source.offset, Source.line_count).where(
            Source.kind == "file", Source.id != exclude_id, Source.offset > 0, Source.head_length > 0
        )
    )
    finished = session.execute(
        select(Source.location, SourceGeneration.head_checksum, SourceGeneration.head_length,
               SourceGeneration.offset, SourceGeneration.line_count)
        .join(Source, Source.id == SourceGeneration.source_id)
    )  # fmt: skip
    return [StoredPrefix(*row) for row in [*current, *finished] if row[1]]


def create_source(session: Session, *, location: str, name: str, kind: str, fmt: str | None) -> Source:
    source = Source(
        location=location, name=name, kind=kind, format=fmt, generation=0, size=0, offset=0,
        line_count=0, head_length=0, event_count=0, created_at=datetime.now(UTC),
    )
    session.add(source)
    session.flush()
    return source


def next_event_id(session: Session) -> int:
    # Safe only under the ingest lock: ids are allocated by the single writer. Above the highest id
    # ever given out, not only the highest stored: retention may have deleted the newest events.
    newest = session.scalar(select(func.max(Event.id))) or 0
    given = session.scalar(select(StoreIdentity.event_id_high).where(StoreIdentity.id == 1)) or 0
    return max(newest, given) + 1


def load_miner_state(session: Session) -> bytes | None:
    row = session.get(TemplateMinerState, 1)
    return row.state if row else None


def template_texts(session: Session) -> list[tuple[int, str]]:
    return [(template_id, text) for template_id, text in session.execute(select(Template.id, Template.template))]


def events_preparer(engine: Any) -> Any:
    """Something whose ``prepare(rows)`` makes, ahead of their batch's turn, what writing the rows needs, and
    ``close()`` ends; None where the write needs nothing made beforehand (SQLite)."""
    if engine.dialect.name != "postgresql":
        return None
    from logchat.storage import pg_bulk

    return pg_bulk.EventPreparer(engine)


def write_batch(
    session: Session,
    source_id: int,
    rows: Sequence[EventRow],
    templates: dict[int, list[Any]],
    rollup: dict[tuple[Any, ...], list[Any]],
    changed_templates: dict[int, str],
    miner_state: bytes | None,
    checkpoint: Checkpoint,
    *,
    template_fields: Sequence[tuple[Any, ...]] = (),
    count_values: bool = False,
    value_counts: BatchCounts | None = None,
    prepared: Any = None,
) -> None:
    """Everything one batch changes, in the session's transaction (the caller commits).
    ``template_fields``: (template_id, name, type, kind, unit, events, example) rows to add; ``prepared``:
    what :func:`events_preparer`'s preparer made of ``rows`` beforehand, if anything; ``count_values``: count the
    values of the rows' fields (logchat.storage.value_counts_repo), of which ``value_counts`` holds what the reader
    process counted already."""
    conn = session.connection()
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from logchat.storage import pg_bulk

        changed_templates, rollup, template_fields = pg_bulk.without_nul(changed_templates, rollup, template_fields)
    if rows:
        if dialect == "postgresql":
            pg_bulk.copy_events(conn, rows, prepared)
        else:
            placeholders = ", ".join("?" for _ in EVENT_COLUMNS)
            conn.exec_driver_sql(
                # Constant column names; values are bound.
                f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({placeholders})", list(rows)  # nosec B608
            )
            if dialect == "sqlite":
                conn.exec_driver_sql(FULLTEXT_INSERT, (rows[0][0], rows[-1][0]))
    _upsert_templates(conn, templates, changed_templates)
    _upsert_rollup(conn, rollup)
    if count_values and rows:
        from logchat.storage import value_counts_repo

        # Counted here, from the rows as stored, unless the reader process counted them while this process was
        # busy. Before template_fields: a field that is new there starts being counted with these events.
        value_counts_repo.add_events(conn, value_counts_repo.RowTexts(rows),
                                     [(row[0], row[1], row[3]) for row in template_fields], value_counts)
    upsert_template_fields(conn, template_fields)
    if miner_state is not None:
        _save_miner_state(session, miner_state)
    source = session.get_one(Source, source_id)
    source.generation = checkpoint.generation
    source.offset = checkpoint.offset
    source.line_count = checkpoint.line_count
    source.size = checkpoint.size
    source.device = checkpoint.device
    source.inode = checkpoint.inode
    source.head_checksum = checkpoint.head_checksum
    source.head_length = checkpoint.head_length
    source.content_hash = checkpoint.content_hash
    if checkpoint.format:
        source.format = checkpoint.format
    source.event_count = (source.event_count or 0) + len(rows)
    source.last_indexed_at = datetime.now(UTC)
    session.flush()


def _upsert_templates(conn: Any, templates: dict[int, list[Any]], changed: dict[int, str]) -> None:
    """``templates`` maps id -> [count, first_us, last_us] for this batch."""
    if not templates and not changed:
        return
    dialect = conn.dialect.name
    least, greatest = ("min", "max") if dialect == "sqlite" else ("LEAST", "GREATEST")
    mark = "?" if dialect == "sqlite" else "%s"
    ids = set(templates) | set(changed)
    params = []
    for template_id in sorted(ids):
        count, first_us, last_us = templates.get(template_id) or (0, None, None)
        params.append((template_id, changed.get(template_id), count, first_us, last_us))
    # COALESCE keeps the old text when the template did not change and the old bounds when the
    # batch had no timestamps.
    conn.exec_driver_sql(
        # Placeholders and SQL function names; values are bound.
        f"INSERT INTO templates (id, template, count, first_seen, last_seen) "  # nosec B608
        f"VALUES ({mark}, COALESCE({mark}, ''), {mark}, {mark}, {mark}) "
        "ON CONFLICT (id) DO UPDATE SET "
        "template = CASE WHEN excluded.template = '' THEN templates.template ELSE excluded.template END, "
        "count = templates.count + excluded.count, "
        f"first_seen = COALESCE({least}(templates.first_seen, excluded.first_seen), "
        "templates.first_seen, excluded.first_seen), "
        f"last_seen = COALESCE({greatest}(templates.last_seen, excluded.last_seen), "
        "templates.last_seen, excluded.last_seen)",
        params,
    )


# Wider types win: a field seen as 3 and as 2.5 is a float, as 3 and "n/a" a string.
_TYPE_RANK = "CASE {0}.type WHEN 'string' THEN 4 WHEN 'ip' THEN 3 WHEN 'id' THEN 3 WHEN 'float' THEN 2 ELSE 1 END"


def upsert_template_fields(conn: Any, rows: Sequence[tuple[Any, ...]]) -> None:
    """Add events to the fields of templates: (template_id, name, type, kind, unit, events, example)."""
    if not rows:
        return
    marks = ", ".join(["?" if conn.dialect.name == "sqlite" else "%s"] * 7)
    wider = f"({_TYPE_RANK.format('excluded')}) > ({_TYPE_RANK.format('template_fields')})"
    conn.exec_driver_sql(
        # Placeholders and constant SQL; values are bound.
        "INSERT INTO template_fields (template_id, name, type, kind, unit, count, example) "  # nosec B608
        f"VALUES ({marks}) ON CONFLICT (template_id, name) DO UPDATE SET "
        "count = template_fields.count + excluded.count, "
        f"type = CASE WHEN {wider} THEN excluded.type ELSE template_fields.type END, "
        f"kind = CASE WHEN {wider} THEN excluded.kind ELSE template_fields.kind END, "
        "unit = COALESCE(template_fields.unit, excluded.unit), example = excluded.example",
        list(rows),
    )


def _upsert_rollup(conn: Any, rollup: dict[tuple[Any, ...], list[Any]]) -> None:
    if not rollup:
        return
    dialect = conn.dialect.name
    least, greatest = ("min", "max") if dialect == "sqlite" else ("LEAST", "GREATEST")
    marks = ", ".join(["?" if dialect == "sqlite" else "%s"] * 9)
    conn.exec_driver_sql(
        # Placeholders and SQL function names; values are bound.
        "INSERT INTO event_rollup (hour, source_id, level, host, process, template_id, count, first_ts, last_ts) "
        f"VALUES ({marks}) ON CONFLICT (hour, source_id, level, host, process, template_id) DO UPDATE SET "
        "count = event_rollup.count + excluded.count, "  # nosec B608
        f"first_ts = COALESCE({least}(event_rollup.first_ts, excluded.first_ts), event_rollup.first_ts, "
        "excluded.first_ts), "
        f"last_ts = COALESCE({greatest}(event_rollup.last_ts, excluded.last_ts), event_rollup.last_ts, "
        "excluded.last_ts)",
        [(*key, *values) for key, values in rollup.items()],
    )


def _save_miner_state(session: Session, state: bytes) -> None:
    row = session.get(TemplateMinerState, 1)
    now = datetime.now(UTC)
    if row is None:
        session.add(TemplateMinerState(id=1, state=state, updated_at=now))
    else:
        row.state = state
        row.updated_at = now
