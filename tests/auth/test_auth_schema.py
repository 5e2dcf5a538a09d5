"""The 0002_auth migration builds exactly what the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect

from logchat.storage import auth_repo
from logchat.storage.migrate import current_revision, head_revision, include_object
from logchat.storage.models import Base, User

AUTH_TABLES = {"users", "login_failures", "token_revocations", "login_throttle"}


def test_the_store_is_migrated_to_the_auth_revision(store) -> None:  # type: ignore[no-untyped-def]
    assert head_revision() == current_revision(store)
    assert set(inspect(store.engine).get_table_names()) >= AUTH_TABLES


def test_the_migration_matches_the_models(store) -> None:  # type: ignore[no-untyped-def]
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        differences = compare_metadata(context, Base.metadata)

    def table_of(diff: object) -> str | None:
        item = diff[0] if isinstance(diff, list) else diff
        for part in item[1:]:  # type: ignore[index]
            name = getattr(getattr(part, "table", None), "name", None) or getattr(part, "name", None)
            if isinstance(part, str):
                name = part
            if name:
                return name
        return None

    assert [d for d in differences if table_of(d) in AUTH_TABLES] == []


def test_a_removed_account_id_is_never_given_to_a_new_account(store) -> None:  # type: ignore[no-untyped-def]
    # Tokens name their user by id: a new account must not inherit a removed one's tokens.
    now = datetime.now(UTC)

    def add(name: str) -> int:
        with store.session() as session:
            user = auth_repo.add_user(
                session,
                User(username=name, password_hash="x", role="viewer", enabled=True, token_version=0,
                     created_at=now, updated_at=now, password_changed_at=now),
            )
            return user.id

    first = add("first")
    with store.session() as session:
        auth_repo.delete_user(session, auth_repo.get_user_by_id(session, first))  # type: ignore[arg-type]
    assert add("second") != first


def test_failed_logins_survive_the_removal_of_their_account(store) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with store.session() as session:
        user = auth_repo.add_user(
            session,
            User(username="gone", password_hash="x", role="viewer", enabled=True, token_version=0,
                 created_at=now, updated_at=now, password_changed_at=now),
        )
        auth_repo.record_login_failure(
            session, username="gone", user_id=user.id, client_address="10.1.2.3", reason="wrong_password",
            occurred_at=now,
        )
    with store.session() as session:
        auth_repo.delete_user(session, auth_repo.get_user_by_name(session, "gone"))  # type: ignore[arg-type]
    with store.session() as session:
        failures = auth_repo.login_failures(session, username="gone")
        assert [(f.user_id, f.reason, f.client_address) for f in failures] == [(None, "wrong_password", "10.1.2.3")]
