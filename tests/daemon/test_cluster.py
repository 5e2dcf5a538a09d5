"""What replicas share through Redis, on a real Redis: the reload lease, job records, schedule slots and
frames between replicas; and the daemon alone without Redis."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest


@pytest.fixture
async def replicas(redis_url: str, redis_prefix: str) -> AsyncIterator[list[Any]]:
    """Two replicas' views of one Redis."""
    import redis.asyncio

    from logchat.daemon.cluster import RedisCluster

    made = [RedisCluster(redis.asyncio.Redis.from_url(redis_url), redis_prefix) for _ in range(2)]
    yield made
    for cluster in made:
        await cluster.close()


async def test_one_reload_lease_and_only_its_holder_releases_it(replicas: list[Any]) -> None:
    first, second = replicas
    assert await first.claim_reload("job-a") is None
    assert await second.claim_reload("job-b") == "job-a"
    await second.release_reload("job-b")  # not its lease: nothing happens
    assert await second.claim_reload("job-b") == "job-a"
    await first.renew_reload("job-a")
    await first.release_reload("job-a")
    assert await second.claim_reload("job-b") is None


async def test_a_job_record_is_shared_and_a_silent_one_reads_as_lost(replicas: list[Any], monkeypatch: Any) -> None:
    from logchat.daemon import cluster

    first, second = replicas
    record = {"id": "j1", "state": "running", "replica": first.replica_id, "progress": {"events_added": 5}}
    await first.save_job(record)
    assert await second.load_job("j1") == record
    assert await second.load_job("nothing") is None
    # Later than a lease's lifetime without a renewal: the replica that ran it is gone.
    later = time.time() + cluster.LEASE_SECONDS + 1
    monkeypatch.setattr(cluster.time, "time", lambda: later)
    lost = await second.load_job("j1")
    assert lost["state"] == "failed" and lost["error"]["code"] == "replica_lost"
    assert first.replica_id in lost["error"]["message"]


async def test_each_schedule_slot_is_claimed_once(replicas: list[Any]) -> None:
    first, second = replicas
    claims = await asyncio.gather(first.claim_slot("reload", 3600), second.claim_slot("reload", 3600))
    assert sorted(claims) == [False, True]
    # Another job has slots of its own.
    assert await second.claim_slot("retention", 3600)
    # The scheduler's wrapper: the replica that finds the slot claimed records a skip.
    from logchat.daemon.scheduler import once_across_replicas

    outcomes = [await once_across_replicas(cluster, "vectors", 3600, _succeed) for cluster in replicas]
    assert [outcome.state for outcome in outcomes] == ["succeeded", "skipped"]
    assert outcomes[1].detail == "another replica runs it this interval"


async def test_frames_reach_the_other_replica_once_and_not_their_sender(replicas: list[Any]) -> None:
    first, second = replicas
    got: dict[str, list[tuple[str, dict[str, Any], str | None]]] = {"first": [], "second": []}
    listeners = [asyncio.create_task(first.listen(lambda *args: got["first"].append(args))),
                 asyncio.create_task(second.listen(lambda *args: got["second"].append(args)))]
    try:
        frame = {"type": "job", "job": {"id": "j1", "state": "running"}}
        deadline = time.monotonic() + 30
        # Subscribing takes a moment: publish until the other side has one.
        while not got["second"] and time.monotonic() < deadline:
            await first.publish("analyst", frame, "socket-1")
            await asyncio.sleep(0.1)
        assert got["second"] and all(item == ("analyst", frame, "socket-1") for item in got["second"])
        assert got["first"] == [], "a replica ignores its own frames"
        # A message that is not ours is ignored, not fatal.
        await first._client.publish(second.channel, "not json")
        await first._client.publish(second.channel, json.dumps({"replica": "x", "user": 3, "frame": "y"}))
        await first.publish("analyst", {"type": "job", "job": {"id": "j2"}}, None)
        while len(got["second"]) < 2 or got["second"][-1][1]["job"]["id"] != "j2":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        for listener in listeners:
            listener.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)


def test_scheduled_ticks_fall_in_the_middle_of_their_slots() -> None:
    from logchat.daemon.scheduler import _mid_slot

    now = datetime(2026, 12, 3, 10, 0, 7, tzinfo=UTC)
    assert _mid_slot(now, 10) == datetime(2026, 12, 3, 10, 0, 15, tzinfo=UTC)
    assert _mid_slot(datetime(2026, 12, 3, 10, 0, 3, tzinfo=UTC), 10) == datetime(2026, 12, 3, 10, 0, 5, tzinfo=UTC)
    assert _mid_slot(now, 3600) == datetime(2026, 12, 3, 10, 30, tzinfo=UTC)


async def test_alone_every_claim_succeeds_and_nothing_is_shared() -> None:
    from logchat.daemon.cluster import LocalCluster
    from logchat.daemon.scheduler import Outcome, once_across_replicas

    alone = LocalCluster()
    assert not alone.shared and await alone.claim_reload("j") is None
    assert await alone.load_job("j") is None
    ran = await once_across_replicas(alone, "reload", 60, _succeed)
    assert ran == Outcome("succeeded", "ran")


async def _succeed() -> Any:
    from logchat.daemon.scheduler import Outcome

    return Outcome("succeeded", "ran")
