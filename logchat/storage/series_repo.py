"""Events per interval of time among any set of events (a time series), on SQLite and PostgreSQL.

``stats_repo.histogram`` reads the hourly rollup and so takes the stat filters only; this counts the
events themselves under any condition (a full-text match, a field condition), bucketed by integer
division of the timestamp's microseconds, which both databases compute identically.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import BigInteger, ColumnElement, func, select, type_coerce
from sqlalchemy.orm import Session

from logchat.storage.models import Event
from logchat.storage.models.base import from_micros, to_micros

_ts_micros = type_coerce(Event.ts, BigInteger)


def counts_per_interval(
    session: Session, conditions: Sequence[ColumnElement[bool]], first: datetime, last: datetime, seconds: int
) -> list[tuple[datetime, int]]:
    """(bucket start, events) for every bucket of ``seconds`` from the one holding ``first`` to the one
    holding ``last``, empty buckets included; buckets are aligned on multiples of ``seconds`` since the epoch."""
    width = seconds * 1_000_000
    origin = (to_micros(first) // width) * width
    index = ((_ts_micros - origin) // width).label("b")
    rows = session.execute(
        select(index, func.count()).where(*conditions, Event.ts.is_not(None)).group_by(index)
    ).all()
    counts = {int(bucket): int(n) for bucket, n in rows}
    buckets = int((to_micros(last) - origin) // width) + 1
    return [(from_micros(origin + i * width), counts.get(i, 0)) for i in range(buckets)]
