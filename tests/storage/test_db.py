"""Opening the store: damage and full disks become one StoreError naming the file; files are private."""

from __future__ import annotations

import os
import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text

from logchat.config import load_settings
from logchat.errors import StoreCorrupt, StoreFull
from logchat.services.ingest import index_inputs
from logchat.storage.db import PAGE_SIZE, open_store, secure_data_dir

LINES = [
    f"Nov  3 10:{i // 60 % 60:02d}:{i % 60:02d} web-{i % 4:02d} sshd[{100 + i}]: Failed password for user{i % 97} "
    f"from 10.0.{i % 250}.{i % 200} port {4000 + i} ssh2"
    for i in range(3000)
]
REMEDY = "restore it from a backup, or move it away and index the logs again"


def build_store(tmp_path: Path) -> Path:
    """A real store of 3,000 events; returns the database file."""
    log = tmp_path / "auth.log"
    log.write_text("".join(line + "\n" for line in LINES))
    settings = load_settings(data_dir=tmp_path / "data")
    store = open_store(settings.database_url)
    try:
        assert index_inputs(store, settings, [str(log)]).new_events == len(LINES)
    finally:
        store.close()
    return tmp_path / "data" / "logchat.db"


def damage_middle(database: Path) -> None:
    """Overwrite whole pages in the middle of the file, as a bad disk or a stray write would."""
    size = database.stat().st_size
    with database.open("r+b") as handle:
        for fraction in (0.3, 0.5, 0.7, 0.9):
            handle.seek(int(size * fraction) // 4096 * 4096)
            handle.write(b"\xa5" * 4096 * 2)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "bad header"])
def test_a_file_that_is_not_a_sound_database_is_named_with_the_remedy(tmp_path: Path, damage: str) -> None:
    database = build_store(tmp_path)
    if damage == "garbage":
        database.write_bytes(bytes(range(256)) * 40)
    elif damage == "truncated":
        with database.open("r+b") as handle:
            handle.truncate(database.stat().st_size // 3)
    else:
        with database.open("r+b") as handle:
            handle.write(b"NOT SQLITE FORMAT")
    with pytest.raises(StoreCorrupt) as caught:
        open_store(f"sqlite:///{database}")
    assert str(caught.value).startswith(f"{database} is not a logchat database or is corrupt (")
    assert caught.value.hint == REMEDY
    assert caught.value.exit_code == 1


def test_damage_in_the_middle_is_found_on_open_by_quick_check(tmp_path: Path) -> None:
    database = build_store(tmp_path)
    damage_middle(database)
    with pytest.raises(StoreCorrupt) as caught:
        open_store(f"sqlite:///{database}")
    assert str(caught.value).startswith(f"{database} is not a logchat database or is corrupt")


def test_damage_met_by_a_query_is_reported_as_corruption(tmp_path: Path) -> None:
    # A store too big to check on open (here: any size) still turns "malformed" into the clear error.
    database = build_store(tmp_path)
    damage_middle(database)
    store = open_store(f"sqlite:///{database}", quick_check_max_bytes=0)
    try:
        with pytest.raises(StoreCorrupt) as caught, store.session() as session:
            session.execute(text("SELECT count(*), sum(length(raw)) FROM events")).one()
            session.execute(text("SELECT count(*) FROM events_fts WHERE events_fts MATCH 'password'")).one()
    finally:
        store.close()
    assert caught.value.hint == REMEDY
    assert str(database) in str(caught.value)


def test_a_full_disk_is_store_full_and_earlier_commits_stay(tmp_path: Path) -> None:
    database = build_store(tmp_path)
    store = open_store(f"sqlite:///{database}")
    try:
        with pytest.raises(StoreFull) as caught, store.session() as session:
            # SQLite's own page limit: writing past it fails with SQLITE_FULL exactly as on a full disk.
            pages = session.execute(text("PRAGMA page_count")).scalar()
            session.execute(text(f"PRAGMA max_page_count = {pages}"))
            session.execute(text("CREATE TABLE filler (x BLOB)"))
            session.execute(text("INSERT INTO filler VALUES (zeroblob(1000000))"))
    finally:
        store.close()
    assert str(caught.value).startswith(f"{database}: the disk is full (database or disk is full)")
    reopened = open_store(f"sqlite:///{database}")
    try:
        with reopened.session() as session:
            assert session.execute(text("SELECT count(*) FROM events")).scalar() == len(LINES)
    finally:
        reopened.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_and_its_wal_files_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "data"
    assert secure_data_dir(data_dir) == []
    store = open_store(f"sqlite:///{data_dir / 'logchat.db'}")
    try:
        with store.session() as session:
            session.execute(text("CREATE TABLE t (x)"))
        with store.engine.connect():  # keep a connection: the -wal and -shm files exist while it is open
            assert mode(data_dir) == 0o700
            for name in ("logchat.db", "logchat.db-wal", "logchat.db-shm"):
                assert mode(data_dir / name) == 0o600, name
    finally:
        store.close()


def test_an_older_world_readable_store_is_tightened(tmp_path: Path) -> None:
    database = build_store(tmp_path)
    database.chmod(0o644)
    (tmp_path / "data").chmod(0o755)
    assert secure_data_dir(tmp_path / "data") == []  # holds only logchat's files: made private
    open_store(f"sqlite:///{database}").close()
    assert mode(tmp_path / "data") == 0o700
    assert mode(database) == 0o600


def test_a_shared_data_directory_is_left_alone_with_a_notice(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    (shared / "README.txt").write_text("not ours\n")
    notices = secure_data_dir(shared)
    assert len(notices) == 1 and f"chmod 700 {shared}" in notices[0] and "mode 0755" in notices[0]
    assert mode(shared) == 0o755
    open_store(f"sqlite:///{shared / 'logchat.db'}").close()
    assert mode(shared / "logchat.db") == 0o600


def test_umask_is_not_what_makes_the_database_private(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        open_store(f"sqlite:///{tmp_path / 'fresh' / 'logchat.db'}").close()
    finally:
        os.umask(old)
    assert mode(tmp_path / "fresh") == 0o700
    assert mode(tmp_path / "fresh" / "logchat.db") == 0o600


def test_readers_map_the_database_file_and_writers_do_not(tmp_path: Path) -> None:
    # A question reads events scattered over the whole file: mapped pages are read without a copy per page.
    # A writer touches the whole store, and every mapped page it touched would count in its resident memory.
    database = build_store(tmp_path)
    reader = open_store(f"sqlite:///{database}", map_file=True)
    writer = open_store(f"sqlite:///{database}")
    try:
        with reader.session() as session:
            assert session.execute(text("PRAGMA mmap_size")).scalar() > database.stat().st_size
            assert session.execute(text("SELECT count(*) FROM events")).scalar() == len(LINES)
        with writer.session() as session:
            assert session.execute(text("PRAGMA mmap_size")).scalar() == 0
    finally:
        reader.close()
        writer.close()


def test_a_new_store_has_large_pages_and_an_older_store_keeps_its_own(tmp_path: Path) -> None:
    database = build_store(tmp_path)
    with closing(sqlite3.connect(database)) as connection:
        assert connection.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 16384
    # A store made with SQLite's default pages (as logchat made them before) is read and written as it is.
    older = tmp_path / "older"
    older.mkdir()
    with closing(sqlite3.connect(database, isolation_level=None)) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")
        connection.execute("PRAGMA page_size=4096")
        connection.execute("VACUUM")
    os.replace(database, older / "logchat.db")
    log = tmp_path / "more.log"
    log.write_text("Nov  4 09:00:00 web-01 sshd[7]: Accepted password for deploy from 10.1.2.3 port 22 ssh2\n")
    settings = load_settings(data_dir=older)
    store = open_store(settings.database_url)
    try:
        assert index_inputs(store, settings, [str(log)]).new_events == 1
        with store.session() as session:
            assert session.execute(text("PRAGMA page_size")).scalar() == 4096
            assert session.execute(text("SELECT count(*) FROM events")).scalar() == len(LINES) + 1
            matched = "SELECT count(*) FROM events_fts WHERE events_fts MATCH 'accepted OR failed'"
            assert session.execute(text(matched)).scalar() == len(LINES) + 1
    finally:
        store.close()
