"""Kill a running `logchat index` in the middle: once its store holds some committed events."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def committed_events(database: Path) -> int | None:
    """Events committed so far in a SQLite store; None while it cannot be read yet."""
    from sqlalchemy import create_engine, text

    if not database.exists():
        return None
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM events")).scalar() or 0
    except Exception:  # not created or migrated yet
        return None
    finally:
        engine.dispose()


def kill_once_committed(command: list[str], database: Path | Callable[[], int | None], events: int, *,
                        hang_guard: float = 120) -> int:
    """Start ``command``, SIGKILL it once ``database`` (a SQLite file, or a function counting another
    store's committed events) holds at least ``events`` events; how many it held."""
    count = database if callable(database) else lambda: committed_events(database)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    committed = 0
    deadline = time.monotonic() + hang_guard
    while time.monotonic() < deadline and process.poll() is None and committed < events:
        time.sleep(0.05)
        committed = count() or committed
    assert process.poll() is None, "the index finished before it could be interrupted"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return committed
