"""OpenTelemetry traces with the SDK's in-memory exporter: a request is a server span named by its
route template with the request id, a question's parse, retrieve, aggregate and model phases are its
children (also across the worker thread), a chat question is a trace of its own, and each ingestion
batch is a span. Off unless the OTEL_* variables ask for it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import bearer
from fake_ollama import FakeOllama
from test_ws import frames_until, signed_in

from logchat.observability import tracing


@pytest.fixture
def spans() -> Iterator[Any]:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    assert tracing.setup(exporter)
    yield exporter
    tracing.shutdown()


def _by_name(exporter: Any) -> dict[str, Any]:
    return {span.name: span for span in exporter.get_finished_spans()}


@pytest.mark.parametrize(("environment", "on"), [
    ({}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
    ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
    ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
    ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, False),
])
def test_the_standard_variables_turn_tracing_on(environment: dict[str, str], on: bool) -> None:
    assert tracing.wanted(environment) is on


async def test_a_question_over_http_is_one_trace_with_its_phases(
    client: Any, tokens: dict[str, str], small_store: Any, services: Any, fake_ollama: FakeOllama, spans: Any,
) -> None:
    fake_ollama.reply = "Two failed passwords for root [E1]."
    services.settings = services.settings.model_copy(update={"llm": services.settings.llm.model_copy(update={
        "provider": "ollama", "base_url": fake_ollama.url, "timeout_seconds": 10.0})})
    response = await client.post("/api/v1/ask", json={"question": "failed password for root"},
                                 headers=bearer(tokens["viewer"]))
    assert response.status == 200 and (await response.json())["mode"] == "llm"
    found = _by_name(spans)
    request = found["POST /api/v1/ask"]
    assert request.attributes["http.route"] == "/api/v1/ask"
    assert request.attributes["http.response.status_code"] == 200
    assert request.attributes["logchat.request_id"] == response.headers["X-Request-ID"]
    ask = found["ask"]
    assert ask.parent.span_id == request.context.span_id  # continued in the answers' worker thread
    for phase in ("ask.parse", "ask.retrieve", "ask.aggregate", "ask.llm"):
        assert found[phase].parent.span_id == ask.context.span_id, phase
        assert found[phase].context.trace_id == request.context.trace_id
    assert found["ask.retrieve"].attributes["logchat.matched"] == 2
    assert found["ask.parse"].end_time <= found["ask.retrieve"].start_time + 1
    assert found["ask.llm"].attributes["gen_ai.request.model"] == services.settings.llm.model


async def test_a_chat_question_is_a_trace_of_its_own(client: Any, tokens: dict[str, str], small_store: Any,
                                                    spans: Any) -> None:
    ws = await signed_in(client, tokens["viewer"])
    await ws.send_json({"type": "ask", "id": "q1", "question": "failed password", "no_llm": True})
    answer = (await frames_until(ws, "answer", "q1"))[-1]
    await ws.close()
    async with asyncio.timeout(30):
        while "chat question" not in _by_name(spans):
            await asyncio.sleep(0.05)
    found = _by_name(spans)
    question = found["chat question"]
    assert question.attributes["logchat.request_id"] == answer["request_id"]
    assert found["ask"].parent.span_id == question.context.span_id
    socket = found["GET /api/v1/ws"]  # ended when the socket closed
    assert question.context.trace_id != socket.context.trace_id
    assert [link.context.span_id for link in question.links] == [socket.context.span_id]


def test_each_ingestion_batch_is_a_span(store: Any, settings: Any, tmp_path: Path, spans: Any) -> None:
    from logchat.services.ingest import index_inputs

    log = tmp_path / "app.log"
    log.write_text("".join(f"2026-01-05T10:00:{n % 60:02d}+00:00 web-01 app[1]: job {n} done\n" for n in range(50)))
    with tracing.span("index"):
        report = index_inputs(store, settings, [str(log)])
    batches = [span for span in spans.get_finished_spans() if span.name == "ingest.batch"]
    assert batches and sum(span.attributes["logchat.events"] for span in batches) == report.new_events == 50
    assert {span.attributes["logchat.source"] for span in batches} == {"app.log"}


def test_tracing_off_costs_nothing_and_records_nothing() -> None:
    assert not tracing.active()
    with tracing.span("anything") as current:
        assert current is None
    tracing.record_span("ask.parse", 0, 1)  # no tracer: nothing to do, nothing raised
