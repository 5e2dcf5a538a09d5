"""SQL behind the raw-line search (`GET /api/v1/logs/search`): a page of matching events, newest first,
walked by keyset, and the lines stored around each of them.

Keyset, not OFFSET: a page starts strictly after the last event of the previous one in the order
(time descending, events without a time last, then id descending), so pages neither repeat nor skip
events while new lines arrive, and page 1,000 costs what page 1 costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, text
from sqlalchemy.orm import Session

from logchat.storage.models import Event, Source
from logchat.storage.search_repo import EventRow, _event_columns

__all__ = ["LineRow", "Position", "context_of", "event_is", "page_of_events", "unindexed_words"]

# Context is looked up first among events stored this close (in ids) to the hit: a file is stored in
# batches of consecutive ids, so its neighbours are almost always there, and the lookup stays a short
# range scan of the primary key. Only a hit at the edge of an ingest run needs the unbounded walk.
_NEAR_IDS = 50_000


@dataclass
class LineRow(EventRow):
    generation: int


@dataclass(frozen=True)
class Position:
    """Where a page ends: the last event's time (None for an event without one) and id."""

    ts: datetime | None
    id: int


def _columns() -> tuple[object, ...]:
    return (*_event_columns(), Event.generation)


def _after(position: Position) -> ColumnElement[bool]:
    if position.ts is None:
        # Events without a time come last, by id.
        return and_(Event.ts.is_(None), Event.id < position.id)
    return or_(
        Event.ts < position.ts,
        and_(Event.ts == position.ts, Event.id < position.id),
        Event.ts.is_(None),
    )


def unindexed_words(session: Session, words: Sequence[str]) -> set[str]:
    """The words the full-text index leaves out: PostgreSQL's English stop words ("for", "the").
    SQLite's index keeps every word."""
    if session.get_bind().dialect.name != "postgresql":
        return set()
    query = text("SELECT numnode(plainto_tsquery('english', :word))")
    return {word for word in words if session.scalar(query, {"word": word}) == 0}


def event_is(event_id: int) -> ColumnElement[bool]:
    return Event.id == event_id


def page_of_events(
    session: Session, conditions: Sequence[ColumnElement[bool]], *, after: Position | None, limit: int
) -> list[LineRow]:
    """Up to ``limit`` events satisfying ``conditions``, newest first, starting after ``after``."""
    statement = select(*_columns()).join(Source, Source.id == Event.source_id).where(*conditions)
    if after is not None:
        statement = statement.where(_after(after))
    statement = statement.order_by(Event.ts.desc().nulls_last(), Event.id.desc()).limit(limit)
    return [LineRow(*row) for row in session.execute(statement)]


def context_of(session: Session, hits: Sequence[LineRow], lines: int) -> dict[int, tuple[list[LineRow], list[LineRow]]]:
    """For each hit id: up to ``lines`` events before it and after it from the same source and
    generation, in file order. Within one generation of a source, ids grow with line numbers."""
    if lines <= 0 or not hits:
        return {}
    found: dict[tuple[int, str], list[int]] = {}
    for hit in hits:
        for side in ("before", "after"):
            ids = _neighbours(session, hit, side, lines, near=True)
            if len(ids) < lines:
                ids = _neighbours(session, hit, side, lines, near=False)
            found[(hit.id, side)] = ids
    rows = _fetch(session, [event_id for ids in found.values() for event_id in ids])
    result = {}
    for hit in hits:
        before = sorted(found[(hit.id, "before")])
        after = sorted(found[(hit.id, "after")])
        result[hit.id] = ([rows[i] for i in before if i in rows], [rows[i] for i in after if i in rows])
    return result


# Plain SQL text, two small queries per hit: building one SQLAlchemy expression per hit cost more
# than running them (a page of 500 hits spent most of its time compiling).
_BEFORE = text(
    "SELECT id FROM events WHERE source_id = :source AND generation = :generation AND id < :hit AND id >= :bound"
    " ORDER BY id DESC LIMIT :n"
)
_AFTER = text(
    "SELECT id FROM events WHERE source_id = :source AND generation = :generation AND id > :hit AND id <= :bound"
    " ORDER BY id ASC LIMIT :n"
)
_NO_BOUND = 1 << 62


def _neighbours(session: Session, hit: LineRow, side: str, lines: int, *, near: bool) -> list[int]:
    if side == "before":
        statement, bound = _BEFORE, hit.id - _NEAR_IDS if near else -_NO_BOUND
    else:
        statement, bound = _AFTER, hit.id + _NEAR_IDS if near else _NO_BOUND
    params = {"source": hit.source_id, "generation": hit.generation, "hit": hit.id, "bound": bound, "n": lines}
    return [int(event_id) for event_id in session.scalars(statement, params)]


def _fetch(session: Session, ids: Sequence[int]) -> dict[int, LineRow]:
    wanted = list(dict.fromkeys(ids))
    found: dict[int, LineRow] = {}
    for start in range(0, len(wanted), 500):
        statement = (
            select(*_columns()).join(Source, Source.id == Event.source_id)
            .where(Event.id.in_(wanted[start : start + 500]))
        )
        for row in session.execute(statement):
            found[row[0]] = LineRow(*row)
    return found
