"""`/metrics`: real requests through the real application, then the exposition read back with
prometheus_client's own parser. Labels are route templates and configured names, never raw input."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import bearer
from fake_ollama import FakeOllama

METRICS = "/metrics"
HANG = 60.0


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample as (name, labels) -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def series(samples: dict[Any, float], name: str) -> list[dict[str, str]]:
    return [dict(labels) for (sample_name, labels) in samples if sample_name == name]


async def scrape(client: Any, headers: dict[str, str] | None = None) -> dict[Any, float]:
    response = await client.get(METRICS, headers=headers or {})
    text = await response.text()
    assert response.status == 200, text
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse(text)


async def test_requests_are_counted_by_route_template_with_one_label_for_unmatched_paths(
    client: Any, tokens: dict[str, str]
) -> None:
    for _ in range(3):
        assert (await client.get("/healthz")).status == 200
    for job in ("first-missing-job", "second-missing-job"):
        response = await client.get(f"/api/v1/logs/jobs/{job}", headers=bearer(tokens["admin"]))
        assert response.status == 404
    for path in ("/no/such/page", "/another/unknown/path?q=secret", "/api/v1/nothing-here"):
        assert (await client.get(path)).status == 404
    assert (await client.request("TRACE", "/healthz")).status == 405

    samples = await scrape(client)
    assert value(samples, "logchat_http_requests_total", route="/healthz", method="GET", status="200") == 3
    assert value(samples, "logchat_http_requests_total", route="/api/v1/logs/jobs/{id}", method="GET",
                 status="404") == 2
    assert value(samples, "logchat_http_requests_total", route="unmatched", method="GET", status="404") == 3
    assert value(samples, "logchat_http_requests_total", route="unmatched", method="other", status="405") == 1
    assert value(samples, "logchat_http_request_duration_seconds_count", route="/healthz", method="GET") == 3
    every_label = {v for labels in series(samples, "logchat_http_requests_total") for v in labels.values()}
    assert not any("missing-job" in label or "unknown" in label or "secret" in label or label == "TRACE"
                   for label in every_label), every_label


async def test_store_sizes_and_the_logs_own_levels_come_from_the_database(client: Any, small_store: Any) -> None:
    samples = await scrape(client)
    assert value(samples, "logchat_store_up") == 1
    assert value(samples, "logchat_store_events") == 7
    assert value(samples, "logchat_store_templates") >= 3
    assert value(samples, "logchat_store_database_bytes") > 0
    levels = {labels["level"]: samples[("logchat_log_events_total", frozenset(labels.items()))]
              for labels in series(samples, "logchat_log_events_total")}
    assert sum(levels.values()) == 7
    # The file was indexed ad hoc, not from [[sources]]: its name is not a label.
    assert series(samples, "logchat_ingest_lag_seconds") == [{"source": "other"}]
    newest = value(samples, "logchat_ingest_newest_event_timestamp_seconds", source="other")
    assert newest == 1767607206.0  # 2026-01-05T10:00:06Z, the newest line
    top = series(samples, "logchat_log_template_events_total")
    assert 1 <= len(top) <= 10 and all(labels["template"] for labels in top)


async def test_store_values_are_read_once_per_cache_period_however_often_anyone_scrapes(
    client: Any, services: Any, small_store: Any
) -> None:
    collector = services.metrics.store
    collector.cache_seconds = 3600
    before = collector.reads
    await asyncio.gather(*(scrape(client) for _ in range(8)))
    assert collector.reads - before <= 1


@pytest.fixture
def ollama_settings(settings: Any, fake_ollama: FakeOllama) -> Any:
    fake_ollama.reply = "Two failed passwords for root [E1]."
    llm = {"provider": "ollama", "model": "llama3.2", "base_url": fake_ollama.url, "timeout_seconds": 30.0,
           "connect_timeout_seconds": 5.0}
    settings.llm = settings.llm.model_copy(update=llm)
    return settings


async def test_questions_by_mode_with_stage_latencies_tokens_and_fallbacks(
    client: Any, tokens: dict[str, str], small_store: Any, ollama_settings: Any, fake_ollama: FakeOllama
) -> None:
    question = {"question": "how many failed password attempts for root?", "now": "2026-01-05 12:00"}
    response = await client.post("/api/v1/ask", json={**question, "no_llm": True}, headers=bearer(tokens["viewer"]))
    assert response.status == 200
    response = await client.post("/api/v1/ask", json=question, headers=bearer(tokens["viewer"]))
    assert (await response.json())["mode"] == "llm"
    fake_ollama.error_after_chunks = 1
    response = await client.post("/api/v1/ask", json=question, headers=bearer(tokens["viewer"]))
    assert (await response.json())["mode"] == "extractive"

    samples = await scrape(client)
    assert value(samples, "logchat_questions_total", mode="extractive") == 2
    assert value(samples, "logchat_questions_total", mode="llm") == 1
    assert value(samples, "logchat_question_duration_seconds_count", mode="llm") == 1
    assert value(samples, "logchat_question_stage_duration_seconds_count", stage="parse") == 3
    assert value(samples, "logchat_question_stage_duration_seconds_count", stage="retrieve") == 3
    assert value(samples, "logchat_question_stage_duration_seconds_count", stage="llm") == 2
    assert value(samples, "logchat_llm_requests_total", outcome="ok") == 1
    assert value(samples, "logchat_llm_requests_total", outcome="error") == 1
    assert value(samples, "logchat_llm_errors_total", kind="response") == 1
    assert value(samples, "logchat_llm_fallbacks_total", reason="error") == 1
    assert value(samples, "logchat_llm_tokens_total", direction="in") > 0
    assert value(samples, "logchat_llm_tokens_total", direction="out") > 0


async def test_an_unreachable_model_is_a_fallback_of_its_own(client: Any, tokens: dict[str, str], small_store: Any,
                                                              settings: Any) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.llm = settings.llm.model_copy(update={"provider": "ollama", "base_url": f"http://127.0.0.1:{port}",
                                                   "connect_timeout_seconds": 2.0})
    response = await client.post("/api/v1/ask", json={"question": "failed password for root", "now": "2026-01-06"},
                                 headers=bearer(tokens["viewer"]))
    assert response.status == 200
    samples = await scrape(client)
    assert value(samples, "logchat_llm_requests_total", outcome="unreachable") == 1
    assert value(samples, "logchat_llm_fallbacks_total", reason="unreachable") == 1


async def test_sign_ins_failures_by_reason_and_rate_limit_rejections(client: Any, services: Any) -> None:
    from daemon_helpers import PASSWORD

    services.rate_limiter.limits["login"] = 3
    # The middle of one window, however long the sign-ins take: a window boundary would reset the count.
    services.rate_limiter._clock = lambda: 30_000_030.0
    login = "/api/v1/auth/login"
    assert (await client.post(login, json={"username": "viewer", "password": PASSWORD})).status == 200
    assert (await client.post(login, json={"username": "viewer", "password": "wrong password"})).status == 401
    assert (await client.post(login, json={"username": "nobody-at-all", "password": "x"})).status == 401
    assert (await client.post(login, json={"username": "viewer", "password": PASSWORD})).status == 429
    samples = await scrape(client)
    assert value(samples, "logchat_logins_total") == 1
    assert value(samples, "logchat_login_failures_total", reason="invalid_credentials") == 2
    assert value(samples, "logchat_rate_limit_rejections_total", bucket="login") == 1
    every_label = {v for (name, labels) in samples for _, v in labels if name.startswith("logchat_log")}
    assert "nobody-at-all" not in every_label and "viewer" not in every_label


async def test_websocket_connections_and_frames(client: Any, tokens: dict[str, str], small_store: Any) -> None:
    async with client.ws_connect("/api/v1/ws", protocols=("logchat",)) as ws:
        await ws.send_json({"type": "auth", "token": tokens["viewer"]})
        assert (await ws.receive_json(timeout=HANG))["type"] == "ready"
        samples = await scrape(client)
        assert value(samples, "logchat_websocket_connections_open") == 1
        await ws.send_json({"type": "ask", "id": "q1", "question": "failed password", "no_llm": True})
        while (frame := await ws.receive_json(timeout=HANG))["type"] != "answer":
            assert frame["type"] in ("token", "notice"), frame
    for _ in range(100):  # the server notices the close on its side of the socket
        samples = await scrape(client)
        if value(samples, "logchat_websocket_connections_open") == 0:
            break
        await asyncio.sleep(0.05)
    assert value(samples, "logchat_websocket_connections_open") == 0
    assert value(samples, "logchat_websocket_connections_total") == 1
    assert value(samples, "logchat_websocket_frames_received_total") == 2
    assert value(samples, "logchat_websocket_frames_sent_total", type="ready") == 1
    assert value(samples, "logchat_websocket_frames_sent_total", type="answer") == 1
    assert value(samples, "logchat_questions_total", mode="extractive") == 1


async def test_a_reload_counts_lines_bytes_and_events_per_configured_source_name(
    client: Any, services: Any, tokens: dict[str, str], tmp_path: Path
) -> None:
    from test_jobs_routes import finished, start

    from logchat.config import SourceSettings

    good = tmp_path / "auth.log"
    good.write_text("2026-01-05T10:00:00+00:00 web-01 sshd[10]: Failed password for root\n" * 5, encoding="utf-8")
    services.settings.sources = [SourceSettings(path=str(good), name="auth"),
                                 SourceSettings(path=str(tmp_path / "missing.log"), name="gone")]
    job = await finished(client, tokens["analyst"], await start(client, tokens["analyst"]))
    assert job["state"] == "failed"  # one source is missing; the other was read
    samples = await scrape(client)
    assert value(samples, "logchat_ingest_lines_total", source="auth") == 5
    assert value(samples, "logchat_ingest_events_total", source="auth") == 5
    assert value(samples, "logchat_ingest_bytes_total", source="auth") == good.stat().st_size
    assert value(samples, "logchat_ingest_errors_total", source="gone") == 1
    assert value(samples, "logchat_ingest_runs_total", outcome="failed") == 1
    assert value(samples, "logchat_ingest_newest_event_timestamp_seconds", source="auth") == 1767607200.0
    assert value(samples, "logchat_scheduler_runs_total", task="vectors", outcome="succeeded") == 1
    assert value(samples, "logchat_scheduler_run_duration_seconds_count", task="vectors") == 1
    every_label = {v for (_, labels) in samples for _, v in labels}
    assert str(good) not in every_label and str(tmp_path / "missing.log") not in every_label


async def test_a_failing_background_job_is_counted_as_a_failure(services: Any) -> None:
    from logchat.daemon.jobs import RunStats
    from logchat.daemon.scheduler import run_tracked

    async def broken() -> Any:
        raise RuntimeError("the disk is on fire")

    stats = RunStats("retention", "test", interval_seconds=60, listener=services.metrics.observe_job)
    await run_tracked(stats, broken)
    from logchat.observability.metrics import exposition

    samples = parse(exposition(services.metrics.registry).decode())
    assert value(samples, "logchat_scheduler_failures_total", task="retention") == 1
    assert value(samples, "logchat_scheduler_runs_total", task="retention", outcome="failed") == 1


def _app_client(settings: Any, services: Any) -> Any:
    from aiohttp.test_utils import TestClient, TestServer

    from logchat.daemon.app import create_app

    return TestClient(TestServer(create_app(settings, services)))


async def test_token_access_takes_the_scrape_token_or_an_admin_token(settings: Any, services: Any,
                                                                     tokens: dict[str, str]) -> None:
    from pydantic import SecretStr

    settings.metrics = settings.metrics.model_copy(update={"access": "token",
                                                           "token": SecretStr("scrape-token-0123456789")})
    async with _app_client(settings, services) as client:
        refused = await client.get(METRICS)
        assert refused.status == 401
        assert (await refused.json())["error"]["code"] == "token_invalid"
        assert (await client.get(METRICS, headers=bearer("wrong-token"))).status == 401
        assert (await client.get(METRICS, headers=bearer(tokens["viewer"]))).status == 403
        assert (await client.get(METRICS, headers=bearer(tokens["admin"]))).status == 200
        await scrape(client, bearer("scrape-token-0123456789"))


async def test_an_address_allow_list(settings: Any, services: Any) -> None:
    settings.metrics = settings.metrics.model_copy(update={"access": "addresses", "allow_addresses": ["10.0.0.0/8"]})
    async with _app_client(settings, services) as client:
        refused = await client.get(METRICS)
        assert refused.status == 403
        assert (await refused.json())["error"]["code"] == "forbidden"
        settings.metrics = settings.metrics.model_copy(update={"allow_addresses": ["10.0.0.0/8", "127.0.0.0/8",
                                                                                   "::1"]})
        await scrape(client)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_metrics_on_a_port_of_their_own(settings: Any, services: Any) -> None:
    import aiohttp

    port = _free_port()
    settings.metrics = settings.metrics.model_copy(update={"port": port, "host": "127.0.0.1"})
    async with _app_client(settings, services) as client:
        assert (await client.get("/healthz")).status == 200
        on_api = await client.get(METRICS)
        assert on_api.status == 404
        assert "own port" in (await on_api.json())["error"]["message"]
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}{METRICS}") as own:
            assert own.status == 200
            samples = parse(await own.text())
    assert value(samples, "logchat_http_requests_total", route="/healthz", method="GET", status="200") == 1


async def test_disabled_metrics_answer_404_and_count_nothing(settings: Any, services: Any) -> None:
    from logchat.observability.metrics import exposition

    settings.metrics = settings.metrics.model_copy(update={"enabled": False})
    async with _app_client(settings, services) as client:
        assert (await client.get("/healthz")).status == 200
        response = await client.get(METRICS)
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"
    assert "logchat_http_requests_total{" not in exposition(services.metrics.registry).decode()


async def test_the_openapi_document_gives_metrics_their_media_type(client: Any) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    content = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert content == {"text/plain; version=0.0.4; charset=utf-8": {"schema": {"type": "string"}}}


def test_two_applications_in_one_process_keep_their_own_numbers() -> None:
    from logchat.observability.metrics import DaemonMetrics, exposition

    first, second = DaemonMetrics(), DaemonMetrics()
    first.observe_request("/healthz", "GET", 200, 0.01)
    assert value(parse(exposition(first.registry).decode()), "logchat_http_requests_total", route="/healthz",
                 method="GET", status="200") == 1
    assert value(parse(exposition(second.registry).decode()), "logchat_http_requests_total", route="/healthz",
                 method="GET", status="200") == 0


async def test_anomaly_scores_are_those_of_the_anomaly_report(client: Any, services: Any, store: Any, settings: Any,
                                                              tmp_path: Path) -> None:
    from anomaly_log import NEW, SPIKED, index_lines, week_then_window

    from logchat.services.anomalies import AnomalyQuery, find_anomalies

    index_lines(store, settings, tmp_path / "service.log", week_then_window())
    report = find_anomalies(store, AnomalyQuery())  # the defaults: the last hour of the logs, the week before
    samples = await scrape(client)
    scored = {(labels["pattern"], labels["kind"], labels["level"]):
              samples[("logchat_log_anomaly_score", frozenset(labels.items()))]
              for labels in series(samples, "logchat_log_anomaly_score")}
    assert scored == {(row["template"], row["kind"], row["level"]): row["score"] for row in report["templates"]}
    assert scored[(SPIKED, "spike", "ERROR")] > 5 and scored[(NEW, "new", "WARNING")] > 0
    assert all(score < 0 for (_, kind, _), score in scored.items() if kind == "drop")
    ids = {labels["template_id"] for labels in series(samples, "logchat_log_anomaly_score")}
    assert ids == {str(row["template_id"]) for row in report["templates"]}
    assert value(samples, "logchat_log_new_patterns") == report["counts"]["new"] == 1
    assert value(samples, "logchat_log_level_change_score", level="ERROR") == next(
        row["score"] for row in report["levels"] if row["level"] == "ERROR") > 0

    # Computed once per period, however often anyone scrapes.
    collector = services.metrics.anomalies
    collector.cache_seconds = 3600
    before = collector.reads
    await asyncio.gather(*(scrape(client) for _ in range(5)))
    assert collector.reads - before <= 1


async def test_an_empty_store_has_no_anomaly_series(client: Any) -> None:
    samples = await scrape(client)
    assert series(samples, "logchat_log_anomaly_score") == []
    assert value(samples, "logchat_log_new_patterns") == 0 and series(samples, "logchat_log_level_change_score") == []
