"""How many questions one account may have in flight at once, over all of its sockets and requests.

An answer holds a worker of the answers' pool for as long as the model writes, so one account firing
questions in parallel could queue everyone else behind it; the per-minute rate limit does not stop
that (a minute's allowance can all be in flight at once).

Alone, a daemon counts in its own process: the event loop is the only place slots are taken and given
back, and taking one awaits nothing, so no lock is needed. With `redis.url` every replica counts in one
Redis sorted set per account (:class:`SharedQuestionQuota`), so the limit holds over all replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from logchat.errors import LogchatError, StoreError

if TYPE_CHECKING:
    import redis.asyncio

log = logging.getLogger("logchat.daemon.quota")

# A shared slot lives this long after its last renewal: a replica that dies holding slots gives them
# back by themselves after at most this long. A running answer renews its slot every third of it, so
# answers of any length keep theirs, and a few seconds of Redis trouble cost nothing.
SLOT_SECONDS = 30.0

# Drop the expired slots (their replica died), count the live ones, add ours if under the limit. One
# script, so that two replicas taking the account's last slot at once cannot both get it. The time is
# Redis's own, so that the replicas' clocks do not matter. Returns 1 when taken, 0 when full.
_TAKE = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
# Push our slot's expiry forward; only while it is still there (one that expired while Redis was out
# of reach is not brought back: it may have been counted as free already). Returns 1 when renewed.
_RENEW = """
if redis.replicate_commands then redis.replicate_commands() end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


class TooManyQuestions(LogchatError):
    exit_code = 1
    http_status = 429
    code = "too_many_questions"


class QuestionSlot:
    """One question's place in its account's allowance; give it back with :meth:`release` (once)."""

    async def release(self) -> None:
        raise NotImplementedError


class QuestionQuota:
    """The limit counted in this process (a daemon alone)."""

    def __init__(self, per_account: int) -> None:
        self.per_account = per_account
        self._in_flight: Counter[object] = Counter()

    def refusal(self) -> TooManyQuestions:
        return TooManyQuestions(f"at most {self.per_account} questions at once: wait for an answer")

    async def take(self, account: object) -> QuestionSlot:
        """A slot for one more question of ``account``; TooManyQuestions when it has no free one."""
        if self._in_flight[account] >= self.per_account:
            raise self.refusal()
        self._in_flight[account] += 1
        return _LocalSlot(self, account)

    def _give_back(self, account: object) -> None:
        self._in_flight[account] -= 1
        if self._in_flight[account] <= 0:
            del self._in_flight[account]

    @contextlib.asynccontextmanager
    async def held(self, account: object) -> AsyncIterator[QuestionSlot]:
        slot = await self.take(account)
        try:
            yield slot
        finally:
            await slot.release()

    async def in_flight(self, account: object) -> int:
        return self._in_flight[account]


class _LocalSlot(QuestionSlot):
    def __init__(self, quota: QuestionQuota, account: object) -> None:
        self._quota = quota
        self._account: object = account
        self._released = False

    async def release(self) -> None:
        if not self._released:
            self._released = True
            self._quota._give_back(self._account)


class SharedQuestionQuota(QuestionQuota):
    """The limit over every replica: a sorted set per account in Redis, ``questions:{account}``, whose
    members are the slots in use scored by the time they expire (renewed while their answer runs)."""

    def __init__(self, client: redis.asyncio.Redis, prefix: str, per_account: int, *,
                 slot_seconds: float = SLOT_SECONDS, replica_id: str = "") -> None:
        super().__init__(per_account)
        self._client = client
        self._prefix = f"{prefix}questions:"
        self.slot_seconds = slot_seconds
        self._replica_id = replica_id

    def key(self, account: object) -> str:
        return f"{self._prefix}{account}"

    async def take(self, account: object) -> QuestionSlot:
        import redis

        key = self.key(account)
        member = f"{self._replica_id}:{uuid.uuid4().hex}"
        try:
            taken = await self._client.eval(_TAKE, 1, key, self.per_account, member, int(self.slot_seconds * 1000))
        except redis.RedisError as exc:
            # Refused rather than let through uncounted, like the rate limits: without Redis the
            # limit cannot be known.
            raise StoreError(f"Redis is not reachable for the question limit: {exc}") from exc
        if not taken:
            raise self.refusal()
        return _SharedSlot(self, key, member)

    async def renew(self, key: str, member: str) -> bool:
        """Push a slot's expiry forward; False when it is no longer there."""
        renewed = await self._client.eval(_RENEW, 1, key, member, int(self.slot_seconds * 1000))
        return bool(renewed)

    async def give_back(self, key: str, member: str) -> None:
        await self._client.zrem(key, member)

    async def in_flight(self, account: object) -> int:
        """The account's live slots over all replicas (expired ones not counted)."""
        server_time = await self._client.time()
        now_ms = server_time[0] * 1000 + server_time[1] // 1000
        return int(await self._client.zcount(self.key(account), f"({now_ms}", "+inf"))


class _SharedSlot(QuestionSlot):
    def __init__(self, quota: SharedQuestionQuota, key: str, member: str) -> None:
        self._quota = quota
        self.key = key
        self.member = member
        self._released = False
        self._renewing = asyncio.get_running_loop().create_task(self._renew_while_held())

    async def _renew_while_held(self) -> None:
        while True:
            await asyncio.sleep(self._quota.slot_seconds / 3)
            try:
                if not await self._quota.renew(self.key, self.member):
                    # Expired while Redis was out of reach: the answer goes on, uncounted from now on.
                    log.warning("a question's slot in %s expired before its answer was done", self.key)
                    return
            except Exception as exc:  # best effort: the answer must go on whatever Redis does
                log.warning("could not renew a question's slot in %s: %s", self.key, exc)

    async def release(self) -> None:
        if self._released:
            return
        self._released = True
        # A renewal already on its way finds the slot gone (it only updates a slot that is there).
        self._renewing.cancel()
        try:
            await self._quota.give_back(self.key, self.member)
        except Exception as exc:  # the answer is done either way; Redis trouble must not fail it
            # Not lost: the slot expires by itself once it is no longer renewed.
            log.warning("could not give back a question's slot in %s (it expires within %.0f s): %s",
                        self.key, self._quota.slot_seconds, exc)
