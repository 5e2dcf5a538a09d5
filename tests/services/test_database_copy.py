"""Copying a store: what is refused (a target with data, a source behind the schema, the same database,
a source that is not there) and what an interrupted copy leaves behind (nothing: run it again).

The source is the shared small store on SQLite and on PostgreSQL; the target a SQLite file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from logchat.errors import Conflict, NotFound, UsageError
from logchat.services.database import copy_database
from logchat.storage.copy import count_rows, tables_with_data
from logchat.storage.db import open_store
from logchat.storage.migrate import alembic_config, current_revision


class Interrupted(Exception):
    pass


def test_an_interrupted_copy_leaves_the_target_empty_and_can_be_run_again(  # type: ignore[no-untyped-def]
    small_store, settings, tmp_path: Path
) -> None:
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    seen: list[tuple[str, int]] = []

    def stop_in_events(table: str, done: int, total: int) -> None:
        seen.append((table, done))
        if table == "events" and done > 0:
            raise Interrupted  # as a Ctrl-C or a lost connection would, halfway through the copy

    with pytest.raises(Interrupted):
        copy_database(settings, target_url, batch_rows=3, progress=stop_in_events)
    assert ("events", 3) in seen and ("sources", 1) in seen  # tables before events were written
    target = open_store(target_url)
    try:
        assert tables_with_data(target) == {}
    finally:
        target.close()

    summary = copy_database(settings, target_url, batch_rows=3)
    assert summary["tables"]["events"] == 7
    target = open_store(target_url)
    try:
        copied = count_rows(target)
    finally:
        target.close()
    assert copied == count_rows(small_store) | {"audit_log": count_rows(small_store)["audit_log"] + 1}


def test_a_target_with_data_is_refused_and_left_as_it_is(small_store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    copy_database(settings, target_url)
    target = open_store(target_url)
    try:
        before = count_rows(target)
    finally:
        target.close()
    with pytest.raises(Conflict, match=r"target\.db is not empty \(.*events: 7 rows") as info:
        copy_database(settings, target_url)
    assert "new, empty database" in (info.value.hint or "")
    target = open_store(target_url)
    try:
        assert count_rows(target) == before
    finally:
        target.close()


def test_a_source_behind_the_schema_is_refused_unchanged(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from alembic import command

    old = tmp_path / "old.db"
    source = open_store(f"sqlite:///{old}", migrate=False)
    try:
        with source.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0007_audit")
    finally:
        source.close()
    target = tmp_path / "target.db"
    with pytest.raises(Conflict, match=r"old\.db is at schema revision 0007_audit") as info:
        copy_database(settings, f"sqlite:///{target}", source_url=f"sqlite:///{old}")
    assert "logchat db upgrade" in (info.value.hint or "")
    source = open_store(f"sqlite:///{old}", migrate=False)
    try:
        assert current_revision(source) == "0007_audit"
    finally:
        source.close()
    assert not target.exists()


def test_copying_onto_itself_or_from_nowhere_is_refused(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="names the database being copied"):
        copy_database(settings, settings.database_url)
    missing = tmp_path / "typo.db"
    with pytest.raises(NotFound, match=r"typo\.db does not exist"):
        copy_database(settings, f"sqlite:///{tmp_path / 'target.db'}", source_url=f"sqlite:///{missing}")
    assert not missing.exists()


def test_a_backup_is_a_complete_store_and_never_migrates_its_source(small_store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from logchat.services.database import backup_database

    backup = tmp_path / "backup.db"
    if not small_store.is_sqlite:
        with pytest.raises(UsageError, match="on PostgreSQL") as info:
            backup_database(settings, backup)
        assert "pg_dump" in (info.value.hint or "") and not backup.exists()
        return
    result = backup_database(settings, backup)
    assert result["bytes"] == backup.stat().st_size and backup.stat().st_mode & 0o077 == 0
    restored = open_store(f"sqlite:///{backup}", migrate=False)
    try:
        assert count_rows(restored) == count_rows(small_store)
    finally:
        restored.close()
    with pytest.raises(Conflict, match="already exists"):
        backup_database(settings, backup)


def test_a_backup_keeps_the_schema_it_was_taken_at(tmp_path: Path) -> None:
    from alembic import command

    from logchat.config import load_settings
    from logchat.services.database import backup_database

    old = tmp_path / "old.db"
    source = open_store(f"sqlite:///{old}", migrate=False)
    try:
        with source.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0007_audit")
    finally:
        source.close()
    result = backup_database(load_settings(data_dir=tmp_path, database={"url": f"sqlite:///{old}"}),
                             tmp_path / "before-upgrade.db")
    assert result["revision"] == "0007_audit"
    for path in (old, tmp_path / "before-upgrade.db"):
        store = open_store(f"sqlite:///{path}", migrate=False)
        try:
            assert current_revision(store) == "0007_audit"
        finally:
            store.close()


def test_a_bad_or_unreachable_url_is_one_clear_error_without_its_password(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from logchat.errors import StoreError

    with pytest.raises(UsageError, match="--to: not a database URL"):
        copy_database(settings, "logchat.db")
    with pytest.raises(UsageError, match="--to: unsupported database 'mysql'"):
        copy_database(settings, "mysql://ops:hunter2@db/logchat")
    # Port 1 on the loopback: nothing listens there, the connection is refused at once.
    unreachable = "postgresql://ops:hunter2@127.0.0.1:1/x"
    with pytest.raises(StoreError, match=r"cannot open the source database postgresql://ops:\*\*\*@127\.0\.0\.1:1/x"
                       ) as info:
        copy_database(settings, f"sqlite:///{tmp_path / 'target.db'}", source_url=unreachable)
    assert "hunter2" not in str(info.value)
    assert not (tmp_path / "target.db").exists()


def test_the_copy_is_one_snapshot_of_a_source_being_written(small_store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from logchat.storage.models import Template

    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    tables_seen: list[str] = []

    def write_to_the_source_meanwhile(table: str, done: int, total: int) -> None:
        if not tables_seen:
            # Committed by another connection after the copy began, into a table not copied yet.
            with small_store.session() as session:
                session.add(Template(id=999_999, template="written during the copy", count=0))
        tables_seen.append(table)

    copy_database(settings, target_url, progress=write_to_the_source_meanwhile)
    assert tables_seen.index("templates") > 0
    target = open_store(target_url)
    try:
        assert count_rows(target)["templates"] == count_rows(small_store)["templates"] - 1
    finally:
        target.close()
