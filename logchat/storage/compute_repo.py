"""SQL for the operations an answer computes over ALL the events a question matched.

The events are passed in as ``within`` (any SQLAlchemy condition on ``events``: the filters and the
full-text matches of a question). A value is a named field (``events.fields``, see
:mod:`logchat.storage.fields_repo`) or, when no field has that name, one of the event's own columns
(host, process, level, source), so "which programs logged the most" is the same query as "which users".
Times are stored as integer microseconds (UTC), so a bucket of a time series is integer arithmetic that
reads the same on SQLite and PostgreSQL, aligned on the epoch: hours, days and 6-hour buckets start at
UTC boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from logchat.storage import fields_repo, value_counts_repo
from logchat.storage.micros import from_micros
from logchat.storage.models import Event, Source, Template, TemplateField

Condition = ColumnElement[bool]
COLUMNS = ("host", "process", "level", "source")


@dataclass(frozen=True)
class Value:
    """How a named value is read: its SQL expression, what restricts events to those carrying it, and
    whether it is a column of the event rather than a named field."""

    name: str
    expression: ColumnElement[Any]
    carrying: tuple[Condition, ...]
    column: bool
    # Fields of other templates that hold the same thing (see :func:`same_role_fields`); the value is the
    # first of ``name`` and these that an event has.
    alternates: tuple[str, ...] = ()


def has_fields(session: Session) -> bool:
    """Whether any event of the store has named fields (they are read at ingest only when turned on)."""
    return session.scalar(select(TemplateField.template_id).limit(1)) is not None


def value_of(
    session: Session, name: str, within: Condition | None = None, *, templates: Collection[int] | None = None
) -> Value | None:
    """The named field ``name``, else the event column of that name; None when neither exists.

    With ``within``, a field of a matching template that lacks ``name`` stands in for it when it holds values
    that ``name`` holds in the other matching events (see :func:`same_role_fields`); ``templates``: the templates
    of the events ``within``, when the caller knows them."""
    if fields_repo.templates_with(session, name):
        alternates = same_role_fields(session, name, within, templates) if within is not None else ()
        known = set(templates) if templates is not None and within is not None else None
        if not alternates:
            carrying = fields_repo.carrying(session, name, within, among=known)
            return Value(name, fields_repo.field_text(session, name), (carrying,), False)
        names = (name, *alternates)
        expression = func.coalesce(*(fields_repo.field_text(session, each) for each in names))
        carrying = or_(*(fields_repo.carrying(session, each, within, among=known) for each in names))
        return Value(name, expression, (carrying,), False, alternates)
    if name in COLUMNS:
        column = Event.source_id if name == "source" else getattr(Event, name)
        return Value(name, column, (), True)
    return None


def same_role_fields(
    session: Session, name: str, within: Condition, templates: Collection[int] | None = None
) -> tuple[str, ...]:
    """Fields that hold what ``name`` holds, in the matching templates that do not carry ``name``.

    Templates name one thing differently: sshd writes "Failed password for root from ..." (the user in field
    ``for``, named after the word before it) and "Failed password for invalid user admin from ..." (field
    ``user``). A field of a matching template without ``name`` stands in for it when it has the same type, is
    not itself a field of the templates that carry ``name`` (there it holds something else: ``from``, ``port``),
    and is named after a word of those templates (the word that leads to the value in both: "for"), or is the
    one address its template holds: "Received connection request /<ip>" (field ``request``)
    and "Connection request from old client /<ip>" (field ``client``) both say which address asked."""
    if templates is None:
        templates = [t for t in session.scalars(select(Event.template_id).where(within).distinct()) if t is not None]
    matching = {int(t) for t in templates}
    rows = fields_of_templates(session, sorted(matching))
    carriers = {row.template_id for row in rows if row.name == name}
    if not carriers or carriers == matching:
        return ()
    own_types = {row.type for row in rows if row.name == name}
    own_names = {row.name for row in rows if row.template_id in carriers}
    words: set[str] = set()
    for text in session.scalars(select(Template.template).where(Template.id.in_(carriers))):
        words.update(re.findall(r"[a-z0-9_]+", text.lower()))
    shaped: dict[tuple[int, str], int] = {}
    for row in rows:
        shaped[(row.template_id, row.type)] = shaped.get((row.template_id, row.type), 0) + 1
    def stands_in(row: TemplateFieldRow) -> bool:
        only_one = row.type in _SHAPED_TYPES and shaped[(row.template_id, row.type)] == 1
        return row.type in own_types and row.name not in own_names and (row.name in words or only_one)

    chosen = sorted({row.name for row in rows if row.template_id not in carriers and stands_in(row)})
    return tuple(chosen)


# An address says what it is wherever a template puts it (ids of one template and another name different things).
_SHAPED_TYPES = ("ip",)


def _micros() -> ColumnElement[int]:
    # The stored integer, not the datetime the column type turns it into.
    return type_coerce(Event.ts, BigInteger)


def count_events(session: Session, within: Condition) -> int:
    return int(session.scalar(select(func.count()).select_from(Event).where(within)) or 0)


def count_carrying(session: Session, value: Value, within: Condition, *, whole: Collection[int] | None = None) -> int:
    """Matching events that carry ``value`` at all. ``whole``: see :func:`top_values`."""
    pairs = _counted(session, value, whole)
    if pairs is not None:
        return value_counts_repo.carrying(session, pairs)
    statement = select(func.count()).select_from(Event).where(*value.carrying, value.expression.is_not(None), within)
    return int(session.scalar(statement) or 0)


def extreme_event(
    session: Session, name: str, within: Condition, *, highest: bool
) -> tuple[int, tuple[float, int] | None]:
    """How many matching events carry a number for field ``name``, and the largest (or smallest) of those numbers
    with the event holding it: the earliest such event when several hold it (ordered by time as the database
    orders it, then by id).

    One pass, and one row back: the count is a window over the same rows the ranking reads. Counting and ranking
    were two queries that each looked every matching event up (30,000 lookups apiece for the requests of one
    host), and then one query whose 30,000 rows were ranked here in Python."""
    number = fields_repo.field_number(session, name)
    readings = (
        select(number.label("number"), _micros().label("micros"), Event.id.label("id"))
        .where(fields_repo.carrying(session, name, within), number.is_not(None), within)
        .subquery()
    )
    ranked = readings.c.number.desc() if highest else readings.c.number.asc()
    row = session.execute(
        select(readings.c.number, readings.c.id, func.count().over())
        .order_by(ranked, readings.c.micros.asc(), readings.c.id.asc())
        .limit(1)
    ).first()
    if row is None:
        return 0, None
    return int(row[2]), (float(row[0]), int(row[1]))


def edge_event(session: Session, within: Condition, *, last: bool) -> tuple[int, datetime | None] | None:
    """The first (or last) matching event in time, and its time; by position when no event has a time."""
    micros = _micros()
    order = (micros.desc(), Event.id.desc()) if last else (micros.asc(), Event.id.asc())
    row = session.execute(select(Event.id, micros).where(within, micros.is_not(None)).order_by(*order).limit(1)).first()
    if row is not None:
        return int(row[0]), from_micros(int(row[1]))
    position = Event.id.desc() if last else Event.id.asc()
    event_id = session.scalar(select(Event.id).where(within).order_by(position).limit(1))
    return (int(event_id), None) if event_id is not None else None


def time_span(session: Session, within: Condition) -> tuple[datetime, datetime] | None:
    micros = _micros()
    low, high = session.execute(select(func.min(micros), func.max(micros)).where(within)).one()
    if low is None:
        return None
    return from_micros(int(low)), from_micros(int(high))


def series(
    session: Session, within: Condition, interval: int, *, bound: int
) -> tuple[list[tuple[datetime, int]], bool]:
    """Matching events per ``interval`` seconds (UTC buckets; empty buckets are left out), oldest first,
    at most ``bound`` buckets; and whether that is all of them."""
    step = interval * 1_000_000
    micros = _micros()
    bucket = (micros - micros % step).label("bucket")
    rows = session.execute(
        select(bucket, func.count()).where(within, micros.is_not(None)).group_by(bucket).order_by(bucket)
        .limit(bound + 1)
    ).all()  # fmt: skip
    buckets = [(from_micros(int(start)), int(n)) for start, n in rows[:bound]]
    return buckets, len(rows) <= bound


def distinct_count(
    session: Session, value: Value, within: Condition, *, bound: int, whole: Collection[int] | None = None
) -> tuple[int, bool, int]:
    """How many different values, counted up to ``bound``; whether that is all of them; and how many matching
    events carry a value. One pass over the events: the groups of values also count the events that carry one.
    ``whole``: see :func:`top_values`."""
    pairs = _counted(session, value, whole)
    if pairs is not None:
        found, carrying = value_counts_repo.distinct_count(session, pairs)
        return min(found, bound), found <= bound, carrying
    inner = (
        select(value.expression.label("v"), func.count().label("n"))
        .where(*value.carrying, within, value.expression.is_not(None)).group_by(value.expression).subquery()
    )  # fmt: skip
    totals = select(func.count(), func.coalesce(func.sum(inner.c.n), 0)).select_from(inner)
    found, carrying = session.execute(totals).one()
    return min(int(found), bound), int(found) <= bound, int(carrying)


def top_values(
    session: Session, value: Value, within: Condition, *, limit: int, whole: Collection[int] | None = None
) -> tuple[list[tuple[str, int]], int]:
    """(value, events) of the ``limit`` most frequent values (ties by value) over all matching events, and how
    many matching events carry a value: one pass over the events, the second figure summed over every group.

    ``whole``: the templates whose events are exactly the matching ones, when they are. The values are then
    summed from the counts kept per template (logchat.storage.value_counts_repo) when every field they need is
    counted there: the same figures in a few ms instead of reading every event."""
    pairs = _counted(session, value, whole)
    if pairs is not None:
        return value_counts_repo.top_values(session, pairs, limit)
    count = func.count().label("n")
    carrying = func.sum(func.count()).over().label("carrying")
    rows = session.execute(
        select(value.expression, count, carrying).where(*value.carrying, within, value.expression.is_not(None))
        .group_by(value.expression).order_by(count.desc(), value.expression).limit(limit)
    ).all()  # fmt: skip
    total = int(rows[0][2]) if rows else 0
    return _named(session, value, [(v, int(n)) for v, n, _ in rows]), total


def top_values_by(
    session: Session, value: Value, by: Value, within: Condition, *, bound: int
) -> tuple[list[tuple[str, str, int]], bool]:
    """(by value, value, events) over all matching events, most frequent pairs first, at most ``bound`` pairs;
    and whether that is all of them."""
    count = func.count().label("n")
    rows = session.execute(
        select(by.expression, value.expression, count)
        .where(*by.carrying, *value.carrying, within, by.expression.is_not(None), value.expression.is_not(None))
        .group_by(by.expression, value.expression).order_by(count.desc(), by.expression, value.expression)
        .limit(bound + 1)
    ).all()  # fmt: skip
    names = _source_names(session, [r[0] for r in rows] if by.name == "source" and by.column else [])
    values = _source_names(session, [r[1] for r in rows] if value.name == "source" and value.column else [])
    triples = [(names.get(b, str(b)), values.get(v, str(v)), int(n)) for b, v, n in rows[:bound]]
    return triples, len(rows) <= bound


def percentile(session: Session, name: str, quantile: float, within: Condition) -> float | None:
    """The ``quantile`` (0..1) of field ``name``, interpolated between the two nearest ranks: PostgreSQL's
    percentile_cont; on SQLite, which has none, the same interpolation over the two values read at the rank's
    offset in value order."""
    if session.get_bind().dialect.name != "postgresql":
        return fields_repo.percentile_field(session, name, quantile, within)
    number = fields_repo.field_number(session, name)
    result = session.scalar(
        select(func.percentile_cont(quantile).within_group(number))
        .where(fields_repo.carrying(session, name, within), number.is_not(None), within)
    )  # fmt: skip
    return None if result is None else float(result)


def _counted(session: Session, value: Value, whole: Collection[int] | None) -> value_counts_repo.Counted | None:
    """The counted (template, field) pairs that give ``value`` over every event of the templates ``whole``;
    None when the events must be read (no such templates, a column, a field not counted in some of them)."""
    if whole is None or value.column:
        return None
    return value_counts_repo.counted_pairs(session, (value.name, *value.alternates), whole)


def _named(session: Session, value: Value, rows: Sequence[tuple[Any, int]]) -> list[tuple[str, int]]:
    if not (value.column and value.name == "source"):
        return [(str(v), n) for v, n in rows]
    names = _source_names(session, [v for v, _ in rows])
    return [(names.get(v, str(v)), n) for v, n in rows]


def _source_names(session: Session, ids: Sequence[Any]) -> dict[Any, str]:
    if not ids:
        return {}
    return {sid: name for sid, name in session.execute(select(Source.id, Source.name).where(Source.id.in_(ids)))}


@dataclass(frozen=True)
class TemplateFieldRow:
    template_id: int
    name: str
    type: str
    kind: str
    unit: str | None


def fields_of_templates(session: Session, template_ids: Sequence[int]) -> list[TemplateFieldRow]:
    """The named fields the given templates carry."""
    ids = sorted(set(template_ids))
    rows: list[TemplateFieldRow] = []
    for start in range(0, len(ids), 500):
        statement = select(TemplateField.template_id, TemplateField.name, TemplateField.type, TemplateField.kind,
                           TemplateField.unit).where(TemplateField.template_id.in_(ids[start : start + 500]))
        rows.extend(TemplateFieldRow(int(t), n, ty, k, u) for t, n, ty, k, u in session.execute(statement))
    return rows
