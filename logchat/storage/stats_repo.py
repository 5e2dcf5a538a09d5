"""Aggregate queries: everything `stat` shows is computed here, in SQL.

Counts come from the hourly rollup (kept in step with events by the ingester); only the partial
hours at the edges of a time filter are counted from the events themselves, so the numbers are
exact and a million events cost a few thousand rows to aggregate. The overview's SQL text lives in
stats_sqlite (which `stat` also runs through plain sqlite3); ``facts`` builds the same rows as a
SQLAlchemy subquery for the queries that compose it further (anomalies, search).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Subquery,
    func,
    literal,
    or_,
    select,
    text,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from logchat.storage import stats_sqlite
from logchat.storage.models import Event, EventRollup, Source
from logchat.storage.models.base import from_micros, to_micros
from logchat.storage.stats_sqlite import HOUR_US
from logchat.vocabulary import LEVEL_RANK, LEVELS

# The raw integer microseconds, for arithmetic in SQL.
_ts_micros = type_coerce(Event.ts, BigInteger)


@dataclass
class EventFilter:
    since: datetime | None = None
    until: datetime | None = None
    levels: list[str] = field(default_factory=list)  # exact level names
    sources: list[str] = field(default_factory=list)  # name, or a part of the location
    hosts: list[str] = field(default_factory=list)
    processes: list[str] = field(default_factory=list)

    def conditions(self, session: Session) -> list[ColumnElement[bool]]:
        """Conditions on the events table."""
        conds = self._dimension_conditions(session, Event.level, Event.host, Event.process, Event.source_id)
        if self.since is not None:
            conds.append(Event.ts >= self.since)
        if self.until is not None:
            conds.append(Event.ts < self.until)
        return conds

    def _dimension_conditions(self, session: Session, level: Any, host: Any, process: Any, source_id: Any
                              ) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if self.levels:
            conds.append(level.in_(self.levels))
        if self.hosts:
            conds.append(host.in_(self.hosts))
        if self.processes:
            conds.append(process.in_(self.processes))
        if self.sources:
            ids = matching_source_ids(session, self.sources)
            conds.append(source_id.in_(ids) if ids else literal(False))
        return conds


def levels_at_least(level: str) -> list[str]:
    return list(LEVELS[LEVEL_RANK[level]:])


def matching_source_ids(session: Session, patterns: list[str]) -> list[int]:
    """Sources whose name equals a pattern or whose location contains it."""
    clauses = [or_(Source.name == p, Source.location.contains(p, autoescape=True)) for p in patterns]
    return list(session.scalars(select(Source.id).where(or_(*clauses))))


def _events_part(session: Session, flt: EventFilter, lo_us: int | None, hi_us: int | None) -> Select[Any]:
    conds = flt._dimension_conditions(session, Event.level, Event.host, Event.process, Event.source_id)
    conds.append(Event.ts.isnot(None))
    if lo_us is not None:
        conds.append(_ts_micros >= lo_us)
    if hi_us is not None:
        conds.append(_ts_micros < hi_us)
    hour = ((_ts_micros // HOUR_US) * HOUR_US).label("hour")
    dims = (
        Event.source_id.label("source_id"),
        func.coalesce(Event.level, "").label("level"),
        func.coalesce(Event.host, "").label("host"),
        func.coalesce(Event.process, "").label("process"),
        Event.template_id.label("template_id"),
    )
    return (
        select(hour, *dims, func.count().label("n"), func.min(_ts_micros).label("first_ts"),
               func.max(_ts_micros).label("last_ts"))
        .where(*conds)
        .group_by(hour, *dims)
    )


def _rollup_part(session: Session, flt: EventFilter, lo_us: int | None, hi_us: int | None,
                 *, timed_only: bool) -> Select[Any]:
    r = EventRollup
    conds = flt._dimension_conditions(session, r.level, r.host, r.process, r.source_id)
    if timed_only:
        conds.append(r.hour >= 0)
    if lo_us is not None:
        conds.append(r.hour >= lo_us)
    if hi_us is not None:
        conds.append(r.hour < hi_us)
    return select(
        r.hour.label("hour"), r.source_id.label("source_id"), r.level.label("level"), r.host.label("host"),
        r.process.label("process"), r.template_id.label("template_id"), r.count.label("n"),
        r.first_ts.label("first_ts"), r.last_ts.label("last_ts"),
    ).where(*conds)


def facts(session: Session, flt: EventFilter) -> Subquery:
    """Rows of (hour, source_id, level, host, process, template_id, n, first_ts, last_ts) whose sums
    are exactly the events matching ``flt``."""
    since = to_micros(flt.since) if flt.since is not None else None
    until = to_micros(flt.until) if flt.until is not None else None
    if since is None and until is None:
        return _rollup_part(session, flt, None, None, timed_only=False).subquery("facts")
    lo = -(-since // HOUR_US) * HOUR_US if since is not None else None  # first whole hour
    hi = until // HOUR_US * HOUR_US if until is not None else None  # end of the last whole hour
    if lo is not None and hi is not None and lo >= hi:
        return _events_part(session, flt, since, until).subquery("facts")
    parts = [_rollup_part(session, flt, lo, hi, timed_only=True)]
    if since is not None and since != lo:
        parts.append(_events_part(session, flt, since, lo))
    if until is not None and until != hi:
        parts.append(_events_part(session, flt, hi, until))
    return union_all(*parts).subquery("facts")


def overview(session: Session, flt: EventFilter, top: int) -> dict[str, Any] | None:
    """Total and span, counts by level/source/host/process, histogram and top templates of the events
    matching ``flt`` (None when none match). The SQL is stats_sqlite's, run here through the session, so
    `stat` read by plain sqlite3 and read through SQLAlchemy (any backend) cannot drift apart."""

    def run(sql: str, params: dict[str, Any]) -> list[Any]:
        return list(session.execute(text(sql), params).all())

    plain = stats_sqlite.make_filter(run, since=flt.since, until=flt.until, levels=flt.levels, sources=flt.sources,
                                     hosts=flt.hosts, processes=flt.processes)
    return stats_sqlite.overview_with(run, plain, top)


def source_overview(session: Session) -> list[dict[str, Any]]:
    """Every source with its checkpoint and the time of its newest event (from the rollup), by name."""
    newest = (
        select(EventRollup.source_id, func.max(EventRollup.last_ts).label("newest"))
        .group_by(EventRollup.source_id)
        .subquery()
    )
    rows = session.execute(
        select(Source, newest.c.newest)
        .outerjoin(newest, newest.c.source_id == Source.id)
        .order_by(Source.name, Source.location)
    ).all()
    return [
        {
            "name": source.name, "location": source.location, "kind": source.kind, "format": source.format,
            "generation": source.generation, "offset": source.offset, "size": source.size,
            "line_count": source.line_count, "event_count": source.event_count,
            "created_at": source.created_at, "last_indexed_at": source.last_indexed_at,
            "newest_event_at": from_micros(newest_us) if newest_us is not None else None,
        }
        for source, newest_us in rows
    ]
