"""SQL behind `ask`: evidence rows, exact aggregates of the matching events, values of their variables.

Every count here is computed by the database over all matching events. Without a text condition the
hourly rollup answers (see :func:`logchat.storage.stats_repo.facts`); with one, the matching events
are grouped directly. Values of template variables (IPs, users, ports...) are read from the named fields
stored with the events, or from their messages in Python (with :mod:`logchat.ingest.fields`): exact when
every matching event of the pattern was read, otherwise from the most recent ones, and the result says which.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Text,
    cast,
    column,
    false,
    func,
    insert,
    literal,
    literal_column,
    select,
    table,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from logchat.redaction import mask_secrets
from logchat.storage import stats_repo
from logchat.storage.models import Event, EventRollup, Source, Template, VectorWindow
from logchat.storage.models.base import from_micros
from logchat.vocabulary import LEVEL_RANK, LEVELS

_ts_micros = type_coerce(Event.ts, BigInteger)

# A condition on the events table. Callers pass it back to the functions here without looking inside.
Condition = ColumnElement[bool]


@dataclass
class EventRow:
    id: int
    source_id: int
    source_name: str
    location: str
    line_no: int
    line_end: int
    ts: datetime | None
    level: str | None
    host: str | None
    process: str | None
    template_id: int | None
    message: str
    raw: str


@dataclass
class PatternStats:
    template_id: int | None
    template: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    level: str | None  # the worst level among its matching events


@dataclass
class Aggregate:
    total: int = 0
    first: datetime | None = None
    last: datetime | None = None
    patterns: list[PatternStats] = field(default_factory=list)  # every matching template, ranked
    by_host: list[tuple[str, int]] = field(default_factory=list)
    by_source: list[tuple[str, str, int]] = field(default_factory=list)  # name, location, count


# --- what the store holds ----------------------------------------------------------------------------


def store_span(session: Session) -> tuple[int, datetime | None, datetime | None]:
    """(events, first, last) of the whole store, from the rollup."""
    r = EventRollup
    total, first, last = session.execute(
        select(func.coalesce(func.sum(r.count), 0), func.min(r.first_ts), func.max(r.last_ts))
    ).one()
    return (
        int(total),
        from_micros(first) if first is not None else None,
        from_micros(last) if last is not None else None,
    )


def any_event_between(session: Session, since: datetime | None, until: datetime | None) -> bool:
    conditions = []
    if since is not None:
        conditions.append(Event.ts >= since)
    if until is not None:
        conditions.append(Event.ts < until)
    return session.execute(select(Event.id).where(*conditions).limit(1)).first() is not None


def known_values(session: Session, limit: int = 5_000) -> dict[str, list[str]]:
    """Host and process names, source names and locations: what a question may name."""
    r = EventRollup
    hosts = [h for h in session.scalars(select(r.host).where(r.host != "").group_by(r.host).limit(limit)) if h]
    processes = [
        p for p in session.scalars(select(r.process).where(r.process != "").group_by(r.process).limit(limit)) if p
    ]
    sources: dict[str, None] = {}
    for name, location in session.execute(select(Source.name, Source.location).limit(limit)):
        sources.update((value, None) for value in (name, location) if value)
    return {"hosts": hosts, "processes": processes, "sources": list(sources)}


def vocabulary_version(session: Session) -> int:
    """Changes whenever a new host, process or source can have appeared (a new rollup row)."""
    return int(session.scalar(select(func.max(EventRollup.id))) or 0)


def max_event_id(session: Session) -> int:
    return int(session.scalar(select(func.max(Event.id))) or 0)


def levels_in_scope(session: Session, flt: stats_repo.EventFilter) -> tuple[bool, bool]:
    """(any event under ``flt`` ignoring its levels, any such event carrying a level)."""
    without_levels = stats_repo.EventFilter(
        since=flt.since, until=flt.until, sources=flt.sources, hosts=flt.hosts, processes=flt.processes
    )
    f = stats_repo.facts(session, without_levels)
    present = session.execute(select(f.c.n).limit(1)).first() is not None
    leveled = present and session.execute(select(f.c.level).where(f.c.level != "").limit(1)).first() is not None
    return present, leveled


def any_event_under(session: Session, flt: stats_repo.EventFilter) -> bool:
    """Whether any event is under ``flt`` (its levels included), whatever its text."""
    f = stats_repo.facts(session, flt)
    return session.execute(select(f.c.n).limit(1)).first() is not None


# --- the matched set ----------------------------------------------------------------------------------


def event_conditions(
    session: Session, flt: stats_repo.EventFilter, matched: Condition | None = None
) -> list[Condition]:
    """The conditions selecting the events under ``flt`` and, when given, ``matched``; a new list."""
    conditions = flt.conditions(session)
    if matched is not None:
        conditions.append(matched)
    return conditions


def no_events() -> Condition:
    """A condition no event satisfies."""
    return false()


def of_templates(template_ids: Iterable[int]) -> Condition:
    """The events of these templates.

    Written so that no index can serve it (``template_id + 0``): SQLite, which keeps no statistics here,
    would otherwise walk a template's index (150,000 entries for a frequent one) to check a few event
    ids that another condition already names. Queries that want one template's events in time order
    say so with their own equality on ``template_id``."""
    return (Event.template_id + 0).in_(sorted(template_ids))


# The matching events of one question, with the columns their aggregate is grouped by: counting them
# again reads this small table instead of looking every event up a second time.
_MATCH_COLUMNS = ("id", "source_id", "level", "host", "template_id", "ts")
_MATCHES_DDL = {
    "postgresql": "CREATE TEMPORARY TABLE IF NOT EXISTS logchat_matches (id BIGINT PRIMARY KEY, source_id INTEGER, "
                  "level VARCHAR(8), host VARCHAR(255), template_id INTEGER, ts BIGINT) ON COMMIT DELETE ROWS",
    "sqlite": "CREATE TEMPORARY TABLE IF NOT EXISTS logchat_matches (id INTEGER PRIMARY KEY, source_id INTEGER, "
              "level VARCHAR(8), host VARCHAR(255), template_id INTEGER, ts BIGINT)",
}  # fmt: skip
MATCHES = table("logchat_matches", *(column(name) for name in _MATCH_COLUMNS))


def materialise_matches(
    session: Session, conditions: Sequence[ColumnElement[bool]], *, hits: str | None = None
) -> tuple[int, ColumnElement[bool]]:
    """Store the events matching ``conditions`` in a temporary table, once per question, so that the
    many queries that follow need not run the full-text search and identifier checks again (and
    :func:`aggregate_matches` need not read the events again). ``hits``: an FTS5 expression the events
    must also match, walked hit by hit (see :func:`logchat.storage.fulltext_repo.index_walk`). Returns
    the number of matches and a condition selecting them."""
    from logchat.storage import fulltext_repo

    connection = session.connection()
    dialect = session.get_bind().dialect.name
    connection.exec_driver_sql(_MATCHES_DDL["postgresql" if dialect == "postgresql" else "sqlite"])
    connection.exec_driver_sql("DELETE FROM logchat_matches")
    columns = select(Event.id, Event.source_id, Event.level, Event.host, Event.template_id, _ts_micros)
    if hits is not None:
        columns = fulltext_repo.over_hits(columns, hits)
    result = connection.execute(insert(MATCHES).from_select(list(_MATCH_COLUMNS), columns.where(*conditions)))
    count = int(result.rowcount or 0)
    session.info[_MATCHED_COUNT] = (session.get_transaction(), count)
    return count, Event.id.in_(select(MATCHES.c.id))


# Where the number of events in the temporary table is kept, for the transaction that filled it.
_MATCHED_COUNT = "logchat_matched_count"


def materialised_count(session: Session, condition: ColumnElement[bool] | None) -> int | None:
    """How many events ``condition`` can select at most when it reads the events stored by
    :func:`materialise_matches` in this transaction (None when it does not)."""
    if condition is None:
        return None
    known = session.info.get(_MATCHED_COUNT)
    if known is None or known[0] is not session.get_transaction():
        return None
    from sqlalchemy.sql.util import find_tables

    return known[1] if any(found is MATCHES for found in find_tables(condition, check_columns=True)) else None


def template_counts(session: Session, template_ids: Iterable[int]) -> dict[int, int]:
    """Events per template in the whole store (kept by the ingester)."""
    ids = list(template_ids)
    counts: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(select(Template.id, Template.count).where(Template.id.in_(ids[start : start + 500])))
        counts.update((int(tid), int(n)) for tid, n in rows)
    return counts


def matched_ids() -> Any:
    """A SELECT of the ids stored by :func:`materialise_matches`."""
    return select(MATCHES.c.id)


def rollup_total(session: Session, template_ids: Iterable[int]) -> int:
    ids = list(template_ids)
    if not ids:
        return 0
    return int(session.scalar(select(func.coalesce(func.sum(EventRollup.count), 0))
                              .where(EventRollup.template_id.in_(ids))) or 0)


# {template id: (matching events, all events of the template)}: how sparse the matches are.
MatchCounts = Mapping[int, tuple[int, int]]


def _template_is(session: Session, template_id: int | None, counts: MatchCounts, limit: int) -> ColumnElement[bool]:
    """The condition "this template", shaped so that SQLite takes the cheaper of two walks for the
    ``limit`` most recent matches: the template's (template_id, ts) index, reading about
    limit × all / matching rows, or the materialised matching ids, reading all of them and sorting."""
    if template_id is None:
        return Event.template_id.is_(None)
    matching, total = counts.get(template_id, (0, 0))
    if matching and matching * matching < limit * total and session.get_bind().dialect.name == "sqlite":
        # The unary + keeps SQLite off the (template_id, ts) index.
        return literal_column("+events.template_id") == template_id
    return Event.template_id == template_id


# --- events -------------------------------------------------------------------------------------------


def _event_columns() -> tuple[Any, ...]:
    return (
        Event.id, Event.source_id, Source.name, Source.location, Event.line_no, Event.line_end, Event.ts,
        Event.level, Event.host, Event.process, Event.template_id, Event.message, Event.raw,
    )


def fetch_events(session: Session, ids: Iterable[int]) -> dict[int, EventRow]:
    wanted = list(dict.fromkeys(int(i) for i in ids))
    found: dict[int, EventRow] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.execute(
            select(*_event_columns()).join(Source, Source.id == Event.source_id).where(Event.id.in_(chunk))
        ).all()
        for row in rows:
            found[row[0]] = EventRow(*row)
    return found


def recent_events_of_templates(
    session: Session, template_ids: Sequence[int], conditions: Sequence[ColumnElement[bool]], per_template: int,
    *, counts: MatchCounts | None = None,
) -> dict[int, list[int]]:
    """The most recent matching event ids of each template, in one round trip. ``counts``: how many
    events of each template match, when ``conditions`` read the materialised matches."""
    if not template_ids:
        return {}
    parts = [
        select(Event.id.label("id"), Event.template_id.label("template_id"))
        .where(_template_is(session, template_id, counts or {}, per_template), *conditions)
        .order_by(Event.ts.desc(), Event.id.desc())
        .limit(per_template)
        .subquery()
        for template_id in dict.fromkeys(template_ids)
    ]
    statement = union_all(*[select(part.c.id, part.c.template_id) for part in parts])
    result: dict[int, list[int]] = {}
    for event_id, template_id in session.execute(statement):
        result.setdefault(template_id, []).append(int(event_id))
    return result


def first_or_last_event(session: Session, conditions: Sequence[ColumnElement[bool]], at: datetime | None,
                        *, last: bool) -> int | None:
    """The earliest (or latest) matching event; ``at`` is its known time, which makes this an index lookup."""
    statement = select(Event.id).where(*conditions)
    if at is not None:
        statement = statement.where(Event.ts == at)
    order = (Event.ts.desc(), Event.id.desc()) if last else (Event.ts.asc(), Event.id.asc())
    return session.scalar(statement.order_by(*order).limit(1))


def windows_of_signatures(
    session: Session, signature_ids: Sequence[int], flt: stats_repo.EventFilter, per_signature: int
) -> dict[int, list[tuple[int, int, int]]]:
    """The most recent windows of each signature inside the filter's time range and sources, as
    (source_id, first_event_id, last_event_id)."""
    w = VectorWindow
    conditions: list[ColumnElement[bool]] = []
    if flt.since is not None:
        conditions.append(w.last_ts >= flt.since)
    if flt.until is not None:
        conditions.append(w.first_ts < flt.until)
    if flt.sources:
        ids = stats_repo.matching_source_ids(session, flt.sources)
        conditions.append(w.source_id.in_(ids))
    result: dict[int, list[tuple[int, int, int]]] = {}
    for signature_id in signature_ids:
        rows = session.execute(
            select(w.source_id, w.first_event_id, w.last_event_id)
            .where(w.signature_id == signature_id, *conditions)
            .order_by(w.last_ts.desc(), w.id.desc())
            .limit(per_signature)
        ).all()
        if rows:
            result[signature_id] = [(int(a), int(b), int(c)) for a, b, c in rows]
    return result


# The longest list of ids SQLite reads before the other conditions (see events_in_windows).
_IDS_READ_FIRST = 20


def events_in_windows(
    session: Session, windows: Sequence[tuple[int, int, int]], conditions: Sequence[ColumnElement[bool]]
) -> list[list[tuple[int, int | None]]]:
    """For each (source_id, first_event_id, last_event_id): (event id, template id) of its events that
    satisfy ``conditions``, in order."""
    if not windows:
        return []
    # The windows' rows first, by id range alone; then the conditions on those few ids. Together,
    # SQLite could prefer an index of a condition (a frequent template) to the id ranges.
    parts = [
        select(literal_column(str(index)).label("w"), Event.id.label("id"), Event.template_id.label("template_id"))
        .where(Event.id >= first_id, Event.id <= last_id, Event.source_id == source_id)
        for index, (source_id, first_id, last_id) in enumerate(windows)
    ]
    statement = union_all(*parts) if len(parts) > 1 else parts[0]
    rows = [(int(index), int(event_id), template_id) for index, event_id, template_id in session.execute(statement)]
    if conditions and rows:
        ids = [event_id for _, event_id, _ in rows]
        # In lists of a few ids: SQLite assumes an `id IN (SELECT …)` among the conditions (the stored matches)
        # yields 25 rows, and walks it rather than a longer list of ids (30,000 matches read for 120 ids).
        checks = [select(Event.id).where(Event.id.in_(ids[start : start + _IDS_READ_FIRST]), *conditions)
                  for start in range(0, len(ids), _IDS_READ_FIRST)]
        keep = set(session.scalars(union_all(*checks) if len(checks) > 1 else checks[0]))
        rows = [row for row in rows if row[1] in keep]
    members: list[list[tuple[int, int | None]]] = [[] for _ in windows]
    for index, event_id, template_id in rows:
        members[index].append((event_id, template_id))
    for group in members:
        group.sort()
    return members


# --- aggregation --------------------------------------------------------------------------------------


def _matching_facts(session: Session, flt: stats_repo.EventFilter, text_condition: ColumnElement[bool]) -> Any:
    # Literal '' rather than a bound parameter: PostgreSQL must see the same expression in GROUP BY.
    empty = literal_column("''")
    level = func.coalesce(Event.level, empty)
    host = func.coalesce(Event.host, empty)
    return (
        select(
            Event.source_id.label("source_id"),
            level.label("level"),
            host.label("host"),
            Event.template_id.label("template_id"),
            func.count().label("n"),
            func.min(_ts_micros).label("first_ts"),
            func.max(_ts_micros).label("last_ts"),
        )
        .where(*flt.conditions(session), text_condition)
        .group_by(Event.source_id, level, host, Event.template_id)
        .subquery("facts")
    )


def aggregate(
    session: Session,
    flt: stats_repo.EventFilter,
    text_condition: ColumnElement[bool] | None,
    *,
    errors_first: bool,
    templates: Iterable[int] | None = None,
) -> Aggregate:
    """Exact totals of the events matching ``flt`` and ``text_condition``, by template, host and source.

    Without a text condition the rollup answers; ``templates`` then restricts it to those templates
    (used when the text condition is known to select exactly the events of these templates).
    """
    f = stats_repo.facts(session, flt) if text_condition is None else _matching_facts(session, flt, text_condition)
    statement = select(
        f.c.template_id, f.c.host, f.c.source_id, f.c.level, func.sum(f.c.n), func.min(f.c.first_ts),
        func.max(f.c.last_ts),
    ).group_by(f.c.template_id, f.c.host, f.c.source_id, f.c.level)
    if templates is not None:
        statement = statement.where(f.c.template_id.in_(list(templates)))
    return _summarise(session, session.execute(statement).all(), errors_first=errors_first)


def aggregate_matches(session: Session, *, errors_first: bool) -> Aggregate:
    """What :func:`aggregate` says of the events stored by :func:`materialise_matches` (which already
    satisfy the filters), read from that table alone."""
    m = MATCHES.c
    empty = literal_column("''")
    level = func.coalesce(m.level, empty)
    host = func.coalesce(m.host, empty)
    statement = select(
        m.template_id, host, m.source_id, level, func.count(), func.min(m.ts), func.max(m.ts)
    ).group_by(m.template_id, host, m.source_id, level)
    return _summarise(session, session.execute(statement).all(), errors_first=errors_first)


def _summarise(session: Session, rows: Sequence[Any], *, errors_first: bool) -> Aggregate:
    """An Aggregate from rows of (template id, host, source id, level, events, first, last microseconds)."""
    result = Aggregate()
    per_template: dict[int | None, list[Any]] = {}
    hosts: Counter[str] = Counter()
    sources: Counter[int] = Counter()
    first_us: int | None = None
    last_us: int | None = None
    for template_id, host, source_id, level, n, first, last in rows:
        n = int(n)
        result.total += n
        if host:
            hosts[host] += n
        sources[source_id] += n
        if first is not None and (first_us is None or first < first_us):
            first_us = first
        if last is not None and (last_us is None or last > last_us):
            last_us = last
        entry = per_template.setdefault(template_id, [0, None, None, -1])
        entry[0] += n
        if first is not None and (entry[1] is None or first < entry[1]):
            entry[1] = first
        if last is not None and (entry[2] is None or last > entry[2]):
            entry[2] = last
        entry[3] = max(entry[3], LEVEL_RANK.get(level or "", -1))
    result.first = from_micros(first_us) if first_us is not None else None
    result.last = from_micros(last_us) if last_us is not None else None
    texts = template_texts(session, [tid for tid in per_template if tid is not None])
    patterns = [
        PatternStats(
            template_id=tid,
            template=texts.get(tid, "") if tid is not None else "",
            count=count,
            first_seen=from_micros(first) if first is not None else None,
            last_seen=from_micros(last) if last is not None else None,
            level=LEVELS[worst] if worst >= 0 else None,
        )
        for tid, (count, first, last, worst) in per_template.items()
    ]
    error_rank = LEVEL_RANK["ERROR"]

    def order(p: PatternStats) -> tuple[int, int, int]:
        is_error = 1 if errors_first and p.level is not None and LEVEL_RANK[p.level] >= error_rank else 0
        return (-is_error, -p.count, p.template_id if p.template_id is not None else -1)

    result.patterns = sorted(patterns, key=order)
    result.by_host = hosts.most_common()
    names = source_names(session, list(sources))
    result.by_source = [(names.get(sid, ("?", "?"))[0], names.get(sid, ("?", "?"))[1], n)
                        for sid, n in sources.most_common()]
    return result


def template_texts(session: Session, template_ids: Sequence[int]) -> dict[int, str]:
    texts: dict[int, str] = {}
    ids = list(template_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.execute(select(Template.id, Template.template).where(Template.id.in_(chunk)))
        # Stores written before templates were mined from masked messages may hold secrets in them.
        texts.update((template_id, mask_secrets(template)) for template_id, template in rows)
    return texts


def source_names(session: Session, source_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    if not source_ids:
        return {}
    rows = session.execute(select(Source.id, Source.name, Source.location).where(Source.id.in_(list(source_ids))))
    return {sid: (name, location) for sid, name, location in rows}


# --- messages ----------------------------------------------------------------------------------------


def fields_of_template(
    session: Session, template_id: int | None, conditions: Sequence[ColumnElement[bool]], limit: int,
    *, counts: MatchCounts | None = None,
) -> list[dict[str, Any] | None]:
    """The stored named fields of the same events as :func:`messages_of_template` (None for an event whose fields
    were not read), in no particular order. They were read at ingest from the masked message, so they hold no
    secret it hid."""
    recent = (
        select(Event.fields.label("fields"))
        .where(_template_is(session, template_id, counts or {}, limit), *conditions)
        .order_by(Event.ts.desc())
        .limit(limit)
        .subquery()
    )
    # One JSON array of them all, decoded at once: a json.loads per event (or SQLAlchemy's JSON type, twice that)
    # costs as much again as the decoding itself.
    if session.get_bind().dialect.name == "postgresql":
        joined = func.string_agg(cast(recent.c.fields, Text), literal(",", Text))
    else:
        joined = func.group_concat(type_coerce(recent.c.fields, Text), ",")
    events, with_fields, text = session.execute(select(func.count(), func.count(recent.c.fields), joined)).one()
    stored: list[dict[str, Any] | None] = json.loads(f"[{text}]") if text else []
    return stored + [None] * (int(events) - int(with_fields))


def messages_with_fields_of_template(
    session: Session, template_id: int | None, conditions: Sequence[ColumnElement[bool]], limit: int,
    *, counts: MatchCounts | None = None,
) -> list[tuple[str, dict[str, Any] | None]]:
    """(message, stored fields) of the same events as :func:`messages_of_template`, secrets masked."""
    rows = session.execute(
        select(Event.message, Event.fields)
        .where(_template_is(session, template_id, counts or {}, limit), *conditions)
        .order_by(Event.ts.desc())
        .limit(limit)
    )
    return [(mask_secrets(message), fields) for message, fields in rows]


def messages_of_template(
    session: Session, template_id: int | None, conditions: Sequence[ColumnElement[bool]], limit: int,
    *, counts: MatchCounts | None = None,
) -> list[str]:
    """Messages of the most recent matching events of one template, secrets masked.

    Masked the way the template was mined (from the masked message), so a password reads as the
    same "***" in both and is never counted or shown as a value."""
    return [
        mask_secrets(message)
        for message in session.scalars(
            select(Event.message)
            .where(_template_is(session, template_id, counts or {}, limit), *conditions)
            .order_by(Event.ts.desc())
            .limit(limit)
        )
    ]
