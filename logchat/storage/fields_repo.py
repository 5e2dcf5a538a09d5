"""SQL over the named fields of events: discover them, filter on them, group and aggregate them.

Each event holds its fields as one JSON object (``events.fields``); ``template_fields`` says which
templates carry which field. Every query here restricts itself to those templates, so the database
walks the (template_id, ts) index instead of every event, and then reads the JSON of those events only.
The same SQL shape runs on SQLite (json_extract/json_type) and PostgreSQL (jsonb ->> / jsonb_typeof).

The events a question is about are passed in as ``within``: any SQLAlchemy condition on ``events``
(a time range, templates, the matches of a full-text search...).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Float, String, and_, case, cast, delete, false, func, literal, or_, select, true
from sqlalchemy.orm import Session

from logchat.errors import UsageError
from logchat.storage.models import Event, Source, TemplateField

Condition = ColumnElement[bool]
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "in", "contains", "prefix")
FUNCTIONS = ("count", "min", "max", "sum", "avg")
MEASURE_ONLY = ("sum", "avg")


class FieldNotFound(UsageError):
    """No event of the store carries a field of this name."""


class NotAMeasure(UsageError):
    """A sum or an average asked of an identifier (a port, a pid, a status) or of text."""


@dataclass(frozen=True)
class FieldInfo:
    """A field as the store knows it, summed over the templates that carry it."""

    name: str
    type: str
    kind: str
    unit: str | None
    events: int
    template_ids: tuple[int, ...]
    example: str | None


# --- expressions --------------------------------------------------------------------------------------


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def field_text(session: Session, name: str) -> ColumnElement[Any]:
    """The value of field ``name`` as text (numbers too: 502 -> '502'); NULL where the event has none."""
    if _dialect(session) == "postgresql":
        return Event.fields.op("->>", return_type=String)(literal(name, String))
    return cast(func.json_extract(Event.fields, _sqlite_path(name)), String)


def field_number(session: Session, name: str) -> ColumnElement[Any]:
    """The value of field ``name`` as a number; NULL where the event has none or it is not a number."""
    if _dialect(session) == "postgresql":
        return case(
            (func.jsonb_typeof(Event.fields.op("->")(literal(name, String))) == "number",
             cast(field_text(session, name), Float)),
            else_=None,
        )
    path = _sqlite_path(name)
    return func.iif(
        func.json_type(Event.fields, path).in_(("integer", "real")), func.json_extract(Event.fields, path), None
    )


def _sqlite_path(name: str) -> str:
    # Field names are [a-z0-9_] (logchat.ingest.fields.field_name); quoting keeps any other name literal.
    return '$."' + name.replace('"', "") + '"'


# --- discovery ----------------------------------------------------------------------------------------


def templates_with_plain_fields(session: Session, template_ids: Iterable[int]) -> set[int]:
    """Those of ``template_ids`` whose events have named fields, none of them converted into a unit or a float
    (fields that hold their value as the message wrote it)."""
    ids = sorted(set(template_ids))
    found: set[int] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        converted = func.sum(case((or_(TemplateField.unit.is_not(None), TemplateField.type == "float"), 1), else_=0))
        rows = session.execute(
            select(TemplateField.template_id).where(TemplateField.template_id.in_(chunk))
            .group_by(TemplateField.template_id).having(converted == 0)
        )  # fmt: skip
        found.update(int(template_id) for (template_id,) in rows)
    return found


def templates_with(session: Session, name: str) -> list[int]:
    return [int(t) for t in session.scalars(select(TemplateField.template_id).where(TemplateField.name == name))]


def field_infos(
    session: Session, *, template_id: int | None = None, name: str | None = None,
    template_ids: Sequence[int] | None = None,
) -> list[FieldInfo]:
    """The fields of the store (or of one template, or of some templates), most common first."""
    statement = select(TemplateField)
    if template_id is not None:
        statement = statement.where(TemplateField.template_id == template_id)
    if name is not None:
        statement = statement.where(TemplateField.name == name)
    statements = [statement]
    if template_ids is not None:
        # In slices: a question can match thousands of templates, more than a statement takes parameters.
        ids = sorted(set(template_ids))
        statements = [statement.where(TemplateField.template_id.in_(ids[start : start + 500]))
                      for start in range(0, len(ids), 500)]
    by_name: dict[str, list[TemplateField]] = {}
    for each in statements:
        for row in session.scalars(each):
            by_name.setdefault(row.name, []).append(row)
    infos = []
    for field_name, rows in by_name.items():
        rows.sort(key=lambda r: -r.count)
        types = {r.type for r in rows}
        kinds = {r.kind for r in rows}
        value_type = rows[0].type if len(types) == 1 else ("float" if types <= {"int", "float"} else "string")
        kind = rows[0].kind if len(kinds) == 1 else ("identifier" if "identifier" in kinds else "label")
        if value_type == "string":
            kind = "label"
        infos.append(FieldInfo(
            name=field_name, type=value_type, kind=kind, unit=next((r.unit for r in rows if r.unit), None),
            events=sum(r.count for r in rows), template_ids=tuple(sorted(r.template_id for r in rows)),
            example=rows[0].example,
        ))  # fmt: skip
    return sorted(infos, key=lambda info: (-info.events, info.name))


def require_field(session: Session, name: str) -> FieldInfo:
    infos = field_infos(session, name=name)
    if not infos:
        known = ", ".join(info.name for info in field_infos(session)[:20]) or "none yet"
        raise FieldNotFound(f"no event has a field named {name!r} (known fields: {known})")
    return infos[0]


def source_condition(session: Session, sources: Sequence[str]) -> Condition:
    """Events of the sources named (by name or location)."""
    ids = select(Source.id).where(or_(Source.name.in_(list(sources)), Source.location.in_(list(sources))))
    return Event.source_id.in_(ids)


def field_event_counts(session: Session, names: Iterable[str], within: Condition) -> dict[str, int]:
    """Events under ``within`` that carry each field."""
    counts = {}
    for name in names:
        statement = select(func.count()).select_from(Event).where(
            _carrying(session, name, within), field_text(session, name).is_not(None), within
        )
        counts[name] = int(session.scalar(statement) or 0)
    return counts


def distinct_values(
    session: Session, name: str, within: Condition | None = None, *, bound: int = 1000
) -> tuple[int, bool]:
    """How many distinct values the field takes, counted up to ``bound``; and whether that is all of them."""
    value = field_text(session, name)
    inner = (
        select(value.label("v"))
        .where(_carrying(session, name, within), value.is_not(None), within if within is not None else true())
        .group_by(value).limit(bound + 1).subquery()
    )  # fmt: skip
    found = int(session.scalar(select(func.count()).select_from(inner)) or 0)
    return min(found, bound), found <= bound


# --- filter, group, aggregate -------------------------------------------------------------------------


def carrying(
    session: Session, name: str, within: Condition | None = None, *, among: Collection[int] | None = None
) -> Condition:
    """Events of the templates that carry ``name``: what lets the database use the template index. ``among``: the
    templates of the events ``within``, when known (only those of them are walked).

    Unless ``within`` reads a question's stored matches (:func:`logchat.storage.search_repo.materialise_matches`)
    and they are fewer than the events of those templates: the condition is then written so that no index can
    serve it, and SQLite walks the matches instead. SQLite keeps no statistics here and would otherwise walk a
    template's index (300,000 entries for an access log's one template) to find the 30,000 events of one host."""
    template_ids = templates_with(session, name)
    if among is not None:
        template_ids = [template_id for template_id in template_ids if template_id in among]
    if not template_ids:
        return false()
    if _walk_matches(session, within, template_ids):
        return (Event.template_id + 0).in_(template_ids)
    return Event.template_id.in_(template_ids)


def _walk_matches(session: Session, within: Condition | None, template_ids: Sequence[int]) -> bool:
    if _dialect(session) != "sqlite":
        return False  # PostgreSQL weighs the two ways with statistics of its own
    from logchat.storage import search_repo

    matched = search_repo.materialised_count(session, within)
    return matched is not None and matched < sum(search_repo.template_counts(session, template_ids).values())


_carrying = carrying


def field_condition(
    session: Session, name: str, operator: str, value: Any, *, within: Condition | None = None
) -> Condition:
    """Events whose field ``name`` compares to ``value``: numbers compare as numbers, the rest as text.
    ``in`` takes a list; ``contains`` is a case-insensitive substring test on the text; ``prefix`` matches
    values that start with ``value`` (``job_42`` -> ``job_42_1``). ``within``: the events the condition will
    be applied to, when known (see :func:`carrying`)."""
    if operator not in OPERATORS:
        raise UsageError(f"unknown field operator {operator!r}; use one of: {', '.join(OPERATORS)}")
    carrying = _carrying(session, name, within)
    if operator == "in":
        values = list(value)
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        texts = [str(v) for v in values if not isinstance(v, int | float) or isinstance(v, bool)]
        parts = []
        if numbers:
            parts.append(field_number(session, name).in_(numbers))
        if texts:
            parts.append(field_text(session, name).in_(texts))
        return and_(carrying, or_(*parts)) if parts else false()
    if operator == "contains":
        return and_(carrying, func.lower(field_text(session, name)).contains(str(value).lower(), autoescape=True))
    if operator == "prefix":
        return and_(carrying, field_text(session, name).startswith(str(value), autoescape=True))
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    left = field_number(session, name) if numeric else field_text(session, name)
    right = value if numeric else str(value)
    comparisons = {
        "=": left == right, "!=": left != right, "<": left < right, "<=": left <= right, ">": left > right,
        ">=": left >= right,
    }  # fmt: skip
    return and_(carrying, comparisons[operator])


def _where(session: Session, name: str, within: Condition | None) -> list[Condition]:
    conditions = [_carrying(session, name, within)]
    if within is not None:
        conditions.append(within)
    return conditions


def group_by_field(
    session: Session, name: str, within: Condition | None = None, *, limit: int | None = 10
) -> list[tuple[str, int]]:
    """(value, events) of field ``name`` among the events ``within``, most frequent first (ties by value)."""
    value = field_text(session, name)
    count = func.count().label("n")
    statement = (
        select(value.label("v"), count).where(*_where(session, name, within), value.is_not(None))
        .group_by(value).order_by(count.desc(), value)
    )  # fmt: skip
    if limit is not None:
        statement = statement.limit(limit)
    return [(str(v), int(n)) for v, n in session.execute(statement)]


def aggregate_field(session: Session, name: str, function: str, within: Condition | None = None) -> float | None:
    """count, min, max, sum or avg of the numeric values of field ``name`` among the events ``within``.
    Sums and averages are refused for identifiers (ports, pids, statuses) and text."""
    if function not in FUNCTIONS:
        raise UsageError(f"unknown aggregation {function!r}; use one of: {', '.join(FUNCTIONS)}")
    info = require_field(session, name)
    if function in MEASURE_ONLY and info.kind != "measure":
        raise NotAMeasure(f"the field {name!r} is {'an' if info.kind == 'identifier' else 'a'} {info.kind} "
                          f"({info.type}): it can be counted, grouped or ranked, not added up")
    number = field_number(session, name)
    sql = {"count": func.count(number), "min": func.min(number), "max": func.max(number),
           "sum": func.sum(number), "avg": func.avg(number)}[function]  # fmt: skip
    result = session.scalar(select(sql).where(*_where(session, name, within), number.is_not(None)))
    if result is None:
        return None
    return float(result)


def percentile_field(
    session: Session, name: str, quantile: float, within: Condition | None = None
) -> float | None:
    """The ``quantile`` (0..1) of the numeric values, interpolated linearly between the two nearest
    ranks (as numpy's default and PostgreSQL's percentile_cont); computed with ORDER BY so it is the
    same on SQLite, which has no percentile function."""
    if not 0.0 <= quantile <= 1.0:
        raise UsageError(f"a percentile is between 0 and 100, not {quantile * 100:g}")
    number = field_number(session, name)
    conditions = [*_where(session, name, within), number.is_not(None)]
    total = int(session.scalar(select(func.count()).select_from(Event).where(*conditions)) or 0)
    if total == 0:
        return None
    rank = quantile * (total - 1)
    low = math.floor(rank)
    values = [float(v) for v in session.scalars(
        select(number).where(*conditions).order_by(number).offset(low).limit(2)
    )]  # fmt: skip
    if len(values) == 1 or rank == low:
        return values[0]
    return values[0] + (values[1] - values[0]) * (rank - low)


# --- backfill -----------------------------------------------------------------------------------------


def events_without_fields(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Event).where(Event.fields.is_(None))) or 0)


def unread_events_at_either_end(session: Session) -> bool:
    """Whether the oldest or the newest event has no fields: the store was written while field extraction
    was off (or before fields existed). Two lookups by id, however large the store, where counting the events
    without fields would read them all; ids grow, so events stored while it was off sit at one end or the other
    until they are read."""
    for order in (Event.id.asc(), Event.id.desc()):
        if session.scalar(select(Event.fields.is_(None)).order_by(order).limit(1)):
            return True
    return False


def events_to_read(session: Session, after_id: int, limit: int) -> list[tuple[int, int | None, str, str, str, str]]:
    """(id, template_id, template text, format, message, raw) of events without fields, by id."""
    from logchat.storage.models import Template

    rows = session.execute(
        select(Event.id, Event.template_id, func.coalesce(Template.template, ""), func.coalesce(Source.format, ""),
               Event.message, Event.raw)
        .join(Source, Source.id == Event.source_id)
        .outerjoin(Template, Template.id == Event.template_id)
        .where(Event.fields.is_(None), Event.id > after_id)
        .order_by(Event.id).limit(limit)
    ).all()  # fmt: skip
    return [tuple(row) for row in rows]  # type: ignore[misc]


def templates_with_events_before(session: Session, template_ids: Iterable[int], before_id: int) -> set[int]:
    """Those of ``template_ids`` that have events with fields read, stored before event ``before_id``."""
    found = set()
    for template_id in sorted(set(template_ids)):
        exists = select(Event.id).where(
            Event.template_id == template_id, Event.id < before_id, Event.fields.is_not(None)
        ).limit(1)
        if session.scalar(exists) is not None:
            found.add(template_id)
    return found


def events_of_templates(
    session: Session, template_ids: Sequence[int], after_id: int, limit: int, *, before_id: int | None = None
) -> list[tuple[int, int | None, str, str, str, str]]:
    """(id, template_id, template text, format, message, raw) of the events of ``template_ids`` whose fields
    were read, by id, after ``after_id`` (and before ``before_id``, when given)."""
    from logchat.storage.models import Template

    within = [Event.template_id.in_(template_ids), Event.fields.is_not(None), Event.id > after_id]
    if before_id is not None:
        within.append(Event.id < before_id)
    rows = session.execute(
        select(Event.id, Event.template_id, func.coalesce(Template.template, ""), func.coalesce(Source.format, ""),
               Event.message, Event.raw)
        .join(Source, Source.id == Event.source_id)
        .outerjoin(Template, Template.id == Event.template_id)
        .where(*within)
        .order_by(Event.id).limit(limit)
    ).all()  # fmt: skip
    return [tuple(row) for row in rows]  # type: ignore[misc]


def forget_template_fields(session: Session, template_ids: Sequence[int]) -> None:
    """Drop what is known of the fields of ``template_ids`` (their events are about to be read again)."""
    session.execute(delete(TemplateField).where(TemplateField.template_id.in_(template_ids)))


def store_fields(session: Session, values: Sequence[tuple[int, str]]) -> None:
    """Set the fields (JSON text) of events: (event id, fields)."""
    if not values:
        return
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("UPDATE events SET fields = %s::jsonb WHERE id = %s", [(f, i) for i, f in values])
    else:
        conn.exec_driver_sql("UPDATE events SET fields = ? WHERE id = ?", [(f, i) for i, f in values])


# --- scopes for discovery -----------------------------------------------------------------------------


def unknown_sources(session: Session, names: Sequence[str]) -> list[str]:
    """Those of ``names`` that are neither the name nor the location of a stored source."""
    known = {value for row in session.execute(select(Source.name, Source.location)) for value in row}
    return [name for name in names if name not in known]


def template_exists(session: Session, template_id: int) -> bool:
    from logchat.storage.models import Template

    return session.get(Template, template_id) is not None


def template_field_count(session: Session, template_id: int, name: str) -> int:
    return int(session.scalar(select(TemplateField.count).where(
        TemplateField.template_id == template_id, TemplateField.name == name)) or 0)  # fmt: skip


def of_template(template_id: int) -> Condition:
    return Event.template_id == template_id


def recent_carrying(session: Session, name: str, within: Condition | None, limit: int) -> Condition:
    """``within``, narrowed to the ``limit`` most recent events that carry field ``name``."""
    recent = (
        select(Event.id).where(*_where(session, name, within), field_text(session, name).is_not(None))
        .order_by(Event.id.desc()).limit(limit).subquery()
    )  # fmt: skip
    scope = Event.id.in_(select(recent.c.id))
    return scope if within is None else and_(within, scope)


def add_template_fields(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    """(template_id, name, type, kind, unit, events, example) rows, added as the ingester adds them."""
    from logchat.storage.ingest_writer import upsert_template_fields

    upsert_template_fields(session.connection(), rows)
