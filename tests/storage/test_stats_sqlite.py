"""`stat` read through plain sqlite3 gives exactly what the SQLAlchemy path gives, and steps aside when it must."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from logchat.config import load_settings
from logchat.services.ingest import index_inputs
from logchat.services.stats import StatQuery, compute_stats, compute_stats_from_sqlite_file
from logchat.storage.db import open_store

EXAMPLES = Path(__file__).resolve().parents[2] / "logchat" / "examples"

WINDOWS = [
    (None, None),
    (datetime(2026, 11, 2, 20, 30, tzinfo=UTC), datetime(2026, 11, 3, 3, 15, 10, tzinfo=UTC)),
    (datetime(2026, 11, 3, 1, 0, tzinfo=UTC), datetime(2026, 11, 3, 5, 0, tzinfo=UTC)),  # whole hours
    (datetime(2026, 11, 3, 1, 10, tzinfo=UTC), datetime(2026, 11, 3, 1, 50, tzinfo=UTC)),  # inside one hour
    (datetime(2026, 11, 3, 7, 59, 59, tzinfo=UTC), None),
    (None, datetime(2026, 11, 2, 23, 0, 1, tzinfo=UTC)),
]
FILTERS = [
    {},
    {"level": "ERROR"},
    {"level": "WARNING", "top": 3},
    {"sources": ["payments-service"]},
    {"sources": ["no-such-source"]},
    {"sources": ["%"]},  # LIKE wildcards are matched literally, as the SQLAlchemy path does
    {"hosts": ["web-01", "db-01"], "top": 1000},
    {"processes": ["sshd"]},
]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> str:
    data_dir = tmp_path_factory.mktemp("stats-sqlite") / "data"
    settings = load_settings(data_dir=data_dir)
    store = open_store(settings.database_url)
    try:
        report = index_inputs(store, settings, [str(EXAMPLES)])
        assert not report.failed and report.new_events > 3000
    finally:
        store.close()
    return settings.database_url


@pytest.mark.parametrize(("since", "until"), WINDOWS)
@pytest.mark.parametrize("filters", FILTERS)
def test_plain_read_equals_the_sqlalchemy_path(indexed: str, since, until, filters) -> None:  # type: ignore[no-untyped-def]
    query = StatQuery(since=since, until=until, **filters)
    plain = compute_stats_from_sqlite_file(indexed, query)
    assert plain is not None
    store = open_store(indexed)
    try:
        assert plain == compute_stats(store, query)
    finally:
        store.close()


def test_a_store_to_migrate_or_elsewhere_takes_the_ordinary_path(indexed: str, tmp_path: Path) -> None:
    database = Path(indexed.removeprefix("sqlite:///"))
    copy = tmp_path / "old.db"
    with sqlite3.connect(database) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0001_initial'")
    assert compute_stats_from_sqlite_file(f"sqlite:///{copy}", StatQuery()) is None
    missing = tmp_path / "missing.db"
    assert compute_stats_from_sqlite_file(f"sqlite:///{missing}", StatQuery()) is None
    assert not missing.exists()  # nothing is created by a reader
    assert compute_stats_from_sqlite_file("postgresql://nobody@127.0.0.1:1/none", StatQuery()) is None
    assert compute_stats_from_sqlite_file(f"sqlite:///{database}?timeout=20", StatQuery()) is None
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(database.read_bytes()[:4096] + b"\0" * 4096)
    assert compute_stats_from_sqlite_file(f"sqlite:///{damaged}", StatQuery()) is None


def test_stat_command_skips_sqlalchemy_and_prints_the_same(indexed: str) -> None:
    database = Path(indexed.removeprefix("sqlite:///"))
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['logchat'] + sys.argv[1:]\n"
        "try:\n    runpy.run_module('logchat', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('SQLALCHEMY=' + str('sqlalchemy' in sys.modules), file=sys.stderr)\n"
    )
    for output in (["--json"], []):
        args = ["--data-dir", str(database.parent), "stat", "--since", "2026-11-02T20:30:00Z", *output]
        fast = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120)
        assert fast.returncode == 0, fast.stderr
        assert "SQLALCHEMY=False" in fast.stderr
        # A URL with options is not read plainly: the ordinary path, through SQLAlchemy.
        ordinary = subprocess.run(
            [sys.executable, "-c", probe, "--database-url", f"sqlite:///{database}?timeout=20", *args],
            capture_output=True, text=True, timeout=120,
        )
        assert ordinary.returncode == 0, ordinary.stderr
        assert "SQLALCHEMY=True" in ordinary.stderr
        assert fast.stdout == ordinary.stdout
        if output:
            assert json.loads(fast.stdout)["total"] > 0
