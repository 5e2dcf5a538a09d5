"""Copy a whole store into another, empty one: every table of the ORM metadata, in dependency order.

The copy is driven by ``Base.metadata``, so a table added by a later migration is copied without a
change here. Values move as stored (timestamps as their integer microseconds, the audit trail's
hashes as written), so the target answers exactly as the source did and its audit chain verifies.

What is derived rather than stored is derived again in the target: SQLite's FTS5 index is rebuilt
from ``events``, PostgreSQL's ``events.search`` column is computed by the database's trigger.

Atomicity: the source is read in one snapshot and everything is written to the target in ONE
transaction, so a copy that is interrupted leaves the target as empty as it was and can simply be
run again. Id counters (PostgreSQL sequences, SQLite AUTOINCREMENT) are carried over with their
high-water mark, so an id the source once gave out (a removed account's) is not given out again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, Integer, Table, column, func, select, table, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator, TypeEngine

from logchat.errors import StoreError
from logchat.storage.db import Store, describe_database, translate_database_error
from logchat.storage.fulltext_repo import rebuild_fulltext_index
from logchat.storage.migrate import current_revision
from logchat.storage.models import Base

# Tables that the migrations themselves fill in a new database; their rows are replaced by the
# source's. store_identity: the copy is the same store moved, so the vector index kept beside the
# database (which records the identity) stays valid for the copied rows.
SEEDED_BY_MIGRATIONS = frozenset({"store_identity"})
DEFAULT_BATCH_ROWS = 5_000

# (table name, rows copied so far, rows in all) after every batch.
CopyProgress = Callable[[str, int, int], None]


@dataclass
class CopyResult:
    rows: dict[str, int] = field(default_factory=dict)  # per table, in the order copied

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def tables_in_copy_order() -> list[Table]:
    """Every table of the metadata, parents before the tables that refer to them."""
    return list(Base.metadata.sorted_tables)


def count_rows(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables_in_copy_order()}


def tables_with_data(store: Store) -> dict[str, int]:
    """The tables holding rows a copy would collide with (those the migrations seed do not count)."""
    return {name: rows for name, rows in count_rows(store).items() if rows and name not in SEEDED_BY_MIGRATIONS}


def source_revision(store: Store) -> str | None:
    """The schema revision of a store about to be copied; a store that cannot be reached is a StoreError."""
    try:
        return current_revision(store)
    except DBAPIError as exc:
        raise StoreError(f"cannot open the source database {describe_database(store.url)}: {exc.orig}") from exc


def copy_all_rows(
    source: Store, target: Store, *, batch_rows: int = DEFAULT_BATCH_ROWS, progress: CopyProgress | None = None
) -> CopyResult:
    """Copy every table of ``source`` into ``target`` (both at the same schema revision; the target
    without data, see :func:`tables_with_data`) in one target transaction."""
    try:
        return _copy_all_rows(source, target, batch_rows, progress)
    except DBAPIError as exc:
        raise translate_database_error(exc, target.url) or StoreError(
            f"copying {describe_database(source.url)} into {describe_database(target.url)} failed: {exc.orig}",
            hint="nothing was kept in the target (the copy is one transaction): fix the cause and run it again",
        ) from exc


def _copy_all_rows(source: Store, target: Store, batch_rows: int, progress: CopyProgress | None) -> CopyResult:
    result = CopyResult()
    with _snapshot(source) as reading, target.engine.begin() as writing:
        if target.is_sqlite:
            # Take the write lock now rather than at the first insert, so a busy target fails at once.
            writing.exec_driver_sql("BEGIN IMMEDIATE")
        totals = {t.name: reading.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in tables_in_copy_order()}
        for source_table in tables_in_copy_order():
            name = source_table.name
            if name in SEEDED_BY_MIGRATIONS:
                writing.execute(source_table.delete())
            result.rows[name] = _copy_table(reading, writing, source_table, totals[name], batch_rows, progress)
            _carry_id_counter(reading, writing, source_table)
        rebuild_fulltext_index(writing)
    return result


@contextmanager
def _snapshot(store: Store) -> Iterator[Connection]:
    """A read-only connection that sees one consistent state of a store that may be in use."""
    with store.engine.connect() as conn:
        if store.dialect == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                yield conn
        else:
            # A SQLite read transaction in WAL mode keeps its snapshot until it ends. The driver only
            # opens transactions before writes, so this one is opened by hand; its first read fixes
            # the snapshot.
            with conn.begin():
                conn.exec_driver_sql("BEGIN")
                conn.exec_driver_sql("SELECT count(*) FROM sqlite_master")
                yield conn


def _stored_type(type_: TypeEngine[object]) -> TypeEngine[object]:
    """The column's type as stored: a TypeDecorator's underlying type, so values pass unconverted."""
    return type_.impl_instance if isinstance(type_, TypeDecorator) else type_  # type: ignore[return-value]


def _as_stored(source_table: Table) -> tuple[list[object], object]:
    columns = [column(c.name, _stored_type(c.type)) for c in source_table.columns]
    plain = table(source_table.name, *columns)
    selected = [plain.c[c.name] for c in source_table.columns]
    return selected, plain


def _copy_table(reading: Connection, writing: Connection, source_table: Table, total: int, batch_rows: int,
                progress: CopyProgress | None) -> int:
    selected, plain = _as_stored(source_table)
    order = [plain.c[c.name] for c in source_table.primary_key.columns]  # type: ignore[attr-defined]
    insert = plain.insert()  # type: ignore[attr-defined]
    done = 0
    if progress is not None:
        progress(source_table.name, 0, total)
    rows = reading.execution_options(yield_per=batch_rows).execute(select(*selected).order_by(*order))
    for batch in rows.partitions():
        writing.execute(insert, [row._asdict() for row in batch])
        done += len(batch)
        if progress is not None:
            progress(source_table.name, done, total)
    return done


def _single_integer_key(source_table: Table) -> str | None:
    keys = list(source_table.primary_key.columns)
    if len(keys) != 1 or not isinstance(_stored_type(keys[0].type), Integer):
        return None
    return keys[0].name


def _carry_id_counter(reading: Connection, writing: Connection, source_table: Table) -> None:
    """Set the target's id counter of this table to at least the source's high-water mark."""
    key = _single_integer_key(source_table)
    if key is None:
        return
    high = max(_id_high_water(reading, source_table.name, key),
               writing.execute(select(func.coalesce(func.max(column(key)), 0)).select_from(table(source_table.name)))
               .scalar_one())
    if writing.dialect.name == "postgresql":
        sequence = _pg_sequence(writing, source_table.name, key)
        if sequence is not None:
            # is_called=false with 1 for an empty table: the next id is 1, as in a new database.
            writing.execute(text("SELECT setval(:seq, :value, :called)"),
                            {"seq": sequence, "value": max(high, 1), "called": high > 0})
    elif writing.dialect.name == "sqlite" and high and _has_sqlite_sequence(writing, source_table.name):
        writing.execute(text("DELETE FROM sqlite_sequence WHERE name = :name"), {"name": source_table.name})
        writing.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES (:name, :seq)"),
                        {"name": source_table.name, "seq": high})


def _id_high_water(reading: Connection, table_name: str, key: str) -> int:
    """The largest id the source has ever given out in this table (beyond the rows still there)."""
    if reading.dialect.name == "postgresql":
        sequence = _pg_sequence(reading, table_name, key)
        if sequence is None:
            return 0
        last_value, called = reading.execute(text(f"SELECT last_value, is_called FROM {sequence}")).one()  # nosec B608  # name from pg_get_serial_sequence
        return int(last_value) if called else 0
    if _has_sqlite_sequence(reading, table_name):
        seq = reading.execute(text("SELECT seq FROM sqlite_sequence WHERE name = :name"), {"name": table_name}).first()
        return int(seq[0]) if seq else 0
    return 0


def _pg_sequence(conn: Connection, table_name: str, key: str) -> str | None:
    return conn.execute(text("SELECT pg_get_serial_sequence(:table, :column)"),
                        {"table": table_name, "column": key}).scalar_one()


def _has_sqlite_sequence(conn: Connection, table_name: str) -> bool:
    """True for a table declared AUTOINCREMENT (only those have a sqlite_sequence entry to keep)."""
    sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
                       {"name": table_name}).scalar_one_or_none()
    return bool(sql) and "AUTOINCREMENT" in sql.upper()
