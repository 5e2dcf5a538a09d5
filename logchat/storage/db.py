"""Engine and session setup. Migrations are applied from code on first use.

Database failures that are about the store itself, not about the code (a damaged or foreign file, a
full disk), become one StoreError naming the database and what to do: on open, in every session,
and through translate_database_error() for the front ends' last line of defence.

The SQLite file holds every log line and the password hashes: the data directory is created 0700
and the database 0600 (SQLite gives its -wal and -shm files the database's mode); see
secure_data_dir() for an existing directory.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from logchat.errors import ConfigError, StoreCorrupt, StoreError, StoreFull

# PRAGMA quick_check reads every page: about 3 ms per MB here (0.08 s for a 100k-event, 33 MB store;
# 1.0 s for a 1M-event, 317 MB store, warm cache). Opening runs it up to this size (about 0.2 s);
# the error path always.
QUICK_CHECK_MAX_BYTES = 64 << 20
# Before writing (index, reload) a larger file is worth checking (up to about 1.6 s): writing onto
# damage spreads it.
WRITE_QUICK_CHECK_MAX_BYTES = 512 << 20
_PRIVATE_FILE = 0o600
_PRIVATE_DIR = 0o700
# Primary SQLite result codes (the low byte of an extended code).
_SQLITE_FULL, _SQLITE_CORRUPT, _SQLITE_NOTADB = 13, 11, 26
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


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL lets readers (stat, ask, the daemon) run while an index is writing; NORMAL is durable
    # against process crashes, which is what the checkpoint guarantee is about.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"config key 'database.url': not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, echo=echo)
        event.listen(engine, "connect", _sqlite_pragmas)
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
    url: str, *, echo: bool = False, migrate: bool = True, quick_check_max_bytes: int = QUICK_CHECK_MAX_BYTES
) -> Store:
    """Open the database at ``url`` and bring its schema to the newest migration.

    A SQLite file up to ``quick_check_max_bytes`` is checked for damage first, so a corrupt store is
    reported before anything reads wrong numbers from it or writes onto it.
    """
    database = sqlite_file(url)
    if database is not None:
        prepare_private_file(database)
    engine = make_engine(url, echo=echo)
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


# What logchat itself keeps in a data directory; a directory holding only these is logchat's own.
_DATA_DIR_ENTRIES = ("logchat.db", "vectors", "jwt-secret", "ingest.lock", "ask-vocabulary.json")


def secure_data_dir(data_dir: Path) -> list[str]:
    """Create the data directory 0700; tighten one that holds only logchat's files. Returns notices.

    A looser directory that holds other files too (say --data-dir pointing at a shared folder) is
    left alone with a notice: changing it could break whoever else uses it, and the files logchat
    keeps there are 0600 anyway.
    """
    try:
        if not data_dir.exists():
            data_dir.parent.mkdir(parents=True, exist_ok=True)
            data_dir.mkdir(mode=_PRIVATE_DIR, exist_ok=True)
        mode = stat.S_IMODE(data_dir.stat().st_mode)
        if not mode & (stat.S_IRWXG | stat.S_IRWXO):
            return []
        if data_dir.stat().st_uid == os.geteuid() and all(
            entry.name.startswith(_DATA_DIR_ENTRIES) or entry.name.startswith(".") for entry in data_dir.iterdir()
        ):
            data_dir.chmod(_PRIVATE_DIR)
            return []
    except OSError as exc:
        # Not fatal here: a PostgreSQL store may not need the directory; whatever does says so itself.
        return [f"cannot create or secure the data directory {data_dir}: {exc.strerror}"]
    return [
        f"the data directory {data_dir} is open to other users (mode {mode:04o}) and holds other files, so it "
        f"was left as it is; logchat's files in it are private (0600). To close it: chmod 700 {data_dir}"
    ]


def prepare_private_file(database: Path) -> None:
    """Create the SQLite file 0600 (and a missing directory for it 0700); tighten an older 0644 file."""
    try:
        if not database.parent.exists():
            database.parent.parent.mkdir(parents=True, exist_ok=True)
            database.parent.mkdir(mode=_PRIVATE_DIR, exist_ok=True)
        if not database.exists():
            # Created 0600 before SQLite opens it: SQLite then gives -wal and -shm the same mode.
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_FILE))
    except FileExistsError:
        pass  # another process created it first, with the same mode
    except OSError as exc:
        raise StoreError(f"cannot create the database {database}: {exc.strerror}") from exc
    for path in (database, *(database.with_name(database.name + suffix) for suffix in ("-wal", "-shm"))):
        _make_private(path)


def _make_private(path: Path) -> None:
    try:
        info = path.stat()
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO) and info.st_uid == os.geteuid():
            path.chmod(_PRIVATE_FILE)
    except OSError:
        pass  # not there (no -wal yet) or not ours: nothing to tighten


def check_sqlite_integrity(database: Path) -> None:
    """Raise StoreCorrupt when ``PRAGMA quick_check`` finds damage (or the file is not SQLite)."""
    problems = _quick_check(database)
    if problems:
        raise corrupt_store_error(database, problems[0])


def _quick_check(database: Path) -> list[str]:
    """What quick_check reports wrong, or [] for a sound file. Its own connection: no pragmas, no pool."""
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error:
        return []  # cannot open at all: the caller's own error says why
    try:
        rows = [str(row[0]) for row in connection.execute("PRAGMA quick_check(3)")]
    except sqlite3.DatabaseError as exc:
        if _primary_code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return [str(exc)]
        return []  # busy, locked, I/O: not evidence of damage
    finally:
        connection.close()
    return [] if rows == ["ok"] else rows


def corrupt_store_error(database: Path | str, detail: str) -> StoreCorrupt:
    return StoreCorrupt(
        f"{database} is not a logchat database or is corrupt ({detail})",
        hint="restore it from a backup, or move it away and index the logs again",
    )


def _primary_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


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
