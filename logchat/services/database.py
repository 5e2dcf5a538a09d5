"""Use case: schema management and moving a store (`logchat db`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logchat.config import Settings
from logchat.errors import Conflict, NotFound, UsageError
from logchat.storage.db import describe_database as name_of_database
from logchat.storage.db import open_store, safe_url, sqlite_file
from logchat.storage.migrate import current_revision, head_revision, upgrade_to_head

if TYPE_CHECKING:
    from logchat.storage.copy import CopyProgress


def upgrade_database(settings: Settings) -> tuple[bool, str]:
    store = open_store(settings.database_url, migrate=False)
    try:
        ran = upgrade_to_head(store)
        return ran, current_revision(store) or ""
    finally:
        store.close()


def describe_database(settings: Settings) -> dict[str, Any]:
    store = open_store(settings.database_url, migrate=False)
    try:
        return {"url": safe_url(settings.database_url), "current": current_revision(store), "head": head_revision()}
    finally:
        store.close()


def backup_database(settings: Settings, destination: Path) -> dict[str, Any]:
    """Write a consistent copy of the SQLite store to a new file, while it may be in use."""
    from logchat.storage.backup import backup_sqlite

    store = open_store(settings.database_url, migrate=False)
    try:
        started = time.perf_counter()
        size = backup_sqlite(store, destination)
        revision = current_revision(store)
    finally:
        store.close()
    return {"from": name_of_database(settings.database_url), "to": str(destination), "bytes": size,
            "revision": revision, "seconds": round(time.perf_counter() - started, 3)}


def copy_database(
    settings: Settings, target_url: str, *, source_url: str | None = None, batch_rows: int | None = None,
    progress: CopyProgress | None = None,
) -> dict[str, Any]:
    """Copy the whole store at ``source_url`` (default: the configured one) into the empty database at
    ``target_url``, whose schema is first brought to the newest revision.

    The source is only read, and must be at the newest revision (``logchat db upgrade`` first). A target
    holding data is refused. Everything is written in one transaction: an interrupted copy leaves the
    target empty, and running the command again is all it takes.
    """
    from logchat.services import audit
    from logchat.storage.copy import DEFAULT_BATCH_ROWS, copy_all_rows, tables_with_data

    _require_database_url(target_url, "--to")
    if source_url:
        _require_database_url(source_url, "--from")
    source_url = source_url or settings.database_url
    if _same_database(source_url, target_url):
        raise UsageError(f"--to names the database being copied ({name_of_database(source_url)}): give another one")
    source_file = sqlite_file(source_url)
    if source_file is not None and not source_file.is_file():
        # Opening it would create an empty database where the user meant an existing one.
        raise NotFound(f"the source database {source_file} does not exist")
    started = time.perf_counter()
    source = open_store(source_url, migrate=False)
    try:
        _require_current_schema(source)
        target = open_store(target_url)
        try:
            occupied = tables_with_data(target)
            if occupied:
                listed = ", ".join(f"{name}: {rows:,} rows" for name, rows in occupied.items())
                raise Conflict(
                    f"the target database {name_of_database(target_url)} is not empty ({listed})",
                    hint="copy into a new, empty database (or drop this one's tables first)",
                )
            result = copy_all_rows(source, target, batch_rows=batch_rows or DEFAULT_BATCH_ROWS, progress=progress)
            audit.record(target, "db.copy", target=name_of_database(source_url),
                         detail={"rows": result.total_rows, "revision": head_revision()})
        finally:
            target.close()
    finally:
        source.close()
    return {
        "from": name_of_database(source_url),
        "to": name_of_database(target_url),
        "revision": head_revision(),
        "tables": result.rows,
        "total_rows": result.total_rows,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _require_database_url(url: str, option: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise UsageError(f"{option}: not a database URL: {safe_url(url)!r}",
                         hint="give sqlite:////path/to/file.db or postgresql://user@host/database") from None
    if backend not in ("sqlite", "postgresql"):
        raise UsageError(f"{option}: unsupported database {backend!r}: logchat stores run on SQLite and PostgreSQL")


def _require_current_schema(source: Any) -> None:
    from logchat.storage.copy import source_revision

    where = name_of_database(source.url)
    revision = source_revision(source)
    if revision is None:
        raise Conflict(f"the source database {where} holds no logchat store (no schema revision)")
    if revision != head_revision():
        raise Conflict(
            f"the source database {where} is at schema revision {revision}; this logchat copies {head_revision()}",
            hint="bring it up to date first: logchat db upgrade (with database.url naming it), then copy again",
        )


def _same_database(first: str, second: str) -> bool:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        a, b = make_url(first), make_url(second)
    except ArgumentError:
        return False
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        return bool(a.database) and bool(b.database) and Path(a.database).resolve() == Path(b.database).resolve()
    return a.set(drivername=a.get_backend_name()) == b.set(drivername=b.get_backend_name())
