"""Questions one account may have in flight at once (serve.questions_per_user), shared by its chat
sockets and its HTTP requests: the next one is refused plainly, other accounts go on, and the slots
come back when the answers are done. Each test runs on a daemon alone (counted in its process) and on
one with Redis (counted there, test_shared_question_quota.py shows it over two replicas)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from daemon_helpers import bearer
from fake_ollama import FakeOllama
from test_ws import frames_until, signed_in

ASK = "/api/v1/ask"
QUESTION = "how many failed password attempts for root?"
HANG = 60.0  # a hang guard, not a timing assertion


@pytest.fixture(params=["alone", "redis"])
def settings(request: pytest.FixtureRequest, settings: Any, fake_ollama: FakeOllama) -> Any:
    fake_ollama.reply = "Two failed passwords for root [E1]."
    llm = {"provider": "ollama", "model": "llama3.2", "base_url": fake_ollama.url, "timeout_seconds": 30.0,
           "connect_timeout_seconds": 5.0}  # fmt: skip
    serve = settings.serve.model_copy(update={"questions_per_user": 3})
    update = {"llm": settings.llm.model_copy(update=llm), "serve": serve}
    if request.param == "redis":
        update["redis"] = settings.redis.model_copy(update={
            "url": request.getfixturevalue("redis_url"), "key_prefix": request.getfixturevalue("redis_prefix")})
    return settings.model_copy(update=update)


def _release(server: FakeOllama) -> None:
    assert server._loop is not None and server._stopping is not None
    server._loop.call_soon_threadsafe(server._stopping.set)


async def _models_busy(server: FakeOllama, count: int) -> None:
    async with asyncio.timeout(HANG):
        while len(server.chat_requests) < count:
            await asyncio.sleep(0.05)


async def test_one_account_is_limited_over_sockets_and_requests_and_others_go_on(
    client: Any, tokens: dict[str, str], small_store: Any, fake_ollama: FakeOllama,
) -> None:
    fake_ollama.chunk_delay = HANG  # one token, then every answer stalls until released
    viewer = bearer(tokens["viewer"])
    ws = await signed_in(client, tokens["viewer"])
    other = await signed_in(client, tokens["analyst"])
    plain = asyncio.ensure_future(client.post(ASK, json={"question": QUESTION}, headers=viewer))
    streamed = await client.post(ASK, json={"question": QUESTION, "stream": True}, headers=viewer)
    await ws.send_json({"type": "ask", "id": "q1", "question": QUESTION})
    try:
        await _models_busy(fake_ollama, 3)
        # The viewer's fourth question, by either path, is refused; the socket stays usable.
        refused = await client.post(ASK, json={"question": QUESTION}, headers=viewer)
        assert refused.status == 429
        error = (await refused.json())["error"]
        assert error["code"] == "too_many_questions" and "at most 3 questions at once" in error["message"]
        refused_stream = await client.post(ASK, json={"question": QUESTION, "stream": True}, headers=viewer)
        assert refused_stream.status == 429  # refused before any stream starts
        await ws.send_json({"type": "ask", "id": "q2", "question": QUESTION})
        frame = (await frames_until(ws, "error", "q2"))[-1]
        assert (frame["type"], frame["code"]) == ("error", "too_many_questions")
        # Another account has its own allowance.
        await other.send_json({"type": "ask", "id": "a1", "question": QUESTION})
        await _models_busy(fake_ollama, 4)
    finally:
        _release(fake_ollama)
    assert (await asyncio.wait_for(plain, HANG)).status == 200
    assert "event: answer" in await asyncio.wait_for(streamed.text(), HANG)
    assert (await frames_until(ws, "answer", "q1"))[-1]["type"] == "answer"
    assert (await frames_until(other, "answer", "a1"))[-1]["type"] == "answer"
    # Every slot came back: the viewer may ask three at once again.
    fake_ollama.chunk_delay = 0.0
    again = await asyncio.wait_for(asyncio.gather(*(
        client.post(ASK, json={"question": QUESTION, "no_llm": True}, headers=viewer) for _ in range(3))), HANG)
    assert [response.status for response in again] == [200, 200, 200]
    await ws.close()
    await other.close()


async def test_a_client_that_leaves_gives_its_slot_back_when_its_answer_stops(
    client: Any, tokens: dict[str, str], small_store: Any, fake_ollama: FakeOllama, services: Any,
) -> None:
    fake_ollama.reply = " ".join(["word"] * 600) + " [E1]"
    fake_ollama.chunk_delay = 0.2
    viewer = bearer(tokens["viewer"])
    leaving = [await client.post(ASK, json={"question": QUESTION, "stream": True}, headers=viewer)
               for _ in range(3)]
    for response in leaving:
        assert (await asyncio.wait_for(response.content.readuntil(b"\n\n"), HANG)).startswith(b"event: token")
        response.close()
    # The abandoned answers stop at the model's next token and give their slots back: the account's
    # questions are refused until then, and then all three are free again.
    fake_ollama.chunk_delay = 0.0
    async with asyncio.timeout(HANG):
        while True:
            tries = await asyncio.gather(*(
                client.post(ASK, json={"question": QUESTION, "no_llm": True}, headers=viewer) for _ in range(3)))
            if [response.status for response in tries] == [200, 200, 200]:
                break
            assert {response.status for response in tries} <= {200, 429}
            await asyncio.sleep(0.1)
