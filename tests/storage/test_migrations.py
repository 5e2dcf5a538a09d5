"""The shipped migrations build exactly the schema the ORM describes, on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from logchat.storage.db import open_store
from logchat.storage.migrate import current_revision, head_revision, include_object, upgrade_to_head
from logchat.storage.models import Base


def test_empty_database_upgrades_to_head_and_matches_orm(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = open_store(database_url, migrate=False)
    try:
        assert current_revision(store) is None
        assert upgrade_to_head(store) is True
        assert current_revision(store) == head_revision()
        with store.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_object": include_object, "compare_type": True}
            )
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
        # A second upgrade is a no-op answered without Alembic.
        assert upgrade_to_head(store) is False
    finally:
        store.close()


def test_full_text_objects_exist(store) -> None:  # type: ignore[no-untyped-def]
    inspector = inspect(store.engine)
    if store.is_sqlite:
        with store.engine.connect() as conn:
            names = {row[0] for row in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
        assert "events_fts" in names
    else:
        columns = {column["name"] for column in inspector.get_columns("events")}
        assert "search" in columns
        assert "ix_events_search" in {index["name"] for index in inspector.get_indexes("events")}


def test_head_revision_is_unique_and_known_to_alembic(store) -> None:  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    from logchat.storage.migrate import alembic_config

    with store.engine.connect() as conn:
        script = ScriptDirectory.from_config(alembic_config(conn))
        assert script.get_heads() == [head_revision()]


def test_upgrade_deletes_a_pickled_miner_state_unread_and_names_the_store(database_url: str) -> None:
    import pickle
    import zlib

    from alembic import command

    from logchat.storage.migrate import alembic_config

    store = open_store(database_url, migrate=False)
    try:
        with store.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0003_chat")
        with store.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO template_miner_state (id, state, updated_at) VALUES (1, :state, 0)"),
                {"state": zlib.compress(pickle.dumps({"version": 1}))},
            )
        assert upgrade_to_head(store) is True
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM template_miner_state")).scalar() == 0
            identities = conn.execute(text("SELECT store_id FROM store_identity")).scalars().all()
        assert len(identities) == 1 and len(identities[0]) == 32
    finally:
        store.close()


def _store_at(database_url: str, revision: str):  # type: ignore[no-untyped-def]
    from alembic import command

    from logchat.storage.migrate import alembic_config

    store = open_store(database_url, migrate=False)
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
    return store


def _add_cli_session(store, name: str, turns: int) -> None:  # type: ignore[no-untyped-def]
    # Written the way the version before accounts owned sessions wrote them (no owner column yet).
    import sqlalchemy as sa

    sessions = sa.table("chat_sessions", *(sa.column(c) for c in ("id", "name", "created_at", "updated_at")))
    turn_table = sa.table(
        "chat_turns", sa.column("session_id"), sa.column("position"), sa.column("question"), sa.column("answer"),
        sa.column("mode"), sa.column("filters", sa.JSON), sa.column("matched"),
        sa.column("evidence_event_ids", sa.JSON), sa.column("citations", sa.JSON), sa.column("created_at"),
    )
    with store.engine.begin() as conn:
        session_id = conn.execute(
            sessions.insert().values(name=name, created_at=1, updated_at=2).returning(sessions.c.id)
        ).scalar_one()
        for position in range(1, turns + 1):
            conn.execute(turn_table.insert().values(
                session_id=session_id, position=position, question=f"question {position}", answer="answer",
                mode="extractive", filters={"levels": ["error"]}, matched=position, evidence_event_ids=[],
                citations=[], created_at=position,
            ))


def test_upgrade_keeps_command_line_sessions_and_their_turns(database_url: str) -> None:
    from logchat.errors import Conflict
    from logchat.services.sessions import create_session, list_sessions, session_messages, show_session

    store = _store_at(database_url, "0004_store_identity")
    try:
        _add_cli_session(store, "incident-42", turns=3)
        _add_cli_session(store, "nightly", turns=1)
        assert upgrade_to_head(store) is True
        # Still the command line's (owner None), every turn kept, in order.
        listed = {item["name"]: item["turns"] for item in list_sessions(store)}
        assert listed == {"incident-42": 3, "nightly": 1}
        shown = show_session(store, "incident-42")
        assert [turn["position"] for turn in shown["turns"]] == [1, 2, 3]
        assert shown["turns"][0]["filters"] == {"levels": ["error"]}
        assert session_messages(store, "incident-42", limit=2)["next_before"] == 2
        # Names stay unique among the command line's sessions.
        with pytest.raises(Conflict):
            create_session(store, "incident-42")
    finally:
        store.close()


def test_downgrade_to_one_namespace_keeps_command_line_sessions(database_url: str) -> None:
    from alembic import command

    from logchat.services.sessions import show_session
    from logchat.storage.migrate import alembic_config

    store = _store_at(database_url, "0004_store_identity")
    try:
        _add_cli_session(store, "incident-42", turns=2)
        upgrade_to_head(store)
        with store.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0004_store_identity")
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM chat_turns")).scalar() == 2
        upgrade_to_head(store)
        assert len(show_session(store, "incident-42")["turns"]) == 2
    finally:
        store.close()


def test_configured_sources_tables_come_and_go_with_their_migration_on_a_used_store(
    database_url: str, tmp_path: Path
) -> None:
    from alembic import command

    from logchat.config import load_settings
    from logchat.services.configured_sources import add_source, list_sources
    from logchat.services.ingest import index_inputs
    from logchat.storage.migrate import alembic_config

    store = _store_at(database_url, "0005_chat_owner")
    try:
        _add_cli_session(store, "incident-42", turns=1)
        assert upgrade_to_head(store) is True
        settings = load_settings(data_dir=tmp_path / "data", database={"url": database_url})
        log = tmp_path / "app.log"
        log.write_text("2026-01-05T10:00:00+00:00 web-01 app[1]: started\n", encoding="utf-8")
        assert not index_inputs(store, settings, [str(log)]).failed
        add_source(store, settings, name="app", path=str(log))
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM source_status")).scalar() == 1

        with store.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0005_chat_owner")
        tables = set(inspect(store.engine).get_table_names())
        assert not {"configured_sources", "source_status"} & tables
        with store.engine.connect() as conn:  # what was read and the chat history stay
            assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 1
            assert conn.execute(text("SELECT count(*) FROM chat_turns")).scalar() == 1

        assert upgrade_to_head(store) is True
        assert list_sources(store, settings) == []
    finally:
        store.close()


def test_a_schema_newer_than_this_version_is_refused_with_a_clear_message(database_url: str) -> None:
    from logchat.errors import StoreError

    store = open_store(database_url)
    try:
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0999_from_the_future'"))
        with pytest.raises(StoreError, match="at schema revision 0999_from_the_future, newer than") as info:
            upgrade_to_head(store)
        assert "upgrade logchat" in (info.value.hint or "")
    finally:
        store.close()


def test_full_text_column_is_rebuilt_to_split_dotted_names_on_a_used_store(database_url: str, tmp_path: Path) -> None:
    from alembic import command

    from logchat.config import load_settings
    from logchat.retrieval.fulltext import parse_text_query, resolve_query
    from logchat.services.ingest import index_inputs
    from logchat.storage import fulltext_repo
    from logchat.storage.migrate import alembic_config

    def payments_lines() -> int:
        with store.session() as session:
            # A word found in no event is dropped from the query: count the lines search returns.
            resolved = resolve_query(session, parse_text_query("payments"))
            return len(fulltext_repo.search_events(session, resolved, [], 10))

    store = open_store(database_url)
    try:
        settings = load_settings(data_dir=tmp_path / "data", database={"url": database_url})
        log = tmp_path / "app.log"
        log.write_text("2026-01-05T10:00:00+00:00 web-01 app[1]: com.example.payments.GatewayClient: timeout\n"
                       "2026-01-05T10:00:01+00:00 web-01 app[1]: POST /api/v1/payments returned 502\n"
                       "2026-01-05T10:00:02+00:00 web-01 app[1]: started\n", encoding="utf-8")
        assert not index_inputs(store, settings, [str(log)]).failed
        assert payments_lines() == 2
        with store.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0010_event_id_high")
        # Before 0011 PostgreSQL kept the dotted name and the path whole; SQLite's index never changed.
        assert payments_lines() == (2 if store.is_sqlite else 0)
        assert upgrade_to_head(store) is True
        assert payments_lines() == 2
        test_full_text_objects_exist(store)
    finally:
        store.close()


def test_full_text_index_takes_the_host_and_gives_it_back_on_a_used_store(database_url: str, tmp_path: Path) -> None:
    from alembic import command

    from logchat.config import load_settings
    from logchat.retrieval.fulltext import parse_text_query, resolve_query
    from logchat.services.ingest import index_inputs
    from logchat.storage import fulltext_repo
    from logchat.storage.migrate import alembic_config
    from logchat.storage.models import Event

    def found() -> list[int]:
        """The events with "timeout", as search ranks them."""
        with store.session() as session:
            query = resolve_query(session, parse_text_query("timeout"))
            return [event_id for event_id, _ in fulltext_repo.search_events(session, query, [], 10)]

    def on_host(host: str) -> list[int] | None:
        """The lines with "timeout" on ``host``, as the walk narrowed to it finds them (None on PostgreSQL)."""
        with store.session() as session:
            query = resolve_query(session, parse_text_query("timeout"))
            walk = fulltext_repo.index_walk(session, query, hosts=[host])
            if walk is None:
                return None
            statement = fulltext_repo.over_hits(select(Event.line_no).where(Event.host == host), walk[0])
            return sorted(session.scalars(statement))

    def sound() -> None:
        if store.is_sqlite:
            with store.engine.connect() as conn:
                conn.exec_driver_sql("INSERT INTO events_fts(events_fts, rank) VALUES ('integrity-check', 1)")

    store = open_store(database_url)
    try:
        settings = load_settings(data_dir=tmp_path / "data", database={"url": database_url})
        log = tmp_path / "app.log"
        log.write_text(
            "2026-01-05T10:00:00+00:00 web-01 app[1]: upstream timeout after 30s\n"
            "2026-01-05T10:00:01+00:00 web-02 app[1]: upstream timeout after 31s\n"
            "2026-01-05T10:00:02+00:00 web-02 app[1]: started on web-01\n",
            encoding="utf-8",
        )
        assert not index_inputs(store, settings, [str(log)]).failed
        ranked = found()
        assert len(ranked) == 2
        assert on_host("web-02") == ([2] if store.is_sqlite else None)
        with store.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0015_value_counts")
        sound()
        assert found() == ranked
        assert upgrade_to_head(store) is True
        sound()
        assert found() == ranked
        assert on_host("web-02") == ([2] if store.is_sqlite else None)
        assert on_host("web-03") == ([] if store.is_sqlite else None)
    finally:
        store.close()
