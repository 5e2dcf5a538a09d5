"""`POST /api/v1/ask` against a small indexed store and the fake Ollama server: the `ask --json` contract
as JSON and as Server-Sent Events, refusals naming the field, and the event loop staying free while
many slow answers are in flight."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

import pytest
from daemon_helpers import bearer, cli_json
from fake_ollama import FakeOllama

from logchat.daemon.routes.ask import AskAnswer

ASK = "/api/v1/ask"
QUESTION = "how many failed password attempts for root?"
REPLY = "Two failed passwords for root [E1], from two addresses [E2]."
# The computed result leads a model's answer, then the model's words.
ANSWER = "There were 2 matching events.\n" + REPLY
# A hang guard, not a timing assertion: a test stuck this long has failed.
HANG = 60.0


@pytest.fixture
def settings(settings: Any, fake_ollama: FakeOllama) -> Any:
    """The shared settings, with the fake Ollama server as the chat model."""
    fake_ollama.reply = REPLY
    llm = {"provider": "ollama", "model": "llama3.2", "base_url": fake_ollama.url, "timeout_seconds": 30.0,
           "connect_timeout_seconds": 5.0}  # fmt: skip
    # Twenty answers in flight from one account (below): above the default per-account limit, which
    # tests/daemon/test_question_quota.py covers.
    serve = settings.serve.model_copy(update={"questions_per_user": 20})
    return settings.model_copy(update={"llm": settings.llm.model_copy(update=llm), "serve": serve})


def _events(text: str) -> list[tuple[str, Any]]:
    """The (event, data) pairs of a Server-Sent Events body; comment lines are skipped."""
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


async def _ask(client: Any, token: str, **body: Any) -> tuple[int, dict[str, Any]]:
    response = await client.post(ASK, json=body, headers=bearer(token))
    return response.status, await response.json()


async def test_the_json_answer_is_the_cli_contract(client: Any, tokens: dict[str, str], small_store: Any,
                                                  settings: Any) -> None:
    status, body = await _ask(client, tokens["viewer"], question=QUESTION, no_llm=True, now="2026-01-05 12:00",
                              hosts=["web-01", "web-02"])
    assert status == 200, body
    cli = cli_json(settings, "ask", QUESTION, "--no-llm", "--now", "2026-01-05 12:00", "--host", "web-01",
                   "--host", "web-02")
    assert set(body) == set(cli)
    AskAnswer.model_validate(body)  # what the OpenAPI document promises
    assert body["timings_ms"].keys() == cli["timings_ms"].keys()
    body.pop("timings_ms"), cli.pop("timings_ms")
    assert body == cli
    assert body["mode"] == "extractive" and body["matched"] == 2
    assert body["answer"].startswith("There were 2 matching events.\n")
    assert {item["line"] for item in body["evidence"]} >= {1, 2}
    assert body["plan"]["operation"]["kind"] == "count"  # how the question was read, as `ask --explain` shows


async def test_the_openapi_document_describes_the_plan(client: Any) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert "plan" in schemas["AskAnswer"]["properties"]
    assert set(schemas["PlanOut"]["properties"]) == {"question", "filters", "terms", "conditions", "operation",
                                                     "ignored", "notes"}


async def test_a_model_answer_as_json(client: Any, tokens: dict[str, str], small_store: Any,
                                     fake_ollama: FakeOllama) -> None:
    status, body = await _ask(client, tokens["viewer"], question=QUESTION)
    assert status == 200, body
    AskAnswer.model_validate(body)
    assert body["mode"] == "llm" and body["answer"] == ANSWER and body["citations"] == ["E1", "E2"]
    assert body["matched"] == 2 and body["session"] is None
    assert len(fake_ollama.chat_requests) == 1


@pytest.mark.parametrize("how", ["accept", "flag"])
async def test_tokens_stream_as_events_then_the_answer(client: Any, tokens: dict[str, str], small_store: Any,
                                                      how: str) -> None:
    body: dict[str, Any] = {"question": QUESTION}
    headers = bearer(tokens["viewer"])
    if how == "accept":
        headers["Accept"] = "text/event-stream"
    else:
        body["stream"] = True
    response = await client.post(ASK, json=body, headers=headers)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["X-Content-Type-Options"] == "nosniff" and response.headers["X-Request-ID"]
    events = _events(await response.text())
    names = [name for name, _ in events]
    assert names[-1] == "answer" and names.count("answer") == 1
    tokens_seen = [data["text"] for name, data in events if name == "token"]
    assert len(tokens_seen) > 3 and "".join(tokens_seen) == ANSWER
    assert names[: len(tokens_seen)] == ["token"] * len(tokens_seen)  # tokens first, as they arrive
    answer = events[-1][1]
    assert answer["mode"] == "llm" and answer["answer"] == ANSWER and answer["matched"] == 2


async def test_no_llm_streams_the_extractive_answer(client: Any, tokens: dict[str, str], small_store: Any,
                                                   fake_ollama: FakeOllama) -> None:
    response = await client.post(ASK, json={"question": QUESTION, "no_llm": True, "stream": True},
                                 headers=bearer(tokens["analyst"]))
    events = _events(await response.text())
    assert [name for name, _ in events] == ["answer"]
    assert events[0][1]["mode"] == "extractive" and events[0][1]["matched"] == 2
    assert fake_ollama.chat_requests == []


async def test_notices_stream_before_the_answer(client: Any, tokens: dict[str, str], small_store: Any) -> None:
    response = await client.post(ASK, json={"question": "how many failed logins from 192.168.99.99?", "stream": True},
                                 headers=bearer(tokens["viewer"]))
    events = _events(await response.text())
    notices = [data["message"] for name, data in events if name == "notice"]
    assert [name for name, _ in events] == ["notice"] * len(notices) + ["answer"]
    assert "nothing matched, so no model was asked" in notices
    assert events[-1][1]["notices"] == notices and events[-1][1]["matched"] == 0


async def test_a_model_that_keeps_talking_falls_back_to_extractive(
    client: Any, tokens: dict[str, str], small_store: Any, settings: Any, fake_ollama: FakeOllama
) -> None:
    # Each token comes well within llm.timeout_seconds, the whole answer does not come within twice it.
    # (Generous margins: a loaded machine may delay the first token by a second.)
    settings.llm.timeout_seconds = 2.0
    fake_ollama.chunk_delay = 1.0
    response = await client.post(ASK, json={"question": QUESTION, "stream": True}, headers=bearer(tokens["viewer"]))
    events = _events(await response.text())
    assert events[0][0] == "token" and events[-1][0] == "answer"
    answer = events[-1][1]
    assert answer["mode"] == "extractive" and answer["matched"] == 2
    assert "still writing after 4 s" in answer["llm_error"]
    assert answer["notices"][0] == answer["llm_error"]
    assert ("notice", {"message": answer["llm_error"]}) in events


async def test_a_client_leaving_mid_stream_stops_its_answer(
    client: Any, tokens: dict[str, str], small_store: Any, fake_ollama: FakeOllama, services: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    workers = services.settings.serve.answer_threads
    fake_ollama.reply = " ".join(["word"] * 600) + " [E1]"
    fake_ollama.chunk_delay = 0.2  # the whole answer would take two minutes
    caplog.set_level(logging.WARNING)
    response = await client.post(ASK, json={"question": QUESTION, "stream": True}, headers=bearer(tokens["viewer"]))
    first = await asyncio.wait_for(response.content.readuntil(b"\n\n"), HANG)
    assert first.startswith(b"event: token")
    response.close()  # the client goes away mid-answer
    # The worker stops at the model's next token: every answer worker is soon free at once (the barrier
    # breaks after HANG seconds if one of them is still busy with the abandoned answer).
    barrier = threading.Barrier(workers, timeout=HANG)
    loop = asyncio.get_running_loop()
    await asyncio.gather(*(loop.run_in_executor(services.answers, barrier.wait) for _ in range(workers)))
    fake_ollama.reply, fake_ollama.chunk_delay = REPLY, 0.0
    status, body = await _ask(client, tokens["viewer"], question=QUESTION)
    assert status == 200 and body["mode"] == "llm"
    assert not [record for record in caplog.records if record.name.startswith("logchat")], caplog.text


async def test_an_answer_whose_client_left_while_it_waited_is_never_started(
    client: Any, tokens: dict[str, str], small_store: Any, fake_ollama: FakeOllama, services: Any,
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from logchat.daemon.routes import ask as ask_routes

    workers = services.settings.serve.answer_threads

    monkeypatch.setattr(ask_routes, "KEEPALIVE_SECONDS", 0.05)
    caplog.set_level(logging.INFO, logger=ask_routes.__name__)
    fake_ollama.chunk_delay = HANG
    busy = [asyncio.ensure_future(_ask(client, tokens["viewer"], question=QUESTION)) for _ in range(workers)]
    try:
        async with asyncio.timeout(HANG):
            while len(fake_ollama.chat_requests) < workers:
                await asyncio.sleep(0.05)
        waiting = await client.post(ASK, json={"question": QUESTION, "stream": True},
                                    headers=bearer(tokens["analyst"]))
        # Nothing to say while it waits for a worker but a keep-alive comment.
        assert await asyncio.wait_for(waiting.content.readuntil(b"\n\n"), HANG) == b": keep-alive\n\n"
        waiting.close()
        async with asyncio.timeout(HANG):  # the next keep-alive finds the client gone
            while "a client left" not in caplog.text:
                await asyncio.sleep(0.05)
    finally:
        _release(fake_ollama)
    for status, body in await asyncio.wait_for(asyncio.gather(*busy), HANG):
        assert status == 200 and body["mode"] == "llm"
    barrier = threading.Barrier(workers, timeout=HANG)  # every job queued before it has run
    loop = asyncio.get_running_loop()
    await asyncio.gather(*(loop.run_in_executor(services.answers, barrier.wait) for _ in range(workers)))
    assert len(fake_ollama.chat_requests) == workers  # the abandoned answer never asked the model


async def test_ask_refusals_name_the_field(client: Any, tokens: dict[str, str]) -> None:
    cases = [
        ({"question": QUESTION, "session": "bell\x07name"}, 422, "session"),
        ({"question": QUESTION, "session": "   "}, 422, "session"),
        ({"question": "   "}, 422, "question"),
        ({}, 422, "question"),
        ({"question": QUESTION, "levels": ["loud"]}, 400, "levels"),
        ({"question": QUESTION, "since": "the day after never"}, 400, "since"),
        ({"question": QUESTION, "now": "someday"}, 400, "now"),
        ({"question": QUESTION, "no_llm": "perhaps"}, 422, "no_llm"),
        ({"question": QUESTION, "colour": "red"}, 422, "colour"),
    ]
    for body, status, field in cases:
        got, answer = await _ask(client, tokens["viewer"], **body)
        assert (got, answer["error"].get("field")) == (status, field), (body, answer)
        assert field in answer["error"]["message"], answer
    got, answer = await _ask(client, tokens["viewer"], question=QUESTION, since="2026-01-06", until="2026-01-05")
    assert got == 400 and answer["error"]["code"] == "invalid_time_range"


async def test_a_question_the_service_refuses_is_an_error_event_or_a_400(
    client: Any, tokens: dict[str, str], small_store: Any
) -> None:
    question = "errors between 10am and 9am"  # a 23-hour wrap reads as a slip: the service refuses it
    status, body = await _ask(client, tokens["viewer"], question=question)
    assert status == 400 and body["error"]["code"] == "invalid_time_range"
    response = await client.post(ASK, json={"question": question, "stream": True}, headers=bearer(tokens["viewer"]))
    assert response.status == 200  # the stream had begun when the service read the question
    assert _events(await response.text()) == [("error", body)]


async def test_every_role_may_ask_and_nobody_without_a_token(client: Any, tokens: dict[str, str],
                                                            small_store: Any) -> None:
    for role in ("viewer", "analyst", "admin"):
        status, body = await _ask(client, tokens[role], question=QUESTION, no_llm=True)
        assert status == 200 and body["matched"] == 2, (role, body)
    anonymous = await client.post(ASK, json={"question": QUESTION})
    assert anonymous.status == 401
    assert (await anonymous.json())["error"]["code"] == "token_invalid"
    streaming = await client.post(ASK, json={"question": QUESTION}, headers={"Accept": "text/event-stream"})
    assert streaming.status == 401  # refused before any stream starts


async def test_slow_answers_never_block_the_loop_nor_quick_requests(
    client: Any, tokens: dict[str, str], small_store: Any, fake_ollama: FakeOllama, services: Any,
) -> None:
    """While 20 slow answers are in flight against a slow chat model, /healthz answers and a second
    user's /stat completes."""
    workers = services.settings.serve.answer_threads
    fake_ollama.chunk_delay = HANG  # one token, then the model stalls until released below

    async def ask(index: int) -> tuple[int, str]:
        body = {"question": QUESTION, "stream": index % 2 == 0}
        response = await client.post(ASK, json=body, headers=bearer(tokens["viewer"]))
        return response.status, await response.text()

    asks = [asyncio.ensure_future(ask(index)) for index in range(20)]
    try:
        # Every answer worker is inside the model (the other answers wait for one of them).
        async with asyncio.timeout(HANG):
            while len(fake_ollama.chat_requests) < workers:
                await asyncio.sleep(0.05)
        alive = await asyncio.wait_for(client.get("/healthz"), HANG)
        assert alive.status == 200
        stats = await asyncio.wait_for(client.get("/api/v1/logs/stats", headers=bearer(tokens["analyst"])), HANG)
        assert stats.status == 200 and (await stats.json())["total"] == 7
        assert not any(task.done() for task in asks)  # all twenty still in flight
    finally:
        _release(fake_ollama)
    results = await asyncio.wait_for(asyncio.gather(*asks), HANG)
    for index, (status, text) in enumerate(results):
        assert status == 200
        answer = _events(text)[-1][1] if index % 2 == 0 else json.loads(text)
        assert answer["mode"] == "llm" and answer["answer"] == ANSWER
    assert len(fake_ollama.chat_requests) == 20


def _release(server: FakeOllama) -> None:
    # The fake server's pauses end when it starts stopping; it goes on serving until stop().
    assert server._loop is not None and server._stopping is not None
    server._loop.call_soon_threadsafe(server._stopping.set)


async def test_questions_in_a_session_are_kept_for_their_user_only(client: Any, tokens: dict[str, str],
                                                                   small_store: Any) -> None:
    status, first = await _ask(client, tokens["viewer"], question="failed password on web-01", session="incident-42",
                               no_llm=True)
    assert status == 200 and first["session"] == "incident-42"
    status, follow = await _ask(client, tokens["viewer"], question="and which addresses?", session="incident-42",
                                no_llm=True)
    assert status == 200 and follow["filters"]["from_session"] is True
    mine = await client.get("/api/v1/chat/sessions/incident-42/messages", headers=bearer(tokens["viewer"]))
    assert mine.status == 200
    newest_first = [turn["question"] for turn in (await mine.json())["messages"]]
    assert newest_first == ["and which addresses?", "failed password on web-01"]
    theirs = await client.get("/api/v1/chat/sessions/incident-42/messages", headers=bearer(tokens["analyst"]))
    assert theirs.status == 404  # another user's session is not there for them
    status, fresh = await _ask(client, tokens["analyst"], question="and which addresses?", session="incident-42",
                               no_llm=True)
    assert status == 200 and fresh["filters"].get("from_session") is not True  # no scope from the viewer's session
