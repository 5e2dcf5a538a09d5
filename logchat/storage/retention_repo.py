"""Deleting what has been kept long enough (log events, chat turns, audit entries, usage records),
counting what would go, and giving the space back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, and_, bindparam, delete, exists, func, or_, select, text, type_coerce
from sqlalchemy.orm import Session

from logchat.storage import value_counts_repo
from logchat.storage.db import Store
from logchat.storage.models import (
    AuditEntry,
    Base,
    ChatSession,
    ChatTurn,
    Event,
    EventRollup,
    Source,
    StoreIdentity,
    Template,
    VectorSignature,
    VectorWindow,
)
from logchat.storage.models.usage import UsageRecord
from logchat.storage.stats_repo import HOUR_US


def delete_chat_turns_before(session: Session, cutoff: datetime) -> tuple[int, int]:
    """Delete chat turns created before ``cutoff``, then the sessions left without any turn that
    were last used before it (a session just created, still empty, stays). Returns (turns, sessions)."""
    turns = session.execute(delete(ChatTurn).where(ChatTurn.created_at < cutoff))
    has_turns = exists(select(ChatTurn.id).where(ChatTurn.session_id == ChatSession.id))
    sessions = session.execute(delete(ChatSession).where(ChatSession.updated_at < cutoff, ~has_turns))
    return int(turns.rowcount or 0), int(sessions.rowcount or 0)


def count_chat_before(session: Session, cutoff: datetime) -> tuple[int, int]:
    """What delete_chat_turns_before would delete: (turns, sessions left empty)."""
    turns = session.scalar(select(func.count()).select_from(ChatTurn).where(ChatTurn.created_at < cutoff)) or 0
    kept_turn = exists(select(ChatTurn.id).where(ChatTurn.session_id == ChatSession.id,
                                                 ChatTurn.created_at >= cutoff))
    sessions = session.scalar(select(func.count()).select_from(ChatSession)
                              .where(ChatSession.updated_at < cutoff, ~kept_turn)) or 0
    return int(turns), int(sessions)


def count_audit_before(session: Session, cutoff: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.at < cutoff)) or 0)


def count_usage_before(session: Session, cutoff: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(UsageRecord).where(UsageRecord.at < cutoff)) or 0)


def vacuum(store: Store) -> dict[str, Any]:
    """Give the space of deleted rows back: SQLite rewrites the file (VACUUM); PostgreSQL's autovacuum
    reuses space on its own, and VACUUM ANALYZE of logchat's tables here makes it happen now."""
    engine = store.engine
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        from pathlib import Path

        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # In WAL mode pages reach the file at a checkpoint: one before measuring it, one after VACUUM
            # (whose rewritten pages land in the WAL first) so that the file shrinks now.
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            before = Path(path).stat().st_size if path else None
            conn.execute(text("VACUUM"))
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        after = Path(path).stat().st_size if path else None
        return {"backend": "sqlite", "bytes_before": before, "bytes_after": after}
    tables = sorted(Base.metadata.tables)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in tables:
            conn.execute(text(f'VACUUM (ANALYZE) "{name}"'))
    return {"backend": "postgresql", "tables": len(tables)}


# --- log events ---------------------------------------------------------------------------------------

# The raw integer microseconds of an event's time, compared without a datetime per row.
_event_ts = type_coerce(Event.ts, BigInteger)
# Template ids per IN (...) list: well under SQLite's limit on bound variables.
_IDS_PER_QUERY = 500
_SOURCES_PER_QUERY = 50


@dataclass
class PrunedEvents:
    """What one batch of expired events took with it."""

    events: int = 0
    windows: int = 0
    signature_ids: list[int] = field(default_factory=list)  # signatures left without any window
    template_ids: list[int] = field(default_factory=list)  # templates left without any event


def count_events_before(session: Session, cutoff_us: int) -> int:
    """Events with a timestamp before ``cutoff_us`` (untimed events are never expired)."""
    return int(session.scalar(select(func.count()).select_from(Event).where(_event_ts < cutoff_us)) or 0)


def next_event_batch_end(session: Session, cutoff_us: int, batch_rows: int) -> int | None:
    """An instant such that the events before it (all before ``cutoff_us``) are at most ``batch_rows``,
    oldest first; None when no event is before ``cutoff_us``. Events sharing one instant are never
    split, so a batch can exceed ``batch_rows`` only when more than that many share the oldest instant."""
    oldest = session.scalar(select(func.min(_event_ts)).where(_event_ts < cutoff_us))
    if oldest is None:
        return None
    # The ts index walks the oldest events in order; the one after the batch bounds it.
    after_batch = session.scalar(
        select(_event_ts).where(_event_ts < cutoff_us).order_by(_event_ts).offset(batch_rows).limit(1)
    )
    if after_batch is None:
        return cutoff_us
    return int(after_batch) if after_batch > oldest else int(oldest) + 1


def _keep_event_id_high(session: Session) -> None:
    """Record the highest event id given out before deleting any: the newest events may be among
    those deleted, and their ids must not be given to other lines (answers cite them)."""
    from logchat.storage.vector_repo import store_identity

    store_identity(session)  # the row exists from here on
    newest = session.scalar(select(func.max(Event.id))) or 0
    row = session.get_one(StoreIdentity, 1)
    if newest > (row.event_id_high or 0):
        row.event_id_high = newest
        session.flush()


def delete_events_before(session: Session, end_us: int) -> PrunedEvents:
    """Delete the events before ``end_us`` with their full-text rows, in the caller's transaction, and
    keep what is derived from them in step: the hourly rollup, the sources' event counts, the
    templates' counts and first/last seen, and the vector windows left without any event."""
    conn = session.connection()
    expired = _event_ts < end_us
    hour = (_event_ts // HOUR_US * HOUR_US).label("hour")
    keys = (hour, Event.source_id, func.coalesce(Event.level, ""), func.coalesce(Event.host, ""),
            func.coalesce(Event.process, ""), Event.template_id)
    groups = session.execute(
        select(*keys, func.count(), func.min(Event.id), func.max(Event.id)).where(expired).group_by(*keys)
    ).all()
    pruned = PrunedEvents()
    if not groups:
        return pruned
    _keep_event_id_high(session)
    if conn.dialect.name == "sqlite":
        # External-content FTS5 forgets a row only when told its indexed text (the host as migration 0016
        # indexes it); in rowid order its doclists are updated in sequence (three times faster than in time
        # order here).
        conn.execute(text(
            "INSERT INTO events_fts(events_fts, rowid, message, process, host) "
            "SELECT 'delete', id, message, process, hex(host) FROM events WHERE ts < :end ORDER BY id"
        ), {"end": end_us})
    # On PostgreSQL the tsvector is a column of the row and goes with it.
    # The values these events carry leave the counts of their templates' fields with them.
    value_counts_repo.subtract_events(session, "e.ts < :end", {"end": end_us})
    # Core, not ORM, delete: no RETURNING of every id just to keep a session's identity map in step.
    pruned.events = int(conn.execute(Event.__table__.delete().where(expired)).rowcount or 0)

    rollup = EventRollup.__table__
    conn.execute(
        rollup.update()
        .where(rollup.c.hour == bindparam("h"), rollup.c.source_id == bindparam("s"), rollup.c.level == bindparam("l"),
               rollup.c.host == bindparam("o"), rollup.c.process == bindparam("p"),
               rollup.c.template_id == bindparam("t"))
        .values(count=rollup.c.count - bindparam("n")),
        [{"h": h, "s": s, "l": lv, "o": o, "p": p, "t": t, "n": n} for h, s, lv, o, p, t, n, _, _ in groups],
    )
    # The cutoff is a whole hour, so every row it reaches ends at zero once its hour is pruned.
    conn.execute(rollup.delete().where(rollup.c.count <= 0))

    per_source: dict[int, int] = {}
    for _, source_id, *_, n, _, _ in groups:
        per_source[source_id] = per_source.get(source_id, 0) + n
    sources = Source.__table__
    conn.execute(
        sources.update().where(sources.c.id == bindparam("sid"))
        .values(event_count=sources.c.event_count - bindparam("n")),
        [{"sid": sid, "n": n} for sid, n in per_source.items()],
    )

    id_ranges: dict[int, tuple[int, int]] = {}
    for _, source_id, *_, low, high in groups:
        known = id_ranges.get(source_id)
        id_ranges[source_id] = (low, high) if known is None else (min(known[0], low), max(known[1], high))
    pruned.windows, pruned.signature_ids = _delete_empty_windows(session, id_ranges)
    pruned.template_ids = _recount_templates(session, sorted({g[5] for g in groups if g[5] is not None}))
    return pruned


def templates_without_events(session: Session, template_ids: list[int]) -> list[int]:
    """Those of ``template_ids`` whose count is 0."""
    found: list[int] = []
    for start in range(0, len(template_ids), _IDS_PER_QUERY):
        found.extend(session.scalars(select(Template.id).where(
            Template.id.in_(template_ids[start : start + _IDS_PER_QUERY]), Template.count <= 0)))
    return found


def signatures_without_windows(session: Session, signature_ids: list[int]) -> list[int]:
    """Those of ``signature_ids`` that no window has."""
    found: list[int] = []
    for start in range(0, len(signature_ids), _IDS_PER_QUERY):
        found.extend(session.scalars(select(VectorSignature.id).where(
            VectorSignature.id.in_(signature_ids[start : start + _IDS_PER_QUERY]), VectorSignature.window_count <= 0)))
    return found


def _delete_empty_windows(session: Session, id_ranges: dict[int, tuple[int, int]]) -> tuple[int, list[int]]:
    """Delete the windows whose events are all gone among those overlapping, per source, the range of event
    ids that was deleted (``id_ranges``: source id -> (lowest, highest)). Returns (windows deleted, ids of the
    signatures left without any window)."""
    w = VectorWindow
    # A scalar subquery per candidate (an index range scan of the window's ids), not NOT EXISTS:
    # PostgreSQL plans that as an anti-join over the whole events table, a hundred times slower here.
    survivor = select(func.min(Event.id)).where(
        Event.id >= w.first_event_id, Event.id <= w.last_event_id, Event.source_id == w.source_id
    ).scalar_subquery()
    ranges = sorted(id_ranges.items())
    empty = []
    # Per source: the sources of a log were read one after another, so one range over all of them would
    # hold nearly every window of the store.
    for start in range(0, len(ranges), _SOURCES_PER_QUERY):
        overlapping = or_(*(and_(w.source_id == source_id, w.last_event_id >= low, w.first_event_id <= high)
                            for source_id, (low, high) in ranges[start : start + _SOURCES_PER_QUERY]))
        empty.extend(session.execute(select(w.id, w.signature_id).where(overlapping, survivor.is_(None))).all())
    if not empty:
        return 0, []
    per_signature: dict[int, int] = {}
    window_ids = []
    for window_id, signature_id in empty:
        window_ids.append(window_id)
        per_signature[signature_id] = per_signature.get(signature_id, 0) + 1
    windows = VectorWindow.__table__
    for start in range(0, len(window_ids), _IDS_PER_QUERY):
        chunk = window_ids[start : start + _IDS_PER_QUERY]
        session.connection().execute(windows.delete().where(windows.c.id.in_(chunk)))
    signatures = VectorSignature.__table__
    session.connection().execute(
        signatures.update().where(signatures.c.id == bindparam("sid"))
        .values(window_count=signatures.c.window_count - bindparam("n")),
        [{"sid": sid, "n": n} for sid, n in per_signature.items()],
    )
    # The emptied signatures stay as rows: their ids are never given to another content, and the
    # same content coming back finds its id again (and is embedded again).
    touched = sorted(per_signature)
    emptied: list[int] = []
    for start in range(0, len(touched), _IDS_PER_QUERY):
        emptied.extend(session.scalars(select(VectorSignature.id).where(
            VectorSignature.id.in_(touched[start : start + _IDS_PER_QUERY]), VectorSignature.window_count <= 0)))
    return len(window_ids), emptied


def _recount_templates(session: Session, template_ids: list[int]) -> list[int]:
    """Set the count and first/last seen of ``template_ids`` from the rollup (the ingester keeps them
    equal to its sums); returns those left without any event."""
    r = EventRollup
    emptied: list[int] = []
    for start in range(0, len(template_ids), _IDS_PER_QUERY):
        chunk = template_ids[start : start + _IDS_PER_QUERY]
        found = {tid: (int(n), first, last) for tid, n, first, last in session.execute(
            select(r.template_id, func.sum(r.count), func.min(r.first_ts), func.max(r.last_ts))
            .where(r.template_id.in_(chunk)).group_by(r.template_id))}
        emptied.extend(tid for tid in chunk if tid not in found)
        session.connection().execute(
            text("UPDATE templates SET count = :n, first_seen = :f, last_seen = :l WHERE id = :tid"),
            [{"tid": tid, "n": found.get(tid, (0, None, None))[0], "f": found.get(tid, (0, None, None))[1],
              "l": found.get(tid, (0, None, None))[2]} for tid in chunk],
        )
    return emptied
