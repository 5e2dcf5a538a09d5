"""Request rate limits per caller: sign-ins per client address, questions and reloads per user.

Fixed one-minute windows counted in Redis when `redis.url` is set (shared by every daemon replica,
keys expire with their window) and in this process's memory otherwise. A fixed window lets a burst
of up to twice the limit straddle a window boundary; that is accepted for its simplicity and its one
Redis round trip (INCR + EXPIRE in one pipeline).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from logchat.errors import LogchatError, StoreError

if TYPE_CHECKING:
    import redis

    from logchat.config import Settings

WINDOW_SECONDS = 60


class RateLimited(LogchatError):
    """Too many requests of one kind from one caller in the current window."""

    exit_code = 1
    http_status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, hint=f"try again in {max(1, round(retry_after))} s")
        self.retry_after = retry_after


class RateLimiter:
    """Counts hits per (bucket, subject) in the current window; ``limits`` maps bucket -> hits per window
    (0 or a missing bucket: unlimited)."""

    def __init__(self, limits: dict[str, int], *, clock: Callable[[], float] = time.time) -> None:
        self.limits = limits
        self._clock = clock
        # Told the bucket of every refused hit (the daemon's metrics count them).
        self.on_reject: Callable[[str], None] | None = None

    def check(self, bucket: str, subject: str) -> None:
        """Count one hit; RateLimited when it is over the bucket's limit."""
        limit = self.limits.get(bucket, 0)
        if limit <= 0:
            return
        now = self._clock()
        window = int(now // WINDOW_SECONDS)
        if self._count(f"{bucket}:{subject}:{window}", WINDOW_SECONDS) > limit:
            retry_after = (window + 1) * WINDOW_SECONDS - now
            if self.on_reject is not None:
                self.on_reject(bucket)
            raise RateLimited(f"too many {bucket} requests: at most {limit} a minute", retry_after=retry_after)

    def _count(self, key: str, ttl: int) -> int:
        raise NotImplementedError

    def close(self) -> None:
        return None


class MemoryRateLimiter(RateLimiter):
    def __init__(self, limits: dict[str, int], *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(limits, clock=clock)
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def _count(self, key: str, ttl: int) -> int:
        now = self._clock()
        with self._lock:
            if len(self._counts) > 10_000:  # drop finished windows; bounded memory under many callers
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            count, expires = self._counts.get(key, (0, now + ttl))
            self._counts[key] = (count + 1, expires)
            return count + 1


class RedisRateLimiter(RateLimiter):
    def __init__(self, limits: dict[str, int], client: redis.Redis, *, prefix: str,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(limits, clock=clock)
        self._client = client
        self._prefix = f"{prefix}rate:"

    def _count(self, key: str, ttl: int) -> int:
        import redis

        try:
            pipe = self._client.pipeline()
            pipe.incr(self._prefix + key)
            pipe.expire(self._prefix + key, ttl + 1)
            count, _ = pipe.execute()
        except redis.RedisError as exc:
            raise StoreError(f"Redis is not reachable for rate limits: {exc}") from exc
        return int(count)

    def close(self) -> None:
        self._client.close()


def make_rate_limiter(settings: Settings) -> RateLimiter:
    serve = settings.serve
    limits = {"login": serve.login_rate_per_minute, "ask": serve.ask_rate_per_minute,
              "reload": serve.reload_rate_per_minute}
    if settings.redis.url:
        import redis

        return RedisRateLimiter(limits, redis.Redis.from_url(settings.redis.url, socket_timeout=2.0),
                                prefix=settings.redis.key_prefix)
    return MemoryRateLimiter(limits)
