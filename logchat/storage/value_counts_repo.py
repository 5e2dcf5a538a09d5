"""Counts of the values of each template's fields, kept as events are stored: top values, distinct counts and
the events carrying a field over every event of some templates, read without reading those events.

A question such as "which IPs had the most failed logins?" matches every event of a few templates (no time,
host or text condition beyond them). Grouping their JSON fields took 0.5 s at 230,000 events; summing these
counts takes a few ms. Everything else (a time range, a host, a text condition) still reads the events.

The counts are exact or absent, never approximate: ``value_count_fields`` says, per (template, field), whether
every stored event of the template carrying the field is counted. A pair stops being counted (-1) when it holds
more than :data:`VALUE_CAP` different values (the table would grow like the events and summing it would cost
what reading them does), or a value whose text the table cannot hold exactly as the field's SQL reads it (a
float: SQLite writes 15 digits, Python and PostgreSQL 17; a NUL; ``true``/``null``/objects).

Measures (bytes, durations, sizes: logchat.vocabulary.MEASURE) are not counted from their first event on: they
are asked for their minimum, maximum, sum, average or percentiles, which read the events, and are not ranked or
told apart (the question planner passes them over for top values and distinct counts). A response size holds
nearly as many values as events, and counting the measures cost a million generated lines 0.3-0.45 s of the
writer's time for counts no answer read. A field counted before this rule (its pair counted in an older store) is
counted on, exactly, until its template's counts are counted again. Whatever changes
stored fields keeps the counts in step here: ingest adds (:func:`add_events`), the backfill of old events adds,
a template's events read again are counted again from the store (:func:`recount`), retention subtracts
(:func:`subtract_events`); ``logchat db copy`` and backups copy the tables as they are.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from logchat.ingest.value_counts import VALUE_CAP, BatchCounts, count_texts, fields_by_template
from logchat.storage.models import TemplateField, ValueCountField
from logchat.vocabulary import MEASURE

__all__ = ["VALUE_CAP", "Counted", "RowTexts", "add_events", "counted_pairs", "fields_by_template", "recount",
           "subtract_events"]

NOT_COUNTED = -1
_IDS_PER_QUERY = 500

# template id -> the fields JSON text of each of its events (one per event): what ingest hands over per batch.
EventFields = Mapping[int, Sequence[str]]


def _mark(conn: Any) -> str:
    return "?" if conn.dialect.name == "sqlite" else "%s"


class RowTexts(Mapping[int, Sequence[str]]):
    """The fields JSON texts of event rows (template id at 11, fields JSON at 14) by template, grouped when first
    looked at: a batch whose values the reader process counted may need none of them."""

    def __init__(self, rows: Sequence[Any]) -> None:
        self._rows = rows
        self._grouped: dict[int, list[str]] | None = None

    def _texts(self) -> dict[int, list[str]]:
        if self._grouped is None:
            self._grouped = fields_by_template(map(itemgetter(11, 14), self._rows))
        return self._grouped

    def __getitem__(self, template_id: int) -> Sequence[str]:
        return self._texts()[template_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._texts())

    def __len__(self) -> int:
        return len(self._texts())


def add_events(
    conn: Any, events: EventFields, fields: Iterable[tuple[int, str, str]], precounted: BatchCounts | None = None
) -> None:
    """Count the fields of newly stored events (or of stored events whose fields were read for the first time),
    in the caller's transaction; called before their template_fields rows are added, which tells a field new to
    its template (its counting starts here, unless it is a measure) from one whose earlier events were never
    counted. ``events``: their fields JSON texts by template (:func:`fields_by_template`, :class:`RowTexts`);
    ``fields``: the (template, field, kind) of the fields these events carry (their template_fields rows);
    ``precounted``: what the reader process counted of these events already (SpareCounter), read in place of
    the texts for the fields it holds."""
    fields = list(fields)
    templates = sorted({template_id for template_id, _, _ in fields})
    if not templates:
        return
    states, known = _states(conn, templates)
    wanted: dict[int, list[str]] = {}
    for template_id, name, kind in fields:
        state = states.get((template_id, name))
        if state is None and (template_id, name) not in known and kind != MEASURE:
            state = states[(template_id, name)] = 0  # new to its template: counted from these events on
        if state is not None and state >= 0:
            wanted.setdefault(template_id, []).append(name)
    rows: list[tuple[int, str, Mapping[str, int]]] = []
    distinct: dict[tuple[int, str], int] = {}
    dropped: set[tuple[int, str]] = set()
    for template_id, names in wanted.items():
        counts = (precounted or {}).get(template_id, {})
        missing = [name for name in names if name not in counts]
        if missing:
            texts = events.get(template_id)
            if not texts:
                continue
            counts = {**counts, **count_texts(texts, missing)}
        for name in names:
            counted = counts[name]
            if counted is None:
                dropped.add((template_id, name))  # not countable, or past the cap in this batch alone
            elif counted:
                distinct[(template_id, name)] = len(counted)
                rows.append((template_id, name, counted))
    if rows:
        _add_counts(conn, rows)
    updates: dict[tuple[int, str], int] = {pair: NOT_COUNTED for pair in dropped}
    for pair, added in distinct.items():
        bound = states[pair] + added
        if bound > VALUE_CAP:
            # The bound adds each batch's values, repeated ones too: the table says how many there really are.
            bound = _distinct_stored(conn, pair)
            if bound > VALUE_CAP:
                bound = NOT_COUNTED
        updates[pair] = bound
    _set_states(conn, updates)


# Adds counts to the stored ones; the rows are distinct (template, field, value) triples, as one statement may
# touch each stored row only once.
_ADD_COUNTS = ("INSERT INTO value_counts (template_id, name, value, count) {rows} "
               "ON CONFLICT (template_id, name, value) DO UPDATE SET count = value_counts.count + excluded.count")
# On SQLite the values of one (template, field) and their counts arrive as one JSON object ({value text: events}),
# which json_each turns into rows inside SQLite (WHERE true: an upsert's SELECT needs a WHERE to parse).
_SQLITE_ROWS = "SELECT ?, ?, key, value FROM json_each(?) WHERE true"


def _add_counts(conn: Any, counted: list[tuple[int, str, Mapping[str, int]]]) -> None:
    """Add ``counted`` (template id, field, {value text: events}) to the stored counts. On SQLite one statement
    per (template, field), its values as one JSON object: the writer's time spent adding counts halves against a
    prepared statement stepped once per value (1.85 µs a value, which made counting most of what named fields
    cost the writer on a JSON lines file). On PostgreSQL in one statement over four arrays: psycopg runs an
    executemany as one statement per row, about 11 µs each (3.9 s for the 355,000 rows of a million generated
    lines); as one statement, 2.3 s."""
    if conn.dialect.name == "postgresql":
        template_ids: list[int] = []
        names: list[str] = []
        values: list[str] = []
        counts: list[int] = []
        for template_id, name, found in counted:
            template_ids.extend(repeat(template_id, len(found)))
            names.extend(repeat(name, len(found)))
            values.extend(found.keys())
            counts.extend(found.values())
        conn.exec_driver_sql(
            _ADD_COUNTS.format(rows="SELECT * FROM unnest(%s::integer[], %s::varchar[], %s::text[], %s::bigint[])"),
            (template_ids, names, values, counts),
        )
    else:
        objects = [(template_id, name, orjson.dumps(found).decode()) for template_id, name, found in counted]
        conn.exec_driver_sql(_ADD_COUNTS.format(rows=_SQLITE_ROWS), objects)


def _states(conn: Any, templates: Sequence[int]) -> tuple[dict[tuple[int, str], int], set[tuple[int, str]]]:
    """The counting state of the fields of ``templates``, and the (template, field) pairs the store knows."""
    states: dict[tuple[int, str], int] = {}
    known: set[tuple[int, str]] = set()
    # Plain SQL with the ids written in: this runs once per batch, and building and rendering an expanding IN
    # of a few hundred ids cost more than the queries themselves.
    for start in range(0, len(templates), _IDS_PER_QUERY):
        listed = ", ".join(str(int(t)) for t in templates[start : start + _IDS_PER_QUERY])  # integers, formatted here
        for template_id, name, bound in conn.exec_driver_sql(
            f"SELECT template_id, name, values_bound FROM value_count_fields WHERE template_id IN ({listed})"  # nosec B608
        ):
            states[(int(template_id), name)] = int(bound)
        known.update(
            (int(t), n)
            for t, n in conn.exec_driver_sql(
                f"SELECT template_id, name FROM template_fields WHERE template_id IN ({listed})"  # nosec B608
            )
        )
    return states, known


def _distinct_stored(conn: Any, pair: tuple[int, str]) -> int:
    mark = _mark(conn)
    row = conn.exec_driver_sql(
        f"SELECT count(*) FROM value_counts WHERE template_id = {mark} AND name = {mark}",  # nosec B608
        pair,
    ).first()
    return int(row[0])


def _set_states(conn: Any, updates: Mapping[tuple[int, str], int]) -> None:
    if not updates:
        return
    mark = _mark(conn)
    conn.exec_driver_sql(
        f"INSERT INTO value_count_fields (template_id, name, values_bound) VALUES ({mark}, {mark}, {mark}) "  # nosec B608
        "ON CONFLICT (template_id, name) DO UPDATE SET values_bound = excluded.values_bound",
        [(t, n, b) for (t, n), b in updates.items()],
    )
    dropped = [(t, n) for (t, n), b in updates.items() if b < 0]
    if dropped:
        conn.exec_driver_sql(f"DELETE FROM value_counts WHERE template_id = {mark} AND name = {mark}", dropped)  # nosec B608


# --- counting from the stored events ----------------------------------------------------------------------

# Per backend: the (template, field, value text, countable) of every field of the events selected by {where}
# (on the alias ``e``). Countable is what logchat.ingest.value_counts counts: text without NUL, and integers.
_EACH = {
    "sqlite": (
        "SELECT e.template_id AS t, j.key AS name, CAST(j.value AS TEXT) AS v, "
        "CASE WHEN j.type = 'integer' OR (j.type = 'text' AND instr(j.value, char(0)) = 0) THEN 1 ELSE 0 END AS ok "
        "FROM events AS e, json_each(e.fields) AS j WHERE {where}"
    ),
    "postgresql": (
        "SELECT e.template_id AS t, j.key AS name, j.value #>> '{{}}' AS v, "
        "CASE WHEN jsonb_typeof(j.value) = 'string' OR (jsonb_typeof(j.value) = 'number' "
        "AND (j.value #>> '{{}}') ~ '^-?[0-9]{{1,18}}$') THEN 1 ELSE 0 END AS ok "
        "FROM events AS e, jsonb_each(e.fields) AS j WHERE {where}"
    ),
}


def _each(conn: Any, where: str) -> str:
    return _EACH["postgresql" if conn.dialect.name == "postgresql" else "sqlite"].format(where=where)


def recount(session: Session, template_ids: Iterable[int]) -> None:
    """Count the fields of ``template_ids`` again from their stored events, in the caller's transaction: after
    their stored fields were rewritten (a template made more general reads its events again), and by migration
    0015 for a store that had no counts."""
    ids = sorted({int(t) for t in template_ids})
    conn = session.connection()
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[start : start + _IDS_PER_QUERY]
        listed = ", ".join(str(t) for t in chunk)  # integers, formatted here
        conn.exec_driver_sql(f"DELETE FROM value_counts WHERE template_id IN ({listed})")  # nosec B608
        conn.exec_driver_sql(f"DELETE FROM value_count_fields WHERE template_id IN ({listed})")  # nosec B608
        states: dict[tuple[int, str], int] = {}
        measures: set[tuple[int, str]] = set()  # not counted (add_events)
        for t, n, kind in conn.execute(
            select(TemplateField.template_id, TemplateField.name, TemplateField.kind)
            .where(TemplateField.template_id.in_(chunk))
        ):  # fmt: skip
            if kind == MEASURE:
                measures.add((int(t), n))
            else:
                states[(int(t), n)] = 0
        each = _each(conn, f"e.template_id IN ({listed}) AND e.fields IS NOT NULL")
        for t, name, values, bad in conn.exec_driver_sql(
            f"SELECT t, name, count(DISTINCT v), sum(1 - ok) FROM ({each}) AS f GROUP BY t, name"  # nosec B608
        ):
            if (int(t), name) not in measures:
                states[(int(t), name)] = NOT_COUNTED if bad or values > VALUE_CAP else int(values)
        _set_states(conn, states)
        conn.exec_driver_sql(
            "INSERT INTO value_counts (template_id, name, value, count) "  # nosec B608
            f"SELECT f.t, f.name, f.v, count(*) FROM ({each}) AS f JOIN value_count_fields AS s "
            "ON s.template_id = f.t AND s.name = f.name WHERE s.values_bound >= 0 GROUP BY f.t, f.name, f.v"
        )


def subtract_events(session: Session, where: str, parameters: Mapping[str, Any]) -> None:
    """Take the events selected by ``where`` (SQL on the alias ``e``, with ``parameters``) out of the counts,
    before they are deleted, in the caller's transaction."""
    conn = session.connection()
    each = _each(conn, f"({where}) AND e.fields IS NOT NULL")
    gone = conn.execute(
        text(
            f"SELECT f.t, f.name, f.v, count(*) FROM ({each}) AS f JOIN value_count_fields AS s "  # nosec B608
            "ON s.template_id = f.t AND s.name = f.name WHERE s.values_bound >= 0 GROUP BY f.t, f.name, f.v"
        ),
        dict(parameters),
    ).all()
    if not gone:
        return
    mark = _mark(conn)
    conn.exec_driver_sql(
        f"UPDATE value_counts SET count = count - {mark} WHERE template_id = {mark} AND name = {mark} "  # nosec B608
        f"AND value = {mark}",
        [(n, t, name, v) for t, name, v, n in gone],
    )
    # A value no event carries any more is no value: distinct counts read the rows.
    conn.exec_driver_sql("DELETE FROM value_counts WHERE count <= 0")


# --- reading -------------------------------------------------------------------------------------------------

# (template_id, field name) pairs whose counts answer a question.
Counted = tuple[tuple[int, str], ...]


def counted_pairs(session: Session, names: Sequence[str], templates: Collection[int]) -> Counted | None:
    """The (template, field) pairs holding the value named by ``names`` (the first of them an event carries) in
    the events of ``templates``, when every one of them is counted; None when any is not, or when a template
    carries more than one of ``names`` (its events' value is then the first they have, which the counts do not
    tell)."""
    ids = sorted({int(t) for t in templates})
    carried: dict[int, list[str]] = {}
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[start : start + _IDS_PER_QUERY]
        for template_id, name in session.execute(
            select(TemplateField.template_id, TemplateField.name)
            .where(TemplateField.template_id.in_(chunk), TemplateField.name.in_(list(names)))
        ):  # fmt: skip
            carried.setdefault(int(template_id), []).append(name)
    if any(len(found) > 1 for found in carried.values()):
        return None
    pairs = tuple(sorted((template_id, found[0]) for template_id, found in carried.items()))
    if not pairs:
        return pairs
    counted = set()
    for start in range(0, len(pairs), _IDS_PER_QUERY):
        chunk = [template_id for template_id, _ in pairs[start : start + _IDS_PER_QUERY]]
        counted.update((int(t), n) for t, n in session.execute(
            select(ValueCountField.template_id, ValueCountField.name)
            .where(ValueCountField.template_id.in_(chunk), ValueCountField.values_bound >= 0)))  # fmt: skip
    return pairs if all(pair in counted for pair in pairs) else None


def _pairs_condition(session: Session, pairs: Counted) -> tuple[str, dict[str, Any]]:
    parts = []
    parameters: dict[str, Any] = {}
    by_name: dict[str, list[int]] = {}
    for template_id, name in pairs:
        by_name.setdefault(name, []).append(template_id)
    for index, (name, template_ids) in enumerate(sorted(by_name.items())):
        listed = ", ".join(str(int(t)) for t in template_ids)  # integers, formatted here
        parts.append(f"(name = :n{index} AND template_id IN ({listed}))")
        parameters[f"n{index}"] = name
    return " OR ".join(parts), parameters


def top_values(session: Session, pairs: Counted, limit: int) -> tuple[list[tuple[str, int]], int]:
    """(value, events) of the ``limit`` most frequent values (ties by value, in the database's order of text, as
    the events' own query orders them) over ``pairs``, and how many events carry a value."""
    if not pairs:
        return [], 0
    where, parameters = _pairs_condition(session, pairs)
    rows = session.execute(
        text(
            f"SELECT value, sum(count) AS n FROM value_counts WHERE {where} "  # nosec B608
            "GROUP BY value ORDER BY n DESC, value LIMIT :limit"
        ),
        parameters | {"limit": limit},
    ).all()
    return [(str(v), int(n)) for v, n in rows], carrying(session, pairs)


def distinct_count(session: Session, pairs: Counted) -> tuple[int, int]:
    """(different values, events carrying one) over ``pairs``."""
    if not pairs:
        return 0, 0
    where, parameters = _pairs_condition(session, pairs)
    statement = f"SELECT count(DISTINCT value), coalesce(sum(count), 0) FROM value_counts WHERE {where}"  # nosec B608
    found, events = session.execute(text(statement), parameters).one()
    return int(found), int(events)


def carrying(session: Session, pairs: Counted) -> int:
    """Events carrying a value over ``pairs``."""
    if not pairs:
        return 0
    where, parameters = _pairs_condition(session, pairs)
    statement = f"SELECT coalesce(sum(count), 0) FROM value_counts WHERE {where}"  # nosec B608
    return int(session.execute(text(statement), parameters).scalar_one())
