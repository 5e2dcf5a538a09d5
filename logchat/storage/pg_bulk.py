"""PostgreSQL's bulk path for a batch of events: one binary COPY, in the caller's transaction.

Text COPY makes the server parse every number and string of every row from its text form (escapes
included) and the client format them; binary COPY hands the values over in their stored form. Measured,
that saves the client 1-2 µs per row and the server about 5%: the server's time goes to what the schema
asks of every row, its indexes, the foreign key check and the full-text vector ``events.search``. The
vector is built here (logchat.storage.pg_search), exactly as the server would compute it, and sent in
the COPY: computing it was two thirds of the server's work per event (migration 0014).
docs/ingest.md ("Speed on PostgreSQL") gives the measured costs.

``LOGCHAT_PG_COPY=text`` selects the former text COPY and ``LOGCHAT_PG_SEARCH=server`` leaves the vectors
to the server's trigger (both the way every event was written before); benchmarks/bench_pg_ingest.py and
bench_pg_write_costs.py use them to measure the paths in one run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import Cursor
from psycopg.adapt import Dumper
from psycopg.postgres import types as pg_types
from psycopg.pq import Format

from logchat.storage.pg_search import search_text, vector_builder, vectors_for
from logchat.vocabulary import EVENT_COLUMNS, EventRow

__all__ = [
    "COPY_FORMAT_VARIABLE", "NUL_STANDIN", "SEARCH_VARIABLE", "EventPreparer", "PreparedEvents", "copy_events",
    "without_nul",
]  # fmt: skip

COPY_FORMAT_VARIABLE = "LOGCHAT_PG_COPY"
SEARCH_VARIABLE = "LOGCHAT_PG_SEARCH"

# The PostgreSQL type of each of EVENT_COLUMNS, as migrations 0001 and 0012 create them: binary COPY
# applies no cast, so each value must be sent in exactly its column's type.
_EVENT_TYPES: dict[str, str] = {
    "id": "int8", "source_id": "int4", "generation": "int4", "line_no": "int8", "line_end": "int8",
    "byte_offset": "int8", "ts": "int8", "level": "varchar", "host": "varchar", "process": "varchar",
    "pid": "int4", "template_id": "int4", "message": "text", "raw": "text", "fields": "jsonb",
}  # fmt: skip
_COLUMNS = ", ".join(EVENT_COLUMNS)
_FIELDS = EVENT_COLUMNS.index("fields")
_MESSAGE = EVENT_COLUMNS.index("message")
_RAW = EVENT_COLUMNS.index("raw")
_LEVEL = EVENT_COLUMNS.index("level")
_HOST = EVENT_COLUMNS.index("host")
_PROCESS = EVENT_COLUMNS.index("process")
_PID = EVENT_COLUMNS.index("pid")
_INT4_MIN, _INT4_MAX = -(2**31), 2**31 - 1
# What a NUL byte becomes: PostgreSQL text cannot hold it (nor jsonb its escape); SQLite can.
NUL_STANDIN = "\ufffd"


class _VectorDumper(Dumper):
    """The vectors come built in tsvector's binary form (logchat.storage.pg_search)."""

    format = Format.BINARY
    oid = pg_types["tsvector"].oid

    def dump(self, obj: Any) -> bytes:
        return obj  # type: ignore[no-any-return]


class _JsonTextDumper(Dumper):
    """The ingester hands ``fields`` over as JSON text already; jsonb's binary form is a version byte
    and that text, so it goes as it is rather than through a parse and a dump."""

    format = Format.BINARY
    oid = pg_types["jsonb"].oid

    def dump(self, obj: Any) -> bytes:
        return b"\x01" + obj.encode()


@dataclass(frozen=True)
class PreparedEvents:
    """A batch's rows as its COPY sends them (storable values and the built vector), made ahead of its turn."""

    first_id: int
    rows: list[tuple[Any, ...]]

    def fits(self, rows: Sequence[EventRow]) -> bool:
        # The writer renumbers a batch whose ids another source's batches took meanwhile: then it is not this.
        return len(rows) == len(self.rows) and bool(rows) and rows[0][0] == self.first_id


class EventPreparer:
    """Builds batches' COPY rows ahead of their turn, on a connection of its own (the one thread using it asks
    the server there for the words it does not know yet). Only a speed-up: when anything goes wrong it gives
    None and the writer builds the rows itself, meeting (and reporting) the problem in its transaction."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._connection: Any = None

    def prepare(self, rows: Sequence[EventRow]) -> PreparedEvents | None:
        if not rows or not _builds_vectors():
            return None
        try:
            if self._connection is None:
                self._connection = self._engine.raw_connection()
            raw = self._connection.driver_connection
            storable = [_storable(row) for row in rows]
            with raw.cursor() as cursor:
                vectors = vectors_for(raw, cursor, [search_text(row[_PROCESS], row[_MESSAGE]) for row in storable])
            if raw.info.transaction_status:  # the words' queries opened one: not left idle in it
                raw.rollback()
        except Exception:  # see the class: the write itself meets and reports what went wrong
            self.close()
            return None
        return PreparedEvents(rows[0][0], [(*row, vector) for row, vector in zip(storable, vectors, strict=True)])

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()  # back to the pool, which rolls back and checks it before its next use


def _builds_vectors() -> bool:
    return (
        os.environ.get(COPY_FORMAT_VARIABLE, "binary") != "text"
        and os.environ.get(SEARCH_VARIABLE, "client") != "server"
    )


def copy_events(connection: Any, rows: Sequence[EventRow], prepared: PreparedEvents | None = None) -> None:
    """COPY ``rows`` (values in EVENT_COLUMNS order) into events on ``connection``'s psycopg connection;
    ``prepared``: the same rows as an EventPreparer made them, sent as they are when they still fit."""
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:
        if os.environ.get(COPY_FORMAT_VARIABLE, "binary") == "text":
            _copy_text(cursor, rows)
        elif prepared is not None and prepared.fits(rows) and _builds_vectors():
            _copy_prepared(cursor, prepared.rows)
        else:
            _copy_binary(cursor, rows)


_VECTOR_COPY = f"COPY events ({_COLUMNS}, search) FROM STDIN (FORMAT BINARY)"
_VECTOR_COPY_TYPES = [*(_EVENT_TYPES[column] for column in EVENT_COLUMNS), "tsvector"]


def _copy_prepared(cursor: Cursor[Any], rows: list[tuple[Any, ...]]) -> None:
    cursor.adapters.register_dumper(None, _JsonTextDumper)
    cursor.adapters.register_dumper(None, _VectorDumper)
    with cursor.copy(_VECTOR_COPY) as copy:
        copy.set_types(_VECTOR_COPY_TYPES)
        write = copy.write_row
        for row in rows:
            write(row)


def _copy_binary(cursor: Cursor[Any], rows: Sequence[EventRow]) -> None:
    cursor.adapters.register_dumper(None, _JsonTextDumper)  # found by set_types() through jsonb's oid
    cursor.adapters.register_dumper(None, _VectorDumper)
    storable = [_storable(row) for row in rows]
    if not _builds_vectors():
        with cursor.copy(f"COPY events ({_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([_EVENT_TYPES[column] for column in EVENT_COLUMNS])
            write = copy.write_row
            for row in storable:
                write(row)
        return
    build = vector_builder(cursor.connection, cursor, [search_text(row[_PROCESS], row[_MESSAGE]) for row in storable])
    with cursor.copy(_VECTOR_COPY) as copy:
        copy.set_types(_VECTOR_COPY_TYPES)
        write = copy.write_row
        for index, row in enumerate(storable):
            # Built here rather than beforehand: the server takes in the rows sent so far meanwhile.
            write((*row, build(index)))


def _copy_text(cursor: Cursor[Any], rows: Sequence[EventRow]) -> None:
    with cursor.copy(f"COPY events ({_COLUMNS}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(_storable(row))


def _storable(row: EventRow) -> EventRow:
    """The row as PostgreSQL can hold it. Runs once per event: a few tests, a copy only for the rare odd line."""
    pid = row[_PID]
    odd_pid = pid is not None and not _INT4_MIN <= pid <= _INT4_MAX
    if not odd_pid and "\x00" not in f"{row[_MESSAGE]}{row[_RAW]}{row[_LEVEL]}{row[_HOST]}{row[_PROCESS]}":
        return row
    values = [_text_safe(value) for value in row]
    if values[_FIELDS] is not None:
        values[_FIELDS] = values[_FIELDS].replace("\\u0000", NUL_STANDIN)
    if odd_pid:
        # events.pid is a 4-byte integer; parsers accept ids of up to 18 digits (SQLite keeps them). Binary
        # COPY would silently keep only the low 32 bits (and text COPY fail the batch): no pid is better.
        values[_PID] = None
    return tuple(values)


def _text_safe(value: Any) -> Any:
    return value.replace("\x00", NUL_STANDIN) if type(value) is str and "\x00" in value else value


def _has_nul(values: Iterable[Any]) -> bool:
    return any(type(value) is str and "\x00" in value for value in values)


def without_nul(
    changed_templates: dict[int, str],
    rollup: dict[tuple[Any, ...], list[Any]],
    template_fields: Sequence[tuple[Any, ...]],
) -> tuple[dict[int, str], dict[tuple[Any, ...], list[Any]], Sequence[tuple[Any, ...]]]:
    """The batch's templates, rollup keys and field examples with NUL replaced as in its events: a NUL
    in a JSON value reaches the message, and from there the template and the rollup's host or process."""
    if _has_nul(changed_templates.values()):
        changed_templates = {key: _text_safe(template) for key, template in changed_templates.items()}
    if _has_nul(value for key in rollup for value in key):
        folded: dict[tuple[Any, ...], list[Any]] = {}
        for key, (count, first, last) in rollup.items():
            entry = folded.setdefault(tuple(_text_safe(value) for value in key), [0, None, None])
            entry[0] += count
            entry[1] = min((ts for ts in (entry[1], first) if ts is not None), default=None)
            entry[2] = max((ts for ts in (entry[2], last) if ts is not None), default=None)
        rollup = folded
    if _has_nul(value for row in template_fields for value in row):
        template_fields = [tuple(_text_safe(value) for value in row) for row in template_fields]
    return changed_templates, rollup, template_fields
