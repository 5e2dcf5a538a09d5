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


@pytest.fixture(params=["database", "redis"])
def state_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def revocations(state_backend: str, request: pytest.FixtureRequest, store, clock):  # type: ignore[no-untyped-def]
    from logchat.auth.revocation import DatabaseRevocationStore, RedisRevocationStore

    if state_backend == "database":
        return DatabaseRevocationStore(store, clock=clock)
    client = request.getfixturevalue("redis_client")
    return RedisRevocationStore(client, prefix=request.getfixturevalue("redis_prefix"), clock=clock)


@pytest.fixture
def throttle(state_backend: str, request: pytest.FixtureRequest, store, clock):  # type: ignore[no-untyped-def]
    from logchat.auth.throttle import DatabaseLoginThrottle, RedisLoginThrottle

    if state_backend == "database":
        return DatabaseLoginThrottle(store, clock=clock)
    client = request.getfixturevalue("redis_client")
    return RedisLoginThrottle(client, prefix=request.getfixturevalue("redis_prefix"), clock=clock)
