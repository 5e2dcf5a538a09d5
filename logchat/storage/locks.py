"""The ingest lock: one writer of events at a time, across processes (and machines on PostgreSQL)."""

from __future__ import annotations

import fcntl
import os
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import text

from logchat.errors import StoreBusy
from logchat.storage.db import Store

_POLL_SECONDS = 0.2
# Lock files this process holds, so a forked child can drop its inherited copies.
_held_fds: set[int] = set()


def close_inherited_locks() -> None:
    """In a forked child: close the lock file descriptors inherited from the parent."""
    for fd in list(_held_fds):
        with suppress(OSError):
            os.close(fd)
    _held_fds.clear()


@contextmanager
def ingest_lock(store: Store, data_dir: Path, *, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the ingest lock; wait up to ``wait_seconds`` for it, then raise StoreBusy."""
    if store.dialect == "postgresql":
        with _advisory_lock(store, wait_seconds):
            yield
    else:
        with _file_lock(data_dir / "ingest.lock", wait_seconds):
            yield


def _busy(where: str, waited: float) -> StoreBusy:
    waited_text = f" after waiting {waited:.0f}s" if waited else ""
    return StoreBusy(
        f"another logchat index/reload is writing to this store ({where}){waited_text}",
        hint="try again when it finishes, or pass --wait SECONDS",
    )


@contextmanager
def _file_lock(path: Path, wait_seconds: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                # flock is released by the kernel when the process dies, so a killed index never
                # leaves a stale lock behind.
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _busy(f"lock file {path}", wait_seconds) from None
                time.sleep(_POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _held_fds.add(fd)
        try:
            yield
        finally:
            _held_fds.discard(fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def _advisory_lock(store: Store, wait_seconds: float) -> Iterator[None]:
    # A session-level advisory lock on its own connection: released if the process dies. Advisory
    # locks are per database, so the key includes the schema: two stores in one database do not
    # block each other.
    with store.engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar() or "public"
        key = zlib.crc32(f"logchat-ingest:{schema}".encode())
        deadline = time.monotonic() + wait_seconds
        while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            conn.rollback()
            if time.monotonic() >= deadline:
                raise _busy("PostgreSQL advisory lock", wait_seconds)
            time.sleep(_POLL_SECONDS)
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
