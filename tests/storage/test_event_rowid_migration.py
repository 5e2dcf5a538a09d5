"""Migration 0013 makes events.id SQLite's rowid on a store with data, and changes no answer.

The store is filled at the revision before 0013 with the shipped example logs, then migrated (and,
on SQLite, migrated back down and up again): ids, the full-text index, the id counter and the
answers to the same questions must come out as they went in. PostgreSQL keeps its table as it is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from logchat.storage.db import Store, open_store
from logchat.storage.migrate import alembic_config, current_revision, head_revision, upgrade_to_head

EXAMPLES = Path(__file__).resolve().parents[2] / "logchat" / "examples"
REVISION = "0013_sqlite_event_rowid"
NOW = datetime(2026, 11, 10, tzinfo=UTC)
QUESTIONS = [
    "how many failed password attempts for root?",
    "errors on web-03",
    "which IPs had the most failed logins?",
    "why did the payment gateway return 502?",
]
SEARCHES = ["failed password", "gateway", "root", "timeout", "502"]


def _before_revision(store: Store) -> str:
    from alembic.script import ScriptDirectory

    with store.engine.connect() as conn:
        down = ScriptDirectory.from_config(alembic_config(conn)).get_revision(REVISION).down_revision
    assert isinstance(down, str)
    return down


def _migrate(store: Store, command_name: str, revision: str) -> None:
    from alembic import command

    with store.engine.begin() as conn:
        if store.is_sqlite:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        getattr(command, command_name)(alembic_config(conn), revision)


def _snapshot(store: Store, settings: Any) -> dict[str, Any]:
    """What a user can see of the events: every row, search hits and counts, answers, the id counter."""
    from logchat.retrieval.fulltext import parse_text_query, resolve_query
    from logchat.services.ask import AskRequest, ask
    from logchat.storage import fulltext_repo

    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, source_id, line_no, ts, level, host, process, template_id, message, "
                "raw, fields FROM events ORDER BY id"
            )
        ).all()
        id_high = conn.execute(text("SELECT event_id_high FROM store_identity")).scalar()
    searches = {}
    with store.session() as session:
        for words in SEARCHES:
            resolved = resolve_query(session, parse_text_query(words))
            hits = fulltext_repo.search_events(session, resolved, [], 50)
            searches[words] = (fulltext_repo.count_matches(session, resolved, []), hits)
    answers = []
    for question in QUESTIONS:
        answer = ask(store, settings, AskRequest(question, now=NOW, use_llm=False)).to_json()
        answer.pop("timings_ms", None)
        answers.append(answer)
    return {"rows": [tuple(row) for row in rows], "id_high": id_high, "searches": searches, "answers": answers}


def _declared_id_type(store: Store) -> str:
    with store.engine.connect() as conn:
        columns = conn.exec_driver_sql("PRAGMA table_info(events)").all()
    return next(str(column[2]) for column in columns if column[1] == "id")


def _assert_sound_sqlite_table(store: Store, *, rowid: bool) -> None:
    with store.engine.connect() as conn:
        indexes = {
            row[0]
            for row in conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL")
            )
        }
        # Raises if the full-text index and the events it points at disagree.
        conn.exec_driver_sql("INSERT INTO events_fts(events_fts, rank) VALUES ('integrity-check', 1)")
        violations = conn.exec_driver_sql("PRAGMA foreign_key_check(events)").all()
    assert indexes == {"ix_events_ts", "ix_events_template_ts"}
    assert violations == []
    # SQLite makes a primary key column its rowid only when it is declared exactly INTEGER.
    assert _declared_id_type(store) == ("INTEGER" if rowid else "BIGINT")


def _index(store: Store, settings: Any, *paths: Path) -> None:
    from logchat.services.ingest import index_inputs

    assert not index_inputs(store, settings, [str(path) for path in paths]).failed


def test_event_ids_become_the_rowid_and_every_answer_stays_the_same(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from logchat.config import load_settings
    from logchat.storage import ingest_writer
    from logchat.storage.pg_bulk import SEARCH_VARIABLE

    # Before 0014 PostgreSQL computes events.search itself (a generated column): this ingest, running at
    # an older revision, must leave the column to the server as an older logchat did.
    monkeypatch.setenv(SEARCH_VARIABLE, "server")
    # Before 0016 SQLite's full-text index has no host column: fill it as an older logchat did.
    current_insert = ingest_writer.FULLTEXT_INSERT
    monkeypatch.setattr(
        ingest_writer,
        "FULLTEXT_INSERT",
        "INSERT INTO events_fts(rowid, message, process) "
        "SELECT id, message, process FROM events WHERE id BETWEEN ? AND ?",
    )
    # Before 0015 there are no counts of values: ingest and answer as an older logchat did, without them.
    from logchat.storage import compute_repo, value_counts_repo

    counting, counted = value_counts_repo.add_events, compute_repo._counted
    monkeypatch.setattr(value_counts_repo, "add_events", lambda *args, **kwargs: None)
    monkeypatch.setattr(compute_repo, "_counted", lambda *args, **kwargs: None)

    settings = load_settings(data_dir=tmp_path / "data", database={"url": database_url})
    store = open_store(database_url, migrate=False)
    try:
        _migrate(store, "upgrade", _before_revision(store))
        _index(store, settings, EXAMPLES / "auth.log", EXAMPLES / "payments-service.log")
        if store.is_sqlite:
            _assert_sound_sqlite_table(store, rowid=False)
        before = _snapshot(store, settings)
        assert len(before["rows"]) > 1_000 and before["answers"][0]["matched"] > 0

        _migrate(store, "upgrade", REVISION)
        assert current_revision(store) == REVISION
        if store.is_sqlite:
            _assert_sound_sqlite_table(store, rowid=True)
            with store.engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM events WHERE id IS NOT rowid")).scalar() == 0
        assert _snapshot(store, settings) == before

        if store.is_sqlite:
            _migrate(store, "downgrade", _before_revision(store))
            _assert_sound_sqlite_table(store, rowid=False)
            assert _snapshot(store, settings) == before

        upgrade_to_head(store)  # to whatever follows 0013
        monkeypatch.delenv(SEARCH_VARIABLE)
        monkeypatch.setattr(ingest_writer, "FULLTEXT_INSERT", current_insert)
        monkeypatch.setattr(value_counts_repo, "add_events", counting)
        monkeypatch.setattr(compute_repo, "_counted", counted)
        assert current_revision(store) == head_revision()
        # New events continue the ids after the migrated ones, and are found by search.
        newest = before["rows"][-1][0]
        _index(store, settings, EXAMPLES / "payments-access.log")
        after = _snapshot(store, settings)
        assert after["rows"][: len(before["rows"])] == before["rows"]
        assert min(row[0] for row in after["rows"][len(before["rows"]) :]) == newest + 1
        if store.is_sqlite:
            _assert_sound_sqlite_table(store, rowid=True)
    finally:
        store.close()


def test_a_new_sqlite_store_keeps_event_ids_as_its_rowid(tmp_path: Path) -> None:
    from logchat.config import load_settings

    settings = load_settings(data_dir=tmp_path / "data")
    store = open_store(settings.database_url)
    try:
        _index(store, settings, EXAMPLES / "auth.log")
        _assert_sound_sqlite_table(store, rowid=True)
        with store.engine.connect() as conn:
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT message FROM events WHERE id IN (SELECT rowid FROM events_fts "
                "WHERE events_fts MATCH 'root')"
            ))  # fmt: skip
        # Each hit is read through the table's own key, not through a separate primary-key index.
        assert "USING INTEGER PRIMARY KEY (rowid=?)" in plan
    finally:
        store.close()
