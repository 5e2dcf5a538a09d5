"""Engine and session setup. Migrations are applied from code on first use.

Database failures that are about the store itself, not about the code (a damaged or foreign file, a
full disk), become one StoreError naming the database and what to do: on open, in every session,
and through translate_database_error() for the front ends' last line of defence.

The SQLite file holds every log line and the password hashes: the data directory is created 0700
and the database 0600 (SQLite gives its -wal and -shm files the database's mode); see
secure_data_dir() for an existing directory.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from logchat.errors import ConfigError, StoreError, StoreFull

# The file helpers need no SQLAlchemy (see sqlite_files); they are named here too for callers of this module.
from logchat.storage.sqlite_files import (  # noqa: F401
    _SQLITE_CORRUPT,
    _SQLITE_FULL,
    _SQLITE_NOTADB,
    QUICK_CHECK_MAX_BYTES,
    WRITE_QUICK_CHECK_MAX_BYTES,
    _primary_code,
    _quick_check,
    check_sqlite_integrity,
    corrupt_store_error,
    prepare_private_file,
    secure_data_dir,
)

_SQLITE_ACCESS = {3: "permission denied", 8: "read-only", 10: "disk I/O error", 14: "cannot open the file"}


@dataclass
class Store:
    """An open database: the engine plus a session factory. One per process."""

    engine: Engine
    url: str
    _sessions: sessionmaker[Session] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        try:
            with self._sessions() as session, session.begin():
                yield session
        except DBAPIError as exc:
            problem = translate_database_error(exc, self.url)
            if problem is None:
                raise
            raise problem from exc

    def close(self) -> None:
        self.engine.dispose()


_MMAP_BYTES = 1 << 32
# Pages of a new SQLite store. 16 KiB rather than SQLite's 4 KiB: an ingest's rows, index entries and full-text
# segments fill a quarter as many pages, and each commit copies that many fewer through the WAL and its
# checkpoints: at a million events the writer's SQLite work costs about 13% less CPU (docs/ingest.md).
PAGE_SIZE = 16384


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # Only a store being created takes it (it must come before WAL, which writes the file's first page); an
    # existing one keeps its own.
    cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")
    # WAL lets readers (stat, ask, the daemon) run while an index is writing; NORMAL is durable
    # against process crashes, which is what the checkpoint guarantee is about.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _map_file(dbapi_connection: object, _record: object) -> None:
    # Reads map the file instead of copying each page through a read() call: a question looks up tens of
    # thousands of events scattered over a store larger than the page cache (10-20% of its CPU at 1M events).
    # SQLite caps it at its own limit (2 GiB by default); past that, pages are read as before. Only for
    # short-lived readers: every page a process touches counts in its resident memory, so a writer (which
    # touches the whole store) or a long-running daemon would grow by the size of the store.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute(f"PRAGMA mmap_size={_MMAP_BYTES}")
    cursor.close()


def make_engine(url: str, *, echo: bool = False, map_file: bool = False) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"config key 'database.url': not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, echo=echo)
        event.listen(engine, "connect", _sqlite_pragmas)
        if map_file:
            event.listen(engine, "connect", _map_file)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            # psycopg 3 is the driver we ship with; plain postgresql:// would pick psycopg2.
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return create_engine(parsed, echo=echo, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise ConfigError(
                "config key 'database.url': PostgreSQL needs the 'postgres' extra: pip install 'logchat[postgres]'"
            ) from exc
    raise ConfigError(f"config key 'database.url': unsupported database {parsed.get_backend_name()!r}")


def open_store(
    url: str, *, echo: bool = False, migrate: bool = True, quick_check_max_bytes: int = QUICK_CHECK_MAX_BYTES,
    map_file: bool = False,
) -> Store:
    """Open the database at ``url`` and bring its schema to the newest migration.

    A SQLite file up to ``quick_check_max_bytes`` is checked for damage first, so a corrupt store is
    reported before anything reads wrong numbers from it or writes onto it. ``map_file``: a SQLite file is
    read through a memory map (for short-lived processes that only read, see ``_map_file``).
    """
    database = sqlite_file(url)
    if database is not None:
        prepare_private_file(database)
    engine = make_engine(url, echo=echo, map_file=map_file)
    store = Store(engine=engine, url=url)
    try:
        if database is not None and database.exists() and database.stat().st_size <= quick_check_max_bytes:
            check_sqlite_integrity(database)
        if migrate:
            from logchat.storage.migrate import upgrade_to_head

            upgrade_to_head(store)
    except DBAPIError as exc:
        engine.dispose()
        raise translate_database_error(exc, url) or StoreError(
            f"cannot open database {describe_database(url)}: {exc.orig}"
        ) from exc
    except StoreError:
        engine.dispose()
        raise
    return store


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def describe_database(url: str) -> str:
    """How a message names the store: its file for SQLite, its URL without password otherwise."""
    database = sqlite_file(url)
    return str(database) if database is not None else safe_url(url)


def translate_database_error(exc: BaseException, url: str) -> StoreError | None:
    """A StoreError for a failure of the store itself; None for anything else (a bug, shown as such).

    Damage is told apart from bugs by SQLite's own result code and, when that is not conclusive,
    by running quick_check on the file.
    """
    original = getattr(exc, "orig", exc)
    database = sqlite_file(url)
    if database is None:
        return _translate_server_error(original, url)
    if not isinstance(original, sqlite3.Error):
        return None
    code = _primary_code(original)
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return corrupt_store_error(database, str(original))
    if code == _SQLITE_FULL:
        return StoreFull(
            f"{database}: the disk is full ({original}); everything committed before is kept",
            hint="free some space, then run the command again: it resumes where it stopped",
        )
    if code in _SQLITE_ACCESS:
        return StoreError(f"cannot use the database {database}: {original}")
    if isinstance(original, sqlite3.DatabaseError) and database.exists():
        problems = _quick_check(database)
        if problems:
            return corrupt_store_error(database, problems[0])
    return None


def _translate_server_error(original: BaseException, url: str) -> StoreError | None:
    # PostgreSQL: SQLSTATE class 53 is "insufficient resources" (53100 disk full).
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate == "53100":
        return StoreFull(
            f"database {safe_url(url)}: the disk is full ({original}); everything committed before is kept"
        )
    return None


def safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid url>"
