"""Counts the anomaly report compares: per template and per level, in a window and in the time before it.

Everything comes from the same exact counting as `stat` (`stats_repo.facts`: the hourly rollup, plus the
events themselves for partial hours at the edges), so a window may start and end anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from logchat.redaction import mask_secrets
from logchat.storage.models import Event, Template
from logchat.storage.models.base import from_micros
from logchat.storage.stats_repo import EventFilter, facts
from logchat.vocabulary import LEVEL_RANK, LEVELS

_IN_CHUNK = 500  # ids per IN (...) list: well under every backend's parameter limit


@dataclass(frozen=True)
class TemplateCount:
    count: int
    first: datetime | None
    last: datetime | None
    worst_level: str | None  # the most severe level among the counted events


def _within(flt: EventFilter, since: datetime | None, until: datetime | None) -> EventFilter:
    return EventFilter(since=since, until=until, levels=flt.levels, sources=flt.sources, hosts=flt.hosts,
                       processes=flt.processes)


def timed_span(session: Session, flt: EventFilter) -> tuple[datetime | None, datetime | None]:
    """The first and last event time under the filters' dimensions (their time bounds included)."""
    f = facts(session, flt)
    first_us, last_us = session.execute(
        select(func.min(f.c.first_ts), func.max(f.c.last_ts)).where(f.c.hour >= 0)
    ).one()
    return (from_micros(first_us) if first_us is not None else None,
            from_micros(last_us) if last_us is not None else None)


def template_counts(session: Session, flt: EventFilter, since: datetime, until: datetime) -> dict[int, TemplateCount]:
    """Events per template in [since, until), with first/last time and the worst level."""
    f = facts(session, _within(flt, since, until))
    rank = case(*[(f.c.level == name, value) for name, value in LEVEL_RANK.items()], else_=-1)
    rows = session.execute(
        select(f.c.template_id, func.sum(f.c.n), func.min(f.c.first_ts), func.max(f.c.last_ts), func.max(rank))
        .group_by(f.c.template_id)
    ).all()
    return {
        int(template_id): TemplateCount(
            count=int(n),
            first=from_micros(first_us) if first_us is not None else None,
            last=from_micros(last_us) if last_us is not None else None,
            worst_level=LEVELS[worst] if worst is not None and worst >= 0 else None,
        )
        for template_id, n, first_us, last_us, worst in rows
        if template_id is not None and n
    }


def level_counts(session: Session, flt: EventFilter, since: datetime, until: datetime) -> dict[str, int]:
    """Events per level in [since, until); events without a level are counted under ''."""
    f = facts(session, _within(flt, since, until))
    rows = session.execute(select(f.c.level, func.sum(f.c.n)).group_by(f.c.level)).all()
    return {level or "": int(n) for level, n in rows if n}


def templates_seen_before(session: Session, flt: EventFilter, moment: datetime,
                          template_ids: Iterable[int]) -> set[int]:
    """Which of ``template_ids`` have a timed event before ``moment`` (under the filters' dimensions)."""
    f = facts(session, _within(flt, None, moment))
    wanted = sorted(set(template_ids))
    seen: set[int] = set()
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start:start + _IN_CHUNK]
        seen.update(int(template_id) for template_id in session.scalars(
            select(f.c.template_id).where(f.c.hour >= 0, f.c.template_id.in_(chunk)).distinct()
        ))
    return seen


def template_texts(session: Session, template_ids: Iterable[int]) -> dict[int, str]:
    """The templates' texts, secret-masked (templates mined before masking existed may hold secrets)."""
    wanted = sorted(set(template_ids))
    texts: dict[int, str] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start:start + _IN_CHUNK]
        for template_id, text in session.execute(
            select(Template.id, Template.template).where(Template.id.in_(chunk))
        ):
            texts[int(template_id)] = mask_secrets(text or "")
    return texts


def example_message(session: Session, flt: EventFilter, template_id: int, since: datetime, until: datetime,
                    *, latest: bool) -> dict[str, Any] | None:
    """One event of the template in [since, until) (its first, or its last with ``latest``), secret-masked."""
    order = Event.ts.desc() if latest else Event.ts.asc()
    row = session.execute(
        select(Event.id, Event.ts, Event.message)
        .where(Event.template_id == template_id, *_within(flt, since, until).conditions(session))
        .order_by(order, Event.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return {"event_id": int(row.id), "time": row.ts, "message": mask_secrets(row.message or "")}
