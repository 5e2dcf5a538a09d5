"""Starting a transaction as a writer, and telling a busy database from a broken one.

Both backends make a transaction wait for a lock held by another one; these helpers bound that
wait and turn running out of it into StoreBusy (one clear line), never a driver traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from logchat.errors import StoreBusy

# As long as SQLite's busy_timeout (storage/db.py): a writer waits this long for another one.
WRITE_WAIT_SECONDS = 10

_SQLITE_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_PG_LOCK_NOT_AVAILABLE = "55P03"
# session.info key: the transaction that begin_write already made a writer.
_WRITER_KEY = "logchat.write_transaction"


def begin_write(session: Session) -> None:
    """Make ``session``'s transaction a writer from its first statement; call it before anything else.

    On SQLite this takes the database write lock now (``BEGIN IMMEDIATE``), so that what the
    transaction reads stays true until it commits: no other writer can commit in between. The
    Python driver (pysqlite) only opens a transaction lazily, right before the first INSERT, UPDATE
    or DELETE, so a check made with SELECTs first would otherwise read outside any transaction;
    it lets an explicit BEGIN through and then commits and rolls back that transaction as its own
    (CPython bpo-28518), which is what SQLAlchemy's session calls. On PostgreSQL a transaction
    always starts with its first statement; this only bounds how long it waits for locks.

    Calling it again in the same transaction does nothing, so helpers that need the write lock can
    ask for it whether or not their caller already did.
    """
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_WRITER_KEY) is transaction:
        return
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("BEGIN IMMEDIATE"))
    else:
        session.execute(text(f"SET LOCAL lock_timeout = '{WRITE_WAIT_SECONDS}s'"))
    session.info[_WRITER_KEY] = session.get_transaction()


def begin_sqlite_write(session: Session) -> None:
    """On SQLite, :func:`begin_write`; on PostgreSQL nothing (its callers take an advisory lock instead)."""
    if session.get_bind().dialect.name == "sqlite":
        begin_write(session)


@contextmanager
def busy_means_try_again(what: str) -> Iterator[None]:
    """Turn "waited too long for a lock" anywhere in the block (commit included) into StoreBusy.

    Put it outside the session's context manager, so that the commit happens inside it."""
    try:
        yield
    except OperationalError as exc:
        if is_lock_timeout(exc):
            raise busy_error(what) from exc
        raise


def busy_error(what: str) -> StoreBusy:
    return StoreBusy(
        f"cannot {what}: the database is busy (another process kept it locked for {WRITE_WAIT_SECONDS}s)",
        hint="try again in a moment",
    )


def is_lock_timeout(exc: OperationalError) -> bool:
    """True when ``exc`` means "waited too long for a lock" rather than a broken database."""
    orig = exc.orig
    if getattr(orig, "sqlite_errorcode", None) in _SQLITE_BUSY_CODES:
        return True
    return getattr(orig, "sqlstate", None) == _PG_LOCK_NOT_AVAILABLE
