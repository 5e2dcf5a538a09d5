"""The daemon under test: the real application on a real store (SQLite, and PostgreSQL when
configured), served on a loopback port by aiohttp's test server, with one account per role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from daemon_helpers import PASSWORD, ROLES


@pytest.fixture(scope="session")
def password_hash() -> str:
    # One argon2id hash for every account of every test: hashing is deliberately slow.
    from logchat.auth.passwords import PasswordHasher

    return PasswordHasher().hash(PASSWORD)


@pytest.fixture
def seed_users(store: Any, password_hash: str):  # type: ignore[no-untyped-def]
    """Add accounts straight to the store (name -> role); returns their UserInfo by name."""
    from logchat.services.accounts import UserInfo
    from logchat.storage import auth_repo
    from logchat.storage.models import User

    def add(**roles: str) -> dict[str, UserInfo]:
        now = datetime.now(UTC)
        added = {}
        with store.session() as session:
            for name, role in roles.items():
                user = auth_repo.add_user(session, User(
                    username=name, password_hash=password_hash, role=role, enabled=True, token_version=0,
                    created_at=now, updated_at=now, password_changed_at=now,
                ))
                added[name] = UserInfo.from_row(user)
        return added

    return add


@pytest.fixture
def services(settings: Any, store: Any, seed_users: Any):  # type: ignore[no-untyped-def]
    from logchat.daemon.app import Services
    from logchat.services.auth import AccessMode, AuthService

    seed_users(**{role: role for role in ROLES})
    built = Services(settings=settings, store=store, auth=AuthService(settings, store),
                     access_mode=AccessMode.ACCOUNTS)
    yield built
    built.auth.close()


@pytest.fixture
def tokens(services: Any) -> dict[str, str]:
    """An access token per role."""
    from logchat.storage import auth_repo

    issued = {}
    for role in ROLES:
        from logchat.services.accounts import UserInfo

        with services.store.session() as session:
            user = UserInfo.from_row(auth_repo.get_user_by_name(session, role))
        issued[role] = services.auth.issue(user).access_token
    return issued


@pytest.fixture
async def client(settings: Any, services: Any) -> AsyncIterator[Any]:
    from aiohttp.test_utils import TestClient, TestServer

    from logchat.daemon.app import create_app

    async with TestClient(TestServer(create_app(settings, services))) as test_client:
        yield test_client
