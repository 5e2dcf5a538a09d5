"""Fixtures for the auth tests: one password hasher per run, revocation and throttle backends on the
database (SQLite, PostgreSQL) and on Redis, and a clock the tests move by hand."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest


class ManualClock:
    """Epoch seconds that only move when a test says so."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="session")
def hasher():  # type: ignore[no-untyped-def]
    from logchat.auth.passwords import PasswordHasher

    return PasswordHasher()


@pytest.fixture
def redis_client(redis_url: str, redis_prefix: str) -> Iterator[object]:
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def state_backend(request: pytest.FixtureRequest) -> str:
    """Where revocation and throttle state lives: the database (either kind) or Redis."""
    return request.param


@pytest.fixture
def state_store(state_backend: str, request: pytest.FixtureRequest, data_dir) -> Iterator[object]:  # type: ignore[no-untyped-def]
    # Not the shared `store` fixture: the Redis backend needs no database, so it runs once, not
    # once per database.
    if state_backend == "redis":
        yield None
        return
    from logchat.storage.db import open_store

    if state_backend == "sqlite":
        url = f"sqlite:///{data_dir / 'logchat.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    opened = open_store(url)
    yield opened
    opened.close()


@pytest.fixture
def revocations(state_backend: str, state_store, request: pytest.FixtureRequest, clock):  # type: ignore[no-untyped-def]
    from logchat.auth.revocation import DatabaseRevocationStore, RedisRevocationStore

    if state_store is not None:
        return DatabaseRevocationStore(state_store, clock=clock)
    client = request.getfixturevalue("redis_client")
    return RedisRevocationStore(client, prefix=request.getfixturevalue("redis_prefix"), clock=clock)


@pytest.fixture
def throttle(state_backend: str, state_store, request: pytest.FixtureRequest, clock):  # type: ignore[no-untyped-def]
    from logchat.auth.throttle import DatabaseLoginThrottle, RedisLoginThrottle

    if state_store is not None:
        return DatabaseLoginThrottle(state_store, clock=clock)
    client = request.getfixturevalue("redis_client")
    return RedisLoginThrottle(client, prefix=request.getfixturevalue("redis_prefix"), clock=clock)
