"""Aggregate queries over events: everything `stat` shows is computed here, in SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, case, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session

from logchat.ingest.events import LEVEL_RANK, LEVELS
from logchat.storage.models import Event, Source, Template
from logchat.storage.models.base import from_micros, to_micros


@dataclass
class EventFilter:
    since: datetime | None = None
    until: datetime | None = None
    levels: list[str] = field(default_factory=list)  # exact level names
    sources: list[str] = field(default_factory=list)  # name, or a part of the location
    hosts: list[str] = field(default_factory=list)
    processes: list[str] = field(default_factory=list)

    def conditions(self, session: Session) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if self.since is not None:
            conds.append(Event.ts >= self.since)
        if self.until is not None:
            conds.append(Event.ts < self.until)
        if self.levels:
            conds.append(Event.level.in_(self.levels))
        if self.hosts:
            conds.append(Event.host.in_(self.hosts))
        if self.processes:
            conds.append(Event.process.in_(self.processes))
        if self.sources:
            ids = matching_source_ids(session, self.sources)
            conds.append(Event.source_id.in_(ids) if ids else literal(False))
        return conds


def levels_at_least(level: str) -> list[str]:
    return list(LEVELS[LEVEL_RANK[level]:])


def matching_source_ids(session: Session, patterns: list[str]) -> list[int]:
    """Sources whose name equals a pattern or whose location contains it."""
    clauses = [or_(Source.name == p, Source.location.contains(p, autoescape=True)) for p in patterns]
    return list(session.scalars(select(Source.id).where(or_(*clauses))))


# The raw integer microseconds, for arithmetic in SQL.
_TS_RAW = type_coerce(Event.ts, BigInteger)
_LEVEL_RANK_SQL = case(
    *[(Event.level == name, rank) for name, rank in LEVEL_RANK.items()], else_=-1
)
_BUCKETS_SECONDS = (1, 5, 15, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400, 30 * 86400)


def choose_bucket_seconds(span_seconds: float, max_buckets: int = 48) -> int:
    for bucket in _BUCKETS_SECONDS:
        if span_seconds / bucket <= max_buckets:
            return bucket
    return _BUCKETS_SECONDS[-1]


def summary(session: Session, flt: EventFilter) -> dict[str, Any]:
    where = and_(*flt.conditions(session))
    total, first_us, last_us = session.execute(
        select(func.count(), func.min(_TS_RAW), func.max(_TS_RAW)).where(where)
    ).one()
    return {
        "total": int(total),
        "first": from_micros(first_us) if first_us is not None else None,
        "last": from_micros(last_us) if last_us is not None else None,
    }


def counts_by(session: Session, flt: EventFilter, column: str, limit: int = 10) -> list[tuple[str | None, int]]:
    col = getattr(Event, column)
    where = and_(*flt.conditions(session))
    rows = session.execute(
        select(col, func.count().label("n")).where(where).group_by(col).order_by(func.count().desc()).limit(limit)
    ).all()
    return [(value, int(n)) for value, n in rows]


def counts_by_source(session: Session, flt: EventFilter, limit: int = 10) -> list[tuple[str, str, int]]:
    where = and_(*flt.conditions(session))
    sub = (
        select(Event.source_id, func.count().label("n"))
        .where(where)
        .group_by(Event.source_id)
        .order_by(func.count().desc())
        .limit(limit)
        .subquery()
    )
    rows = session.execute(
        select(Source.name, Source.location, sub.c.n).join(sub, sub.c.source_id == Source.id).order_by(sub.c.n.desc())
    ).all()
    return [(name, location, int(n)) for name, location, n in rows]


def histogram(
    session: Session, flt: EventFilter, first: datetime, last: datetime, max_buckets: int = 48
) -> tuple[int, list[tuple[datetime, int]]]:
    """Events per interval; the interval is chosen from the span so the chart fits a terminal."""
    bucket = choose_bucket_seconds((last - first).total_seconds() + 1, max_buckets)
    width = bucket * 1_000_000
    origin = (to_micros(first) // width) * width
    where = and_(*flt.conditions(session), Event.ts.isnot(None))
    # Integer division of integer microseconds: identical on SQLite and PostgreSQL.
    index = ((_TS_RAW - origin) // width).label("b")
    rows = session.execute(select(index, func.count()).where(where).group_by(index).order_by(index)).all()
    counts = {int(b): int(n) for b, n in rows}
    n_buckets = int((to_micros(last) - origin) // width) + 1
    return bucket, [(from_micros(origin + i * width), counts.get(i, 0)) for i in range(n_buckets)]


def top_templates(session: Session, flt: EventFilter, limit: int = 10) -> list[dict[str, Any]]:
    """Most frequent templates, errors first, with exact counts and first/last seen."""
    where = and_(*flt.conditions(session))
    worst = func.max(_LEVEL_RANK_SQL).label("worst")
    sub = (
        select(
            Event.template_id,
            func.count().label("n"),
            func.min(_TS_RAW).label("first_us"),
            func.max(_TS_RAW).label("last_us"),
            worst,
        )
        .where(where)
        .group_by(Event.template_id)
        .subquery()
    )
    is_error = case((sub.c.worst >= LEVEL_RANK["ERROR"], 1), else_=0)
    rows = session.execute(
        select(sub, Template.template)
        .join(Template, Template.id == sub.c.template_id, isouter=True)
        .order_by(is_error.desc(), sub.c.n.desc())
        .limit(limit)
    ).all()
    result = []
    for row in rows:
        result.append({
            "template_id": row.template_id,
            "template": row.template or "",
            "count": int(row.n),
            "first_seen": from_micros(row.first_us) if row.first_us is not None else None,
            "last_seen": from_micros(row.last_us) if row.last_us is not None else None,
            "level": LEVELS[row.worst] if row.worst is not None and row.worst >= 0 else None,
        })
    return result
