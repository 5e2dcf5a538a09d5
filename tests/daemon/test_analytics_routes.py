"""Usage analytics through the front ends: questions asked over REST (JSON and Server-Sent Events),
the chat socket and the command line are each recorded once, with who asked, the mode, the matches
and the timings; `GET /api/v1/analytics/usage` is what `logchat stat --usage --json` prints; only
holders of analytics:read may read it."""

from __future__ import annotations

from typing import Any

import pytest
from daemon_helpers import bearer, cli_json
from fake_ollama import FakeOllama
from sqlalchemy import select
from test_ws import frames_until, signed_in

from logchat.daemon.routes.analytics import QuestionShapes, UsageSummary
from logchat.observability.audit import local_user
from logchat.storage.models import UsageRecord

USAGE = "/api/v1/analytics/usage"
QUESTIONS = "/api/v1/analytics/questions"
NOW = "2026-01-05 12:00"
REPLY = "Two failed passwords for root [E1], from two addresses [E2]."


@pytest.fixture
def settings(settings: Any, fake_ollama: FakeOllama) -> Any:
    fake_ollama.reply = REPLY
    llm = {"provider": "ollama", "model": "llama3.2", "base_url": fake_ollama.url, "timeout_seconds": 30.0,
           "connect_timeout_seconds": 5.0}  # fmt: skip
    return settings.model_copy(update={"llm": settings.llm.model_copy(update=llm)})


async def _ask(client: Any, token: str, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/ask", json={"now": NOW, **body}, headers=bearer(token))
    assert response.status == 200, await response.text()
    if body.get("stream"):
        text = await response.text()
        return {"streamed": text}
    return await response.json()  # type: ignore[no-any-return]


async def _ask_everywhere(client: Any, tokens: dict[str, str], settings: Any, fake_ollama: FakeOllama) -> None:
    """Five questions: two viewers' over REST (one written by the model, one where the model fails),
    the analyst's over Server-Sent Events (matching nothing) and over the chat socket, and one from
    the command line."""
    answered = await _ask(client, tokens["viewer"], question="how many failed password attempts for root?")
    assert answered["mode"] == "llm" and answered["matched"] == 2
    fake_ollama.error_after_chunks = 1
    failed = await _ask(client, tokens["viewer"], question="failed password for admin on web-02")
    assert failed["mode"] == "extractive" and failed["llm_error"]
    fake_ollama.reset()
    await _ask(client, tokens["analyst"], question="quokka xylophone 9999", stream=True)
    ws = await signed_in(client, tokens["analyst"])
    await ws.send_json({"type": "ask", "id": "q1", "question": "failed password", "no_llm": True})
    assert (await frames_until(ws, "answer", "q1"))[-1]["matched"] == 3
    await ws.close()
    cli = cli_json(settings, "ask", "quokka xylophone 8888", "--no-llm", "--now", NOW)
    assert cli["matched"] == 0


async def test_every_front_end_records_each_answer_once(client: Any, tokens: dict[str, str], small_store: Any,
                                                       settings: Any, fake_ollama: FakeOllama) -> None:
    await _ask_everywhere(client, tokens, settings, fake_ollama)
    with small_store.session() as session:
        rows = session.scalars(select(UsageRecord).order_by(UsageRecord.id)).all()
    me = local_user().name
    assert [(r.actor, r.front_end, r.mode, r.matched) for r in rows] == [
        ("viewer", "http", "llm", 2),
        ("viewer", "http", "extractive", 1),
        ("analyst", "http", "extractive", 0),
        ("analyst", "ws", "extractive", 3),
        (me, "cli", "extractive", 0),
    ]
    assert [r.llm_error is not None for r in rows] == [False, True, False, False, False]
    assert rows[0].llm_ms > 0 and rows[0].first_token_ms is not None
    for row in rows:
        # The total is the whole answer, of which parse, retrieval and the model are parts.
        assert row.total_ms + 0.2 >= row.parse_ms + row.retrieve_ms + row.llm_ms
        assert row.request_id or row.front_end == "cli"
    assert rows[0].actor_id is not None and rows[4].actor_id is None
    assert rows[2].shape == rows[4].shape == "quokka xylophone <NUM>"


async def test_the_usage_summary_is_what_stat_usage_prints(client: Any, tokens: dict[str, str], small_store: Any,
                                                          settings: Any, fake_ollama: FakeOllama) -> None:
    await _ask_everywhere(client, tokens, settings, fake_ollama)
    response = await client.get(USAGE, headers=bearer(tokens["analyst"]))
    assert response.status == 200, await response.text()
    body = await response.json()
    UsageSummary.model_validate(body)  # what the OpenAPI document promises
    assert body == cli_json(settings, "stat", "--usage")

    totals = body["totals"]
    assert (totals["questions"], totals["users"], totals["llm"], totals["extractive"]) == (5, 3, 1, 4)
    assert (totals["llm_errors"], totals["unanswered"]) == (1, 2)
    assert totals["by_front_end"] == {"cli": 1, "http": 3, "ws": 1}
    assert [(u["user"], u["questions"]) for u in body["per_user"]] == [
        ("analyst", 2), ("viewer", 2), (local_user().name, 1)]
    assert len(body["per_day"]) == 1 and body["per_day"][0]["questions"] == 5
    assert body["unanswered"][0]["shape"] == "quokka xylophone <NUM>"
    assert body["unanswered"][0]["questions"] == 2 and body["unanswered"][0]["users"] == 2
    assert body["latency_ms"]["total"]["all"]["count"] == 5
    assert body["latency_ms"]["total"]["llm"]["count"] == 1
    assert {"name": "auth.log", "questions": 3} in body["answered_from"]

    mine = await client.get(USAGE, params={"user": "viewer", "top": "1"}, headers=bearer(tokens["admin"]))
    viewer = await mine.json()
    assert viewer["totals"]["questions"] == 2 and viewer["filters"]["user"] == "viewer"
    assert viewer == cli_json(settings, "stat", "--usage", "--user", "viewer", "--top", "1")

    shapes = await client.get(QUESTIONS, params={"unanswered": "true"}, headers=bearer(tokens["analyst"]))
    listed = await shapes.json()
    QuestionShapes.model_validate(listed)
    assert [s["shape"] for s in listed["shapes"]] == ["quokka xylophone <NUM>"]
    everything = await (await client.get(QUESTIONS, headers=bearer(tokens["analyst"]))).json()
    assert len(everything["shapes"]) == 5 - 1  # the two quokka questions share a shape


async def test_viewers_may_not_read_usage(client: Any, tokens: dict[str, str]) -> None:
    for path in (USAGE, QUESTIONS):
        response = await client.get(path, headers=bearer(tokens["viewer"]))
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "forbidden"
        assert (await client.get(path, headers=bearer(tokens["analyst"]))).status == 200


async def test_a_bad_window_names_its_field(client: Any, tokens: dict[str, str]) -> None:
    response = await client.get(USAGE, params={"since": "the day after never"}, headers=bearer(tokens["analyst"]))
    assert response.status in (400, 422)
    assert (await response.json())["error"]["field"] == "since"
    response = await client.get(USAGE, params={"top": "0"}, headers=bearer(tokens["analyst"]))
    assert response.status == 422 and (await response.json())["error"]["field"] == "top"


async def test_a_model_stopped_for_time_is_one_record_with_its_error(
    client: Any, tokens: dict[str, str], small_store: Any, settings: Any, fake_ollama: FakeOllama
) -> None:
    # As in test_ask_routes: each token within llm.timeout_seconds, the whole answer not within twice it.
    settings.llm.timeout_seconds = 2.0
    fake_ollama.chunk_delay = 1.0
    answer = await _ask(client, tokens["viewer"], question="how many failed password attempts for root?")
    assert answer["mode"] == "extractive" and "still writing" in answer["llm_error"]
    with small_store.session() as session:
        rows = session.scalars(select(UsageRecord)).all()
    assert [(r.mode, r.matched, r.front_end) for r in rows] == [("extractive", 2, "http")]
    assert "still writing after 4 s" in (rows[0].llm_error or "")
    # The answer's time includes the model's, which ran until it was stopped at twice the timeout.
    assert rows[0].total_ms >= 4000
