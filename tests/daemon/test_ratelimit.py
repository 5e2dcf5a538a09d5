"""Rate limits per caller, in memory and in a real Redis: the limit holds, the window ends, callers
and buckets do not share counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from logchat.daemon.ratelimit import WINDOW_SECONDS, MemoryRateLimiter, RateLimited, RedisRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # the start of a window

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def limiter_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_limiter(limiter_kind: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    made = []

    def make(limits: dict[str, int], clock: Clock) -> Any:
        if limiter_kind == "memory":
            limiter: Any = MemoryRateLimiter(limits, clock=clock)
        else:
            import redis

            client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
            limiter = RedisRateLimiter(limits, client, prefix=request.getfixturevalue("redis_prefix"), clock=clock)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        limiter.close()


def test_the_limit_holds_within_a_window_and_resets_after_it(make_limiter: Any) -> None:
    clock = Clock()
    limiter = make_limiter({"ask": 3}, clock)
    for _ in range(3):
        limiter.check("ask", "user:1")
    clock.now += 20
    with pytest.raises(RateLimited) as refused:
        limiter.check("ask", "user:1")
    assert refused.value.http_status == 429
    assert refused.value.retry_after == pytest.approx(WINDOW_SECONDS - 20)
    clock.now += WINDOW_SECONDS - 20
    limiter.check("ask", "user:1")  # a new window


def test_callers_and_buckets_are_counted_apart(make_limiter: Any) -> None:
    clock = Clock()
    limiter = make_limiter({"ask": 1, "login": 1}, clock)
    limiter.check("ask", "user:1")
    limiter.check("ask", "user:2")
    limiter.check("login", "user:1")
    with pytest.raises(RateLimited):
        limiter.check("ask", "user:1")


def test_zero_means_unlimited(make_limiter: Any) -> None:
    limiter = make_limiter({"ask": 0}, Clock())
    for _ in range(100):
        limiter.check("ask", "user:1")
        limiter.check("reload", "user:1")  # no limit configured for it
