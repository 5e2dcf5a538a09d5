"""Engine and session setup. Migrations are applied from code on first use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from logchat.errors import ConfigError, StoreError


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
        with self._sessions() as session, session.begin():
            yield session

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
        database = parsed.database
        if database and database != ":memory:":
            try:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create data directory {Path(database).parent}: {exc.strerror}") from exc
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


def open_store(url: str, *, echo: bool = False, migrate: bool = True) -> Store:
    """Open the database at ``url`` and bring its schema to the newest migration."""
    engine = make_engine(url, echo=echo)
    store = Store(engine=engine, url=url)
    if migrate:
        from logchat.storage.migrate import upgrade_to_head

        try:
            upgrade_to_head(store)
        except OperationalError as exc:
            engine.dispose()
            raise StoreError(f"cannot open database {safe_url(url)}: {exc.orig}") from exc
    return store


def safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid url>"
