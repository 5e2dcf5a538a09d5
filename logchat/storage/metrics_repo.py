"""The store-wide numbers the metrics endpoint reports, read in SQL from small tables (sources,
templates, the hourly rollup), never by scanning the events."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from logchat.storage.models import EventRollup, Source, Template, VectorSignature
from logchat.vocabulary import LEVEL_RANK

_ERROR_LEVELS = [level for level, rank in LEVEL_RANK.items() if rank >= LEVEL_RANK["ERROR"]]
NO_LEVEL = "NONE"


@dataclass(frozen=True)
class StoreCounts:
    templates: int
    sources: int
    signatures: int


def store_counts(session: Session) -> StoreCounts:
    return StoreCounts(
        templates=int(session.scalar(select(func.count()).select_from(Template)) or 0),
        sources=int(session.scalar(select(func.count()).select_from(Source)) or 0),
        signatures=int(session.scalar(select(func.count()).select_from(VectorSignature)) or 0),
    )


def events_by_level(session: Session) -> dict[str, int]:
    """Events per level from the rollup (its '' level is NONE)."""
    rows = session.execute(select(EventRollup.level, func.sum(EventRollup.count)).group_by(EventRollup.level))
    return {(level or NO_LEVEL): int(count or 0) for level, count in rows}


def error_template_count(session: Session) -> int:
    """Templates with at least one ERROR or CRITICAL event."""
    query = select(func.count(func.distinct(EventRollup.template_id))).where(EventRollup.level.in_(_ERROR_LEVELS))
    return int(session.scalar(query) or 0)


def newest_event_by_source_name(session: Session) -> list[tuple[str, float]]:
    """(source name, time of its newest event in Unix seconds) for each name with a timed event."""
    rows = session.execute(
        select(Source.name, func.max(EventRollup.last_ts))
        .join(EventRollup, EventRollup.source_id == Source.id)
        .group_by(Source.name)
    )
    return [(name, newest / 1_000_000) for name, newest in rows if newest is not None]


def top_templates(session: Session, limit: int) -> list[tuple[int, str, str, int]]:
    """(template id, worst level, text, events) of the most frequent templates, those with errors first."""
    ranked = (
        select(EventRollup.template_id, EventRollup.level, func.sum(EventRollup.count).label("n"))
        .group_by(EventRollup.template_id, EventRollup.level)
        .subquery()
    )
    rows = session.execute(select(ranked.c.template_id, ranked.c.level, ranked.c.n)).all()
    totals: dict[int, int] = {}
    worst_level: dict[int, str] = {}
    for template_id, level, count in rows:
        totals[template_id] = totals.get(template_id, 0) + int(count or 0)
        if LEVEL_RANK.get(level or "", -1) > LEVEL_RANK.get(worst_level.get(template_id, ""), -1):
            worst_level[template_id] = level
    is_error = set(_ERROR_LEVELS)
    chosen = sorted(totals, key=lambda tid: (worst_level.get(tid) not in is_error, -totals[tid], tid))[:limit]
    texts = dict(session.execute(select(Template.id, Template.template).where(Template.id.in_(chosen))).all())
    return [(tid, worst_level.get(tid) or NO_LEVEL, texts.get(tid) or "", totals[tid]) for tid in chosen]


def database_bytes(session: Session) -> int | None:
    """SQLite: the database file's pages. PostgreSQL: logchat's tables with their indexes and TOAST in
    the current schema (the database may hold other things)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        pages = session.execute(text("PRAGMA page_count")).scalar()
        size = session.execute(text("PRAGMA page_size")).scalar()
        return int(pages or 0) * int(size or 0)
    if dialect == "postgresql":
        query = text(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        )
        return int(session.execute(query).scalar() or 0)
    return None
