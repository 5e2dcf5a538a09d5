"""A consistent copy of a SQLite store in one file, taken while the store is in use.

``VACUUM INTO`` reads the database in one read transaction (so it sees one committed state, whatever
is being written meanwhile) and writes a compacted file with no -wal beside it: the file alone is
the backup. PostgreSQL has its own tools for this (pg_dump), which the caller is pointed to.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text

from logchat.errors import Conflict, StoreError, UsageError
from logchat.storage.db import Store, check_sqlite_integrity


def backup_sqlite(store: Store, destination: Path) -> int:
    """Write the store to ``destination`` (a new file, 0600). Returns its size in bytes."""
    if not store.is_sqlite:
        raise UsageError(
            "logchat db backup copies a SQLite store; this store is on PostgreSQL",
            hint="use pg_dump --format=custom (see docs/maintenance.md), or logchat db copy --to sqlite:///FILE",
        )
    try:
        # Created empty and private first: VACUUM INTO accepts an empty file, and the backup holds
        # every log line and the password hashes.
        os.close(os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise Conflict(f"{destination} already exists: give a new file name") from None
    except OSError as exc:
        raise StoreError(f"cannot create the backup file {destination}: {exc.strerror}") from exc
    try:
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM INTO :path"), {"path": str(destination)})
        check_sqlite_integrity(destination)
    except BaseException:
        destination.unlink(missing_ok=True)  # a half-written backup must not pass for a good one
        raise
    return destination.stat().st_size
