"""The questions one account may have in flight (serve.questions_per_user) counted over every replica
through Redis: two daemons on one Redis share one allowance, slots come back when answers end, a slot
of a holder that dies expires by itself, one that lives is renewed, and the last slot goes to one
taker only."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from daemon_helpers import bearer
from fake_ollama import FakeOllama
from test_question_quota import ASK, HANG, QUESTION, _models_busy, _release
from test_ws import frames_until, signed_in


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Any]:
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()


def _quota(client: Any, prefix: str, per_account: int, **options: Any) -> Any:
    from logchat.daemon.quota import SharedQuestionQuota

    return SharedQuestionQuota(client, prefix, per_account, **options)


async def _refused(quota: Any, account: object) -> str:
    from logchat.daemon.quota import TooManyQuestions

    with pytest.raises(TooManyQuestions) as refused:
        await quota.take(account)
    return refused.value.message


async def test_release_frees_a_slot_and_accounts_are_apart(redis_client: Any, redis_prefix: str) -> None:
    quota = _quota(redis_client, redis_prefix, 2)
    first, second = await quota.take("alice"), await quota.take("alice")
    assert await quota.in_flight("alice") == 2
    assert await _refused(quota, "alice") == "at most 2 questions at once: wait for an answer"
    bob = await quota.take("bob")  # another account has its own allowance
    await first.release()
    await first.release()  # a second release gives back nothing more
    assert await quota.in_flight("alice") == 1
    third = await quota.take("alice")
    assert await _refused(quota, "alice")
    for slot in (second, third, bob):
        await slot.release()
    assert await quota.in_flight("alice") == 0 and await quota.in_flight("bob") == 0
    # Nothing is left behind in Redis once every slot is back.
    assert await redis_client.exists(quota.key("alice")) == 0


async def test_the_last_slots_go_to_as_many_takers_over_two_replicas(redis_url: str, redis_prefix: str) -> None:
    import redis.asyncio

    from logchat.daemon.quota import TooManyQuestions

    clients = [redis.asyncio.Redis.from_url(redis_url) for _ in range(2)]
    try:
        quotas = [_quota(client, redis_prefix, 3) for client in clients]
        outcomes = await asyncio.gather(*(quotas[i % 2].take(7) for i in range(12)), return_exceptions=True)
        taken = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
        assert len(taken) == 3
        assert all(isinstance(outcome, TooManyQuestions) for outcome in outcomes if outcome not in taken)
        assert await quotas[0].in_flight(7) == await quotas[1].in_flight(7) == 3
        for slot in taken:
            await slot.release()
        assert await quotas[1].in_flight(7) == 0
    finally:
        for client in clients:
            await client.aclose()


_HOLDER = textwrap.dedent("""
    import asyncio, sys
    import redis.asyncio
    from logchat.daemon.quota import SharedQuestionQuota

    async def main():
        client = redis.asyncio.Redis.from_url(sys.argv[1])
        quota = SharedQuestionQuota(client, sys.argv[2], 1, slot_seconds=float(sys.argv[3]), replica_id="doomed")
        slot = await quota.take("carol")
        print(slot.member, flush=True)
        await asyncio.sleep(3600)  # holds the slot, renewing it, until killed

    asyncio.run(main())
""")


async def test_a_living_holder_keeps_its_slot_and_a_dead_one_loses_it(
    redis_client: Any, redis_url: str, redis_prefix: str,
) -> None:
    slot_seconds = 3.0
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, redis_url, redis_prefix, str(slot_seconds)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        member = await asyncio.wait_for(asyncio.to_thread(holder.stdout.readline), HANG)
        member = member.strip()
        assert member.startswith("doomed:"), member
        quota = _quota(redis_client, redis_prefix, 1, slot_seconds=slot_seconds)
        key = quota.key("carol")
        first_expiry = await redis_client.zscore(key, member)
        # Past the slot's first expiry by Redis's clock, it is still held: its holder renewed it.
        async with asyncio.timeout(HANG):
            while await _redis_ms(redis_client) <= first_expiry:
                await asyncio.sleep(0.2)
        assert (await redis_client.zscore(key, member) or 0) > first_expiry
        assert await _refused(quota, "carol")
        holder.kill()  # dies holding the slot: nobody gives it back
        holder.wait(timeout=HANG)
        # It expires by itself, and the account may ask again.
        deadline = time.monotonic() + HANG
        while True:
            try:
                slot = await quota.take("carol")
                break
            except Exception:
                assert time.monotonic() < deadline, "the dead holder's slot never expired"
                await asyncio.sleep(0.2)
        assert await redis_client.zscore(key, member) is None
        assert await redis_client.zrange(key, 0, -1) == [slot.member.encode()]
        await slot.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=HANG)


async def _redis_ms(client: Any) -> float:
    seconds, micros = await client.time()
    return float(seconds * 1000 + micros // 1000)


async def test_without_redis_a_question_is_refused_with_a_clear_error(redis_prefix: str) -> None:
    import socket

    import redis.asyncio

    from logchat.errors import StoreError

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = redis.asyncio.Redis(host="127.0.0.1", port=port, socket_connect_timeout=2.0)
    try:
        with pytest.raises(StoreError) as failed:
            await _quota(client, redis_prefix, 2).take("dave")
        assert failed.value.http_status == 503
        assert "Redis is not reachable for the question limit" in failed.value.message
    finally:
        await client.aclose()


# Two daemons (create_app) on one store and one Redis, as two replicas behind one address.

@pytest.fixture
def settings(settings: Any, fake_ollama: FakeOllama, redis_url: str, redis_prefix: str) -> Any:
    fake_ollama.reply = "Two failed passwords for root [E1]."
    llm = {"provider": "ollama", "model": "llama3.2", "base_url": fake_ollama.url, "timeout_seconds": 30.0,
           "connect_timeout_seconds": 5.0}  # fmt: skip
    serve = settings.serve.model_copy(update={"questions_per_user": 2})
    redis = settings.redis.model_copy(update={"url": redis_url, "key_prefix": redis_prefix})
    return settings.model_copy(update={"llm": settings.llm.model_copy(update=llm), "serve": serve, "redis": redis})


@pytest.fixture
async def second_replica(settings: Any, store: Any, services: Any) -> AsyncIterator[Any]:
    from aiohttp.test_utils import TestClient, TestServer

    from logchat.daemon.app import Services, create_app
    from logchat.services.auth import AccessMode, AuthService

    own = Services(settings=settings, store=store, auth=AuthService(settings, store), access_mode=AccessMode.ACCOUNTS)
    async with TestClient(TestServer(create_app(settings, own))) as test_client:
        yield test_client
    own.auth.close()


async def test_the_limit_holds_over_two_replicas_and_frees_on_both(
    client: Any, second_replica: Any, tokens: dict[str, str], small_store: Any, fake_ollama: FakeOllama,
) -> None:
    fake_ollama.chunk_delay = HANG  # one token, then every answer stalls until released
    viewer = bearer(tokens["viewer"])
    on_a = asyncio.ensure_future(client.post(ASK, json={"question": QUESTION}, headers=viewer))
    ws_a = await signed_in(client, tokens["viewer"])
    await ws_a.send_json({"type": "ask", "id": "q1", "question": QUESTION})
    ws_b = await signed_in(second_replica, tokens["viewer"])
    other_b = await signed_in(second_replica, tokens["analyst"])
    try:
        await _models_busy(fake_ollama, 2)
        # Both of the viewer's slots are in use on replica A: replica B refuses a third, by either path.
        refused = await second_replica.post(ASK, json={"question": QUESTION}, headers=viewer)
        assert refused.status == 429
        error = (await refused.json())["error"]
        assert error["code"] == "too_many_questions" and "at most 2 questions at once" in error["message"]
        streamed = await second_replica.post(ASK, json={"question": QUESTION, "stream": True}, headers=viewer)
        assert streamed.status == 429
        await ws_b.send_json({"type": "ask", "id": "q2", "question": QUESTION})
        frame = (await frames_until(ws_b, "error", "q2"))[-1]
        assert (frame["type"], frame["code"]) == ("error", "too_many_questions")
        # Another account asks on replica B meanwhile.
        await other_b.send_json({"type": "ask", "id": "a1", "question": QUESTION})
        await _models_busy(fake_ollama, 3)
    finally:
        _release(fake_ollama)
    assert (await asyncio.wait_for(on_a, HANG)).status == 200
    assert (await frames_until(ws_a, "answer", "q1"))[-1]["type"] == "answer"
    assert (await frames_until(other_b, "answer", "a1"))[-1]["type"] == "answer"
    # The slots taken on replica A come back (a socket's once its answer frame is out): replica B then
    # takes both at once.
    fake_ollama.chunk_delay = 0.0
    async with asyncio.timeout(HANG):
        while True:
            again = await asyncio.gather(*(
                second_replica.post(ASK, json={"question": QUESTION, "no_llm": True}, headers=viewer)
                for _ in range(2)))
            if [response.status for response in again] == [200, 200]:
                break
            assert {response.status for response in again} <= {200, 429}
            await asyncio.sleep(0.1)
    for ws in (ws_a, ws_b, other_b):
        await ws.close()
