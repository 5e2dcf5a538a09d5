"""The metric names logchat exposes (as a scrape shows them), for the tests of contrib/."""

from __future__ import annotations


def exposed_metric_names() -> set[str]:
    """Every sample name of a daemon's registry with every metric observed once, plus the store's."""
    from prometheus_client.parser import text_string_to_metric_families

    names = set()
    for family in text_string_to_metric_families(exposed_text()):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


def exposed_text() -> str:
    """A scrape of a daemon's registry with every metric observed once, and the store's values."""
    from logchat.observability.metrics import AnomalyFacts, DaemonMetrics, StoreCollector, StoreFacts, exposition

    metrics = DaemonMetrics(process=False)
    metrics.observe_request("/healthz", "GET", 200, 0.01)
    metrics.observe_answer({"mode": "llm", "timings_ms": {"parse": 1, "retrieve": 1, "llm": 1, "first_token": 1}},
                           {"llm_attempted": True, "llm_failure": "timeout", "tokens_in": 1, "tokens_out": 1},
                           seconds=1.0)
    metrics.observe_answer({"mode": "llm", "timings_ms": {}}, {}, seconds=1.0, timed_out=True)
    metrics.observe_answer(None, {}, seconds=1.0, error_code="store_error")
    metrics.observe_login(None)
    metrics.observe_login("invalid_credentials")
    metrics.observe_rate_limited("login")
    metrics.observe_job("reload", "failed", 1.0)
    metrics.observe_job("reload", "succeeded", 1.0)
    metrics.ws_frames_out.labels("answer").inc()
    for counter in (metrics.ingest.lines, metrics.ingest.bytes, metrics.ingest.events, metrics.ingest.errors):
        counter.labels("auth").inc()
    metrics.ingest.runs.labels("succeeded").inc()
    facts = StoreFacts(events=1, database_bytes=1, events_by_level={"ERROR": 1}, newest_event={"auth": 1.0},
                       top_templates=[(1, "ERROR", "x", 1)])
    metrics.registry.register(StoreCollector(lambda: facts))
    metrics.watch_anomalies(lambda: AnomalyFacts(templates=[(1, "new", "ERROR", "x", 1.0)], new_patterns=1,
                                                 levels={"ERROR": 2.0}), cache_seconds=0)
    return exposition(metrics.registry).decode()
