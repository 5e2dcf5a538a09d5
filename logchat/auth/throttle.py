"""Failed-login throttling per user name and per client address, with exponential back-off.

Policy: ``limit`` failures in a row are allowed; the next lock lasts ``base_seconds``, and every
further failure after a lock doubles it, up to ``max_seconds``. A quiet ``window_seconds`` after the
last lock ends forgets the count; a successful login forgets the user name's count at once (not the
address's, so one valid account cannot be used to keep guessing others from the same address).

State lives in Redis when configured (shared by every daemon replica) and in the database otherwise.
Times are epoch seconds from one injectable clock, so both backends behave alike in tests.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from logchat.auth.revocation import translate_redis_errors

if TYPE_CHECKING:
    import redis

    from logchat.storage.db import Store

# Longest stored key part: keeps keys within the column and Redis keys bounded for any input.
_MAX_KEY_PART = 128


def user_key(username: str) -> str:
    return f"user:{username.strip().lower()[:_MAX_KEY_PART]}"


def address_key(address: str) -> str:
    return f"addr:{address.strip()[:_MAX_KEY_PART]}"


@dataclass(frozen=True)
class ThrottlePolicy:
    limit: int
    base_seconds: float
    max_seconds: float
    window_seconds: float

    def lock_seconds(self, failures: int) -> float:
        """How long to lock after the ``failures``-th failure in a row (0: no lock yet)."""
        if failures < self.limit or self.base_seconds <= 0:
            return 0.0
        # min() first keeps 2**n from growing without bound for a key that is hammered for days.
        doublings = min(failures - self.limit, 32)
        return min(self.max_seconds, self.base_seconds * 2.0**doublings)

    def forget_after(self, lock_seconds: float) -> float:
        return lock_seconds + self.window_seconds


class LoginThrottle(ABC):
    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def retry_after(self, keys: Iterable[str]) -> float:
        """Seconds until every key in ``keys`` is unlocked (0.0 when none is locked)."""
        now = self._clock()
        until = self._locked_until(list(keys))
        return max(0.0, max(until, default=0.0) - now)

    @abstractmethod
    def _locked_until(self, keys: list[str]) -> list[float]:
        """Epoch seconds each locked key is locked until (unlocked keys may be left out)."""

    @abstractmethod
    def record_failure(self, key: str, policy: ThrottlePolicy) -> float:
        """Count one failure for ``key``; returns the lock (seconds) now in force, 0.0 if none."""

    @abstractmethod
    def reset(self, key: str) -> None:
        """Forget ``key``'s failures (after a successful login)."""

    def purge_expired(self) -> int:
        return 0


class DatabaseLoginThrottle(LoginThrottle):
    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock=clock)
        self._store = store

    def _locked_until(self, keys: list[str]) -> list[float]:
        from logchat.storage import auth_repo

        now = datetime.fromtimestamp(self._clock(), UTC)
        with self._store.session() as session:
            locks = auth_repo.throttle_locks(session, keys, now)
        return [until.timestamp() for until in locks.values()]

    def record_failure(self, key: str, policy: ThrottlePolicy) -> float:
        from logchat.storage import auth_repo

        now = self._clock()
        at = datetime.fromtimestamp(now, UTC)
        with self._store.session() as session:
            failures = auth_repo.count_throttle_failure(
                session, key, now=at, forget_after=_at(now + policy.forget_after(0.0))
            )
            lock = policy.lock_seconds(failures)
            if lock:
                auth_repo.set_throttle_lock(
                    session, key, locked_until=_at(now + lock), forget_after=_at(now + policy.forget_after(lock))
                )
        if failures == 1:
            # A new row: a good moment to drop the rows nobody will read again.
            with self._store.session() as session:
                auth_repo.purge_throttle(session, at)
        return lock

    def reset(self, key: str) -> None:
        from logchat.storage import auth_repo

        with self._store.session() as session:
            auth_repo.clear_throttle(session, key)

    def purge_expired(self) -> int:
        from logchat.storage import auth_repo

        with self._store.session() as session:
            return auth_repo.purge_throttle(session, datetime.fromtimestamp(self._clock(), UTC))


def _at(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


class RedisLoginThrottle(LoginThrottle):
    """One hash per key: failures, locked_until, forget_at (epoch seconds); the key's TTL only
    cleans up, the decisions use the stored times."""

    def __init__(self, client: redis.Redis, *, prefix: str, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock=clock)
        self._client = client
        self._prefix = f"{prefix}auth:throttle:"

    @translate_redis_errors
    def _locked_until(self, keys: list[str]) -> list[float]:
        pipe = self._client.pipeline(transaction=False)
        for key in keys:
            pipe.hget(self._prefix + key, "locked_until")
        return [float(value) for value in pipe.execute() if value]

    @translate_redis_errors
    def record_failure(self, key: str, policy: ThrottlePolicy) -> float:
        redis_key = self._prefix + key

        def count(pipe: redis.client.Pipeline) -> float:
            # WATCH/MULTI: a concurrent failure on the same key makes this transaction retry, so
            # no failure is lost between the read and the write.
            now = self._clock()
            failures_raw, forget_raw = pipe.hmget(redis_key, ["failures", "forget_at"])
            failures = int(failures_raw) if failures_raw and float(forget_raw or 0) > now else 0
            failures += 1
            lock = policy.lock_seconds(failures)
            forget_at = now + policy.forget_after(lock)
            pipe.multi()
            pipe.hset(
                redis_key,
                mapping={"failures": failures, "locked_until": repr(now + lock) if lock else "0",
                         "forget_at": repr(forget_at)},
            )
            pipe.pexpire(redis_key, max(1000, math.ceil(policy.forget_after(lock) * 1000)))
            return lock

        return float(self._client.transaction(count, redis_key, value_from_callable=True))

    @translate_redis_errors
    def reset(self, key: str) -> None:
        self._client.delete(self._prefix + key)
