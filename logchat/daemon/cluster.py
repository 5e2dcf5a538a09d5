"""What several `logchat serve` replicas share through Redis, so that they behave as one service.

- Reload jobs: each job's record (state, progress, summary) is kept in Redis with a TTL, so any replica
  answers `GET /api/v1/logs/jobs/{id}`; and one lease, ``reload:lease``, names the running reload, so
  "one reload at a time" holds across replicas (409 naming it, whichever replica runs it).
- Job frames: progress and completion of a reload reach the socket(s) of whoever started it on every
  replica, through one pub/sub channel; each message carries the replica that sent it, so the sender,
  which has already delivered to its own sockets, ignores its echo.
- Following the sources (`[serve] follow`): one lease, ``follow:lease``, renewed every second by the
  replica that follows; the others stand by and one of them takes over once it is released or expires.
- Timed jobs: one key per job and interval slot (``SET NX``), so each interval's run happens on one
  replica only.
- Questions in flight per account (`serve.questions_per_user`): one sorted set per account, so the
  limit holds over all replicas (quota.py).

Without `redis.url` the daemon is alone and :class:`LocalCluster` keeps everything in the process.
Job records live in Redis rather than in the database: they are short-lived status for people
following a job (what a reload stores is in the database), they change every second while a job runs,
and they expire by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from logchat.errors import StoreError

if TYPE_CHECKING:
    import redis.asyncio

    from logchat.config import Settings
    from logchat.daemon.quota import QuestionQuota

log = logging.getLogger("logchat.daemon.cluster")

# A running reload renews its lease every second; a replica that dies lets the next reload start this
# long after its last renewal.
LEASE_SECONDS = 10.0
# Finished jobs stay visible this long (a replica keeps only its last 50 in memory anyway).
JOB_RECORD_SECONDS = 24 * 3600
# The subscriber reconnects after a lost Redis connection, waiting longer after each failure up to this.
MAX_BACKOFF_SECONDS = 5.0

# Delete / renew a key only while it still holds our token: a lease that expired and was taken by
# another replica is never released or extended by the one that lost it.
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) "
          "else return 0 end")

# Told each frame published by another replica: (user, frame, socket to skip).
FrameHandler = Callable[[str, dict[str, Any], str | None], None]


def new_replica_id() -> str:
    """Host, process and a random part: unique even for containers whose process is always pid 1."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class LocalCluster:
    """A daemon alone: nothing to share; the job registry's own checks are the whole rule."""

    shared = False

    def __init__(self) -> None:
        self.replica_id = new_replica_id()

    async def claim_reload(self, job_id: str) -> str | None:
        """None when ``job_id`` may run; else the id of the reload that holds the lease."""
        return None

    async def renew_reload(self, job_id: str) -> None:
        return None

    async def release_reload(self, job_id: str) -> None:
        return None

    async def save_job(self, record: dict[str, Any]) -> None:
        return None

    async def load_job(self, job_id: str) -> dict[str, Any] | None:
        return None

    async def claim_slot(self, name: str, interval_seconds: float) -> bool:
        return True

    async def claim_lease(self, name: str, seconds: float) -> bool:
        """Whether this replica now holds the lease ``name`` (for ``seconds`` unless renewed)."""
        return True

    async def renew_lease(self, name: str, seconds: float) -> bool:
        """False once the lease has been lost (expired, and maybe taken by another replica)."""
        return True

    async def release_lease(self, name: str) -> None:
        return None

    def question_quota(self, per_account: int) -> QuestionQuota:
        from logchat.daemon.quota import QuestionQuota

        return QuestionQuota(per_account)

    async def publish(self, user: str, frame: dict[str, Any], skip_socket: str | None) -> None:
        return None

    async def listen(self, deliver: FrameHandler) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisCluster(LocalCluster):
    shared = True

    def __init__(self, client: redis.asyncio.Redis, prefix: str) -> None:
        super().__init__()
        self._client = client
        self._prefix = prefix
        self._lease_key = f"{prefix}reload:lease"
        self.channel = f"{prefix}frames"

    async def _call(self, what: str, operation: Any) -> Any:
        import redis

        try:
            return await operation
        except redis.RedisError as exc:
            raise StoreError(f"Redis is not reachable for {what}: {exc}") from exc

    async def claim_reload(self, job_id: str) -> str | None:
        client = self._client
        ttl = int(LEASE_SECONDS * 1000)
        if await self._call("the reload lease", client.set(self._lease_key, job_id, nx=True, px=ttl)):
            return None
        holder = await self._call("the reload lease", client.get(self._lease_key))
        if holder is None:  # released between the two calls: try once more
            if await self._call("the reload lease", client.set(self._lease_key, job_id, nx=True, px=ttl)):
                return None
            holder = await self._call("the reload lease", client.get(self._lease_key))
        return holder.decode() if isinstance(holder, bytes) else str(holder)

    async def renew_reload(self, job_id: str) -> None:
        await self._call("the reload lease",
                         self._client.eval(_RENEW, 1, self._lease_key, job_id, int(LEASE_SECONDS * 1000)))

    async def release_reload(self, job_id: str) -> None:
        await self._call("the reload lease", self._client.eval(_RELEASE, 1, self._lease_key, job_id))

    async def save_job(self, record: dict[str, Any]) -> None:
        body = json.dumps({**record, "renewed_at": time.time()}, default=str)
        await self._call("job records", self._client.set(f"{self._prefix}job:{record['id']}", body,
                                                         ex=JOB_RECORD_SECONDS))

    async def load_job(self, job_id: str) -> dict[str, Any] | None:
        body = await self._call("job records", self._client.get(f"{self._prefix}job:{job_id}"))
        if body is None:
            return None
        record: dict[str, Any] = json.loads(body)
        renewed_at = record.pop("renewed_at", None)
        if record.get("state") == "running" and renewed_at is not None and time.time() - renewed_at > LEASE_SECONDS:
            # Its replica stopped renewing it (killed, or cut off from Redis): it will never finish.
            record["state"] = "failed"
            record["error"] = {"code": "replica_lost",
                               "message": f"replica {record.get('replica')} stopped before the job finished; what "
                                          "it committed is kept and the next reload goes on from there"}
        return record

    async def claim_slot(self, name: str, interval_seconds: float) -> bool:
        # Ticks are aligned to the middle of each slot (see scheduler.py), so every replica's tick of
        # one interval names the same slot, even with clocks a little apart.
        slot = int(time.time() // interval_seconds)
        key = f"{self._prefix}schedule:{name}:{slot}"
        claimed = await self._call("the schedule", self._client.set(
            key, self.replica_id, nx=True, px=int(interval_seconds * 2000)))
        return bool(claimed)

    async def claim_lease(self, name: str, seconds: float) -> bool:
        # Held under this replica's id: only the holder renews or releases it (_RENEW, _RELEASE).
        return bool(await self._call(f"the {name} lease", self._client.set(
            f"{self._prefix}{name}:lease", self.replica_id, nx=True, px=int(seconds * 1000))))

    async def renew_lease(self, name: str, seconds: float) -> bool:
        return bool(await self._call(f"the {name} lease", self._client.eval(
            _RENEW, 1, f"{self._prefix}{name}:lease", self.replica_id, int(seconds * 1000))))

    async def release_lease(self, name: str) -> None:
        await self._call(f"the {name} lease", self._client.eval(
            _RELEASE, 1, f"{self._prefix}{name}:lease", self.replica_id))

    def question_quota(self, per_account: int) -> QuestionQuota:
        from logchat.daemon.quota import SharedQuestionQuota

        return SharedQuestionQuota(self._client, self._prefix, per_account, replica_id=self.replica_id)

    async def publish(self, user: str, frame: dict[str, Any], skip_socket: str | None) -> None:
        message = json.dumps({"replica": self.replica_id, "user": user, "skip": skip_socket, "frame": frame},
                             default=str)
        try:
            await self._client.publish(self.channel, message)
        except Exception as exc:  # a lost frame must not fail the job that sends it
            log.warning("could not publish a job frame to the other replicas: %s", exc)

    async def listen(self, deliver: FrameHandler) -> None:
        """Deliver the frames other replicas publish, until cancelled; reconnects with back-off."""
        import redis

        backoff = 0.1
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                backoff = 0.1
                async for message in pubsub.listen():
                    self._deliver(message, deliver)
            except (redis.RedisError, OSError) as exc:
                log.warning("lost the Redis subscription for frames from other replicas (%s); retrying in %.1fs",
                            exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF_SECONDS, backoff * 2)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _deliver(self, message: dict[str, Any], deliver: FrameHandler) -> None:
        try:
            body = json.loads(message["data"])
        except (TypeError, ValueError, KeyError):
            return
        if not isinstance(body, dict) or body.get("replica") == self.replica_id:
            return  # our own frame: already delivered here
        user, frame = body.get("user"), body.get("frame")
        if isinstance(user, str) and isinstance(frame, dict):
            deliver(user, frame, body.get("skip"))

    async def close(self) -> None:
        await self._client.aclose()


def make_cluster(settings: Settings) -> LocalCluster:
    if not settings.redis.url:
        return LocalCluster()
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(settings.redis.url, socket_connect_timeout=2.0,
                                          health_check_interval=30)
    return RedisCluster(client, settings.redis.key_prefix)


CLUSTER = web.AppKey("cluster", LocalCluster)


async def own_cluster(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the cluster, the question limit counted through it, and the task that delivers
    other replicas' frames to our sockets."""
    from logchat.daemon import ws
    from logchat.daemon.app import SERVICES

    services = app[SERVICES]
    cluster = make_cluster(services.settings)
    app[CLUSTER] = cluster
    if cluster.shared:
        services.questions = cluster.question_quota(services.settings.serve.questions_per_user)
    listener = asyncio.create_task(cluster.listen(lambda user, frame, skip: ws.deliver(app, user, frame, skip)))
    try:
        yield
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await cluster.close()
