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

# SQLite refuses a compound SELECT of more than 500 parts: two parts per hit.
_HITS_PER_QUERY = 100

__all__ = ["LineRow", "Position", "context_of", "event_is", "page_of_events", "unindexed_words"]



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
    first_id, last_id = session.execute(text("SELECT min(id), max(id) FROM events")).one()
    found: dict[tuple[int, str], list[int]] = {}
    for start in range(0, len(hits), _HITS_PER_QUERY):
        found.update(_near_neighbours(session, hits[start : start + _HITS_PER_QUERY], lines))
    for hit in hits:
        # The few not found close by (at the edge of an ingest run, or of the file): look further.
        if len(found[(hit.id, "before")]) < lines:
            found[(hit.id, "before")] = _neighbours(session, hit, lines, before=True, edge=int(first_id))
        if len(found[(hit.id, "after")]) < lines:
            found[(hit.id, "after")] = _neighbours(session, hit, lines, before=False, edge=int(last_id))
    rows = _fetch(session, [event_id for ids in found.values() for event_id in ids])
    result = {}
    for hit in hits:
        before = sorted(found[(hit.id, "before")])
        after = sorted(found[(hit.id, "after")])
        result[hit.id] = ([rows[i] for i in before if i in rows], [rows[i] for i in after if i in rows])
    return result


# Plain SQL text: building one SQLAlchemy expression per hit cost more than running it (a page of 500
# hits spent most of its time compiling).
_BEFORE = text(
    "SELECT id FROM events WHERE source_id = :source AND generation = :generation AND id < :hit AND id >= :bound"
    " ORDER BY id DESC LIMIT :n"
)
_AFTER = text(
    "SELECT id FROM events WHERE source_id = :source AND generation = :generation AND id > :hit AND id <= :bound"
    " ORDER BY id ASC LIMIT :n"
)


def _span(lines: int) -> int:
    return max(4 * lines, 64)


def _near_neighbours(session: Session, hits: Sequence[LineRow], lines: int) -> dict[tuple[int, str], list[int]]:
    """The neighbours of many hits within the first range of ids, in one round trip."""
    parts: list[str] = []
    params: dict[str, int] = {"n": lines}
    span = _span(lines)
    for index, hit in enumerate(hits):
        params.update({f"s{index}": hit.source_id, f"g{index}": hit.generation, f"h{index}": hit.id,
                       f"lo{index}": hit.id - span, f"hi{index}": hit.id + span})
        # Only parameter names and integers are formatted in (nosec B608 below); every value is bound.
        same_file = f"source_id = :s{index} AND generation = :g{index}"
        parts.append(f"SELECT * FROM (SELECT {2 * index} AS k, id FROM events WHERE {same_file}"
                     f" AND id < :h{index} AND id >= :lo{index} ORDER BY id DESC LIMIT :n) AS b{index}")  # nosec B608
        parts.append(f"SELECT * FROM (SELECT {2 * index + 1} AS k, id FROM events WHERE {same_file}"
                     f" AND id > :h{index} AND id <= :hi{index} ORDER BY id ASC LIMIT :n) AS a{index}")  # nosec B608
    found: dict[tuple[int, str], list[int]] = {(hit.id, side): [] for hit in hits for side in ("before", "after")}
    for key, event_id in session.execute(text(" UNION ALL ".join(parts)), params):
        found[(hits[key // 2].id, "after" if key % 2 else "before")].append(int(event_id))
    return found


def _neighbours(session: Session, hit: LineRow, lines: int, *, before: bool, edge: int) -> list[int]:
    """The ids of the ``lines`` events of the hit's file next to it, looked for in a range of ids that
    grows sixteenfold (from where :func:`_near_neighbours` stopped) until they are found or the range
    reaches the first (last) event. A bounded range is cheap whatever plan the database picks
    (PostgreSQL, without fresh statistics, sorts the whole range rather than walking the primary key
    back from the hit)."""
    span = _span(lines) * 16
    while True:
        bound = hit.id - span if before else hit.id + span
        params = {"source": hit.source_id, "generation": hit.generation, "hit": hit.id, "bound": bound, "n": lines}
        ids = [int(event_id) for event_id in session.scalars(_BEFORE if before else _AFTER, params)]
        if len(ids) >= lines or (bound <= edge if before else bound >= edge):
            return ids
        span *= 16


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
