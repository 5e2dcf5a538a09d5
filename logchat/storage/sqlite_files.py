"""The SQLite file itself, without SQLAlchemy: private modes for the data directory and the database,
and the open-time damage check. `stat` reads a current store through plain sqlite3 (see stats_sqlite)
and needs these without paying for the SQLAlchemy import.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from logchat.errors import StoreCorrupt, StoreError

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
