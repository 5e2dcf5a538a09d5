"""Usage records: written once per answered question, summarised by SQL for the analytics views.

Every figure is a GROUP BY over the stored rows, so the numbers survive restarts and agree between
daemon replicas. Percentiles are computed the same way on SQLite (which has no percentile_cont) and
PostgreSQL: a window query numbers the values of each group in order and returns only the two
neighbours of each wanted rank, so a percentile costs a sort in the database and a handful of rows
out of it, however many questions there are. Interpolating between the neighbours gives exactly
what PostgreSQL's percentile_cont gives.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, case, delete, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from logchat.storage.models import UsageRecord, UsageScope

DAY_MICROS = 86_400 * 1_000_000
# The percentiles reported, in thousandths (integer arithmetic keeps the rank SQL portable).
PERMILLE = (500, 900, 950, 990)
MEASURES = {
    "total": UsageRecord.total_ms,
    "parse": UsageRecord.parse_ms,
    "retrieve": UsageRecord.retrieve_ms,
    "llm": UsageRecord.llm_ms,
    "first_token": UsageRecord.first_token_ms,
}
SCOPE_KINDS = ("source", "host", "answered_from")


@dataclass(frozen=True)
class UsageFilter:
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None


def add(session: Session, record: UsageRecord, scopes: Iterable[tuple[str, str]]) -> UsageRecord:
    session.add(record)
    session.flush()
    for kind, value in dict.fromkeys(scopes):
        session.add(UsageScope(usage_id=record.id, kind=kind, value=value))
    return record


def _where(query: Select[Any], wanted: UsageFilter) -> Select[Any]:
    if wanted.since is not None:
        query = query.where(UsageRecord.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(UsageRecord.at < wanted.until)
    if wanted.actor is not None:
        query = query.where(UsageRecord.actor == wanted.actor)
    return query


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


_LLM = UsageRecord.mode == "llm"
_EXTRACTIVE = UsageRecord.mode == "extractive"
_UNANSWERED = UsageRecord.matched == 0
_FELL_BACK = UsageRecord.llm_error.is_not(None)


def totals(session: Session, wanted: UsageFilter) -> dict[str, Any]:
    row = session.execute(_where(select(
        func.count(), _count_if(_LLM), _count_if(_EXTRACTIVE), _count_if(_UNANSWERED), _count_if(_FELL_BACK),
        func.count(func.distinct(UsageRecord.actor)), func.min(UsageRecord.at), func.max(UsageRecord.at),
    ), wanted)).one()  # fmt: skip
    by_front_end = dict(session.execute(
        _where(select(UsageRecord.front_end, func.count()), wanted).group_by(UsageRecord.front_end)
    ).all())  # fmt: skip
    return {
        "questions": int(row[0]), "llm": int(row[1]), "extractive": int(row[2]), "unanswered": int(row[3]),
        "llm_errors": int(row[4]), "users": int(row[5]), "first": row[6], "last": row[7],
        "by_front_end": {name: int(count) for name, count in sorted(by_front_end.items())},
    }  # fmt: skip


def per_day(session: Session, wanted: UsageFilter) -> list[dict[str, Any]]:
    """Questions per UTC day, oldest first (days without questions are left out)."""
    day = (type_coerce(UsageRecord.at, BigInteger) // DAY_MICROS).label("day")
    rows = session.execute(_where(select(
        day, func.count(), _count_if(_LLM), _count_if(_EXTRACTIVE), _count_if(_UNANSWERED),
        func.count(func.distinct(UsageRecord.actor)),
    ), wanted).group_by(day).order_by(day)).all()  # fmt: skip
    return [{"day": int(d), "questions": int(n), "llm": int(llm), "extractive": int(ext), "unanswered": int(zero),
             "users": int(users)} for d, n, llm, ext, zero, users in rows]  # fmt: skip


def per_user(session: Session, wanted: UsageFilter, limit: int) -> list[dict[str, Any]]:
    """The most active users first."""
    count = func.count().label("questions")
    rows = session.execute(_where(select(
        UsageRecord.actor, count, _count_if(_LLM), _count_if(_EXTRACTIVE), _count_if(_UNANSWERED),
        func.max(UsageRecord.at),
    ), wanted).group_by(UsageRecord.actor).order_by(count.desc(), UsageRecord.actor).limit(limit)).all()
    return [{"user": actor, "questions": int(n), "llm": int(llm), "extractive": int(ext), "unanswered": int(zero),
             "last_at": last} for actor, n, llm, ext, zero, last in rows]  # fmt: skip


def shapes(session: Session, wanted: UsageFilter, limit: int, *, unanswered_only: bool = False
           ) -> list[dict[str, Any]]:
    """The most asked question shapes first; with ``unanswered_only``, only questions that matched nothing."""
    count = func.count().label("questions")
    query = _where(select(
        UsageRecord.shape, count, func.count(func.distinct(UsageRecord.actor)), _count_if(_UNANSWERED),
        func.max(UsageRecord.at),
    ), wanted)  # fmt: skip
    if unanswered_only:
        query = query.where(_UNANSWERED)
    rows = session.execute(
        query.group_by(UsageRecord.shape).order_by(count.desc(), func.max(UsageRecord.at).desc(), UsageRecord.shape)
        .limit(limit)
    ).all()
    return [{"shape": shape, "questions": int(n), "users": int(users), "unanswered": int(zero),
             "last_at": last} for shape, n, users, zero, last in rows]  # fmt: skip


def top_scopes(session: Session, wanted: UsageFilter, kind: str, limit: int) -> list[dict[str, Any]]:
    """The sources or hosts most questions were about, with how many questions each."""
    count = func.count().label("questions")
    query = _where(
        select(UsageScope.value, count).join(UsageRecord, UsageRecord.id == UsageScope.usage_id)
        .where(UsageScope.kind == kind), wanted,
    )  # fmt: skip
    rows = session.execute(query.group_by(UsageScope.value).order_by(count.desc(), UsageScope.value).limit(limit))
    return [{"name": name, "questions": int(n)} for name, n in rows]


@dataclass(frozen=True)
class Percentiles:
    count: int
    mean: float | None
    max: float | None
    values: dict[int, float]  # permille -> value

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count, "mean": _round(self.mean), "max": _round(self.max),
            **{f"p{permille // 10}": _round(self.values.get(permille)) for permille in PERMILLE},
        }  # fmt: skip


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def percentiles(session: Session, wanted: UsageFilter, measure: str, *, by_mode: bool = False,
                modes: Sequence[str] | None = None, permille: Sequence[int] = PERMILLE) -> dict[str, Percentiles]:
    """Percentiles of ``measure`` (a key of MEASURES) as percentile_cont computes them: over every
    question (key ``all``) or per answer mode. ``modes`` keeps only those modes' questions."""
    column = MEASURES[measure]
    conditions = [column.is_not(None)]
    if modes is not None:
        conditions.append(UsageRecord.mode.in_(list(modes)))
    groups = [UsageRecord.mode] if by_mode else []

    aggregates = _where(select(*groups, func.count(), func.avg(column), func.max(column)), wanted).where(*conditions)
    summary: dict[str, tuple[int, float, float]] = {}
    for row in session.execute(aggregates.group_by(*groups)):
        count, mean, top = row[-3:]
        if int(count):
            summary[str(row[0]) if by_mode else "all"] = (int(count), float(mean), float(top))

    partition = {"partition_by": groups} if groups else {}
    numbered = _where(select(
        *groups, column.label("v"),
        func.row_number().over(order_by=(column, UsageRecord.id), **partition).label("rn"),
        func.count().over(**partition).label("n"),
    ), wanted).where(*conditions).subquery()  # fmt: skip
    # The lower neighbour's 1-based rank, floor(p * (n - 1)) + 1, in integer arithmetic.
    ranks = [type_coerce(numbered.c.n - 1, BigInteger) * p // 1000 + 1 for p in permille]
    needed = or_(*(numbered.c.rn.in_([rank, rank + 1]) for rank in ranks))
    by_group: dict[str, dict[int, float]] = {}
    columns = [numbered.c.mode] if by_mode else []
    for row in session.execute(select(*columns, numbered.c.v, numbered.c.rn).where(needed)):
        by_group.setdefault(str(row[0]) if by_mode else "all", {})[int(row[-1])] = float(row[-2])

    return {
        key: Percentiles(count, mean, top, {p: _interpolate(by_group[key], count, p) for p in permille})
        for key, (count, mean, top) in summary.items()
    }


def _interpolate(values: dict[int, float], count: int, permille: int) -> float:
    position = permille * (count - 1) / 1000
    lower = math.floor(position)
    low = values[lower + 1]
    if lower + 1 >= count:
        return low
    return low + (position - lower) * (values[lower + 2] - low)


def delete_before(session: Session, moment: datetime) -> int:
    """Retention: remove the records older than ``moment`` (their scopes go with them)."""
    old = select(UsageRecord.id).where(UsageRecord.at < moment)
    session.execute(delete(UsageScope).where(UsageScope.usage_id.in_(old)))
    result = session.execute(delete(UsageRecord).where(UsageRecord.at < moment))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
