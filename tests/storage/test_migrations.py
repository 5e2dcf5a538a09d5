"""The shipped migrations build exactly the schema the ORM describes, on every backend."""

from __future__ import annotations

from sqlalchemy import inspect, text

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
