"""The metrics themselves, without a daemon: labels from configured names only, the store collector's
cache and its answer when the database cannot be read."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from logchat.observability.metrics import (
    OTHER,
    DaemonMetrics,
    SourceLabels,
    StoreCollector,
    StoreFacts,
    exposition,
    method_label,
)


def samples(metrics: DaemonMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = exposition(metrics.registry).decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_sources_are_labelled_by_their_configured_names_and_everything_else_is_other(settings: Any) -> None:
    from logchat.config import SourceSettings

    settings.sources = [SourceSettings(path="/var/log/auth.log", name="auth"), SourceSettings(path="/srv/app/*.log")]
    labels = SourceLabels(settings)
    assert labels("auth") == "auth"
    assert labels("/srv/app/*.log") == "/srv/app/*.log"  # a source without a name goes by its path
    assert labels("/var/log/auth.log") == "auth"  # a configured path that could not even be listed
    assert labels("random-file-42.log") == OTHER
    assert labels(None) == OTHER


def test_unknown_methods_share_one_label() -> None:
    assert method_label("GET") == "GET"
    assert method_label("PROPFIND") == OTHER


def test_the_store_is_read_once_per_period_and_a_failing_read_says_so() -> None:
    now = [0.0]
    reads: list[int] = []

    def read() -> StoreFacts:
        reads.append(1)
        if len(reads) == 2:
            raise RuntimeError("database is locked")
        return StoreFacts(events=5, events_by_level={"ERROR": 2, "INFO": 3})

    metrics = DaemonMetrics(process=False)
    metrics.registry.register(StoreCollector(read, cache_seconds=10, clock=lambda: now[0]))
    first = samples(metrics)
    assert first[("logchat_store_up", frozenset())] == 1
    assert first[("logchat_store_events", frozenset())] == 5
    assert first[("logchat_log_events_total", frozenset({("level", "ERROR")}))] == 2
    samples(metrics)
    assert len(reads) == 1  # cached
    now[0] = 11.0
    failed = samples(metrics)
    assert len(reads) == 2
    assert failed[("logchat_store_up", frozenset())] == 0
    assert ("logchat_store_events", frozenset()) not in failed
    now[0] = 22.0
    assert samples(metrics)[("logchat_store_up", frozenset())] == 1


def test_a_model_timeout_is_a_timeout_and_a_fallback() -> None:
    metrics = DaemonMetrics(process=False)
    metrics.observe_answer({"mode": "extractive", "timings_ms": {"parse": 1.0, "retrieve": 2.0, "llm": 0.0}}, {},
                           seconds=3.0, timed_out=True)
    metrics.observe_answer({"mode": "extractive", "timings_ms": {"parse": 1.0, "retrieve": 2.0, "llm": 5.0}},
                           {"llm_attempted": True, "llm_failure": "timeout"}, seconds=3.0)
    found = samples(metrics)
    assert found[("logchat_llm_timeouts_total", frozenset())] == 2
    assert found[("logchat_llm_fallbacks_total", frozenset({("reason", "timeout")}))] == 2
    assert found[("logchat_llm_requests_total", frozenset({("outcome", "timeout")}))] == 2
    assert found[("logchat_questions_total", frozenset({("mode", "extractive")}))] == 2


def test_no_metric_has_a_label_prometheus_sets_per_target() -> None:
    from exposed import exposed_text

    labels = {name for family in text_string_to_metric_families(exposed_text()) for sample in family.samples
              for name in sample.labels}
    assert labels, "nothing observed"
    assert not labels & {"job", "instance"}, labels
