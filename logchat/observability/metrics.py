"""Prometheus metrics: what the daemon (and `reload --metrics-file`) tells a monitoring system.

Every application gets its own :class:`CollectorRegistry` (never prometheus_client's global one), so
several apps in one process, and the tests, never see each other's numbers.

Labels are bounded by construction, never taken from what a client sends:

- HTTP ``route`` is the matched route's template (``/api/v1/logs/jobs/{job_id}``); a request that matches
  no route is counted under ``unmatched``; ``method`` is one of the HTTP methods the API knows, else ``other``.
- ``source`` is the name of a configured ``[[sources]]`` entry; events of any other source (an ad-hoc
  `logchat index PATH`) are counted under ``other``: file names and paths would grow without bound.
- level, stage, mode, outcome, reason, bucket and job come from fixed sets in the code.

Store-wide numbers (events, templates, vectors, database bytes, events by level, lag) are read from the
database at scrape time by :class:`StoreCollector`, and anomaly scores by :class:`AnomalyCollector`, so
every replica reports the same values (aggregate them with ``max``, never ``sum``); counters of
requests, questions and ingestion are this process's own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from prometheus_client import Metric

    from logchat.config import Settings
    from logchat.storage.db import Store

# The exposition format Prometheus scrapes (and the OpenAPI document announces for /metrics).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OTHER = "other"
UNMATCHED_ROUTE = "unmatched"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
QUESTION_STAGES = ("parse", "retrieve", "llm")
# Requests and questions take milliseconds to minutes (a slow model): buckets span both.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
JOB_BUCKETS = (0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
# Store-wide values are read from the database at most this often, however often anyone scrapes.
DEFAULT_STORE_CACHE_SECONDS = 10.0
TOP_TEMPLATES = 10
FactsT = TypeVar("FactsT")
TEMPLATE_LABEL_CHARS = 100


def method_label(method: str) -> str:
    return method if method in HTTP_METHODS else OTHER


class SourceLabels:
    """Maps a source's name (or, for a source whose path could not even be listed, its configured path)
    to its label: the configured ``[[sources]]`` name, else ``other``."""

    def __init__(self, settings: Settings) -> None:
        self.names: set[str] = set()
        self.by_path: dict[str, str] = {}
        for configured in settings.sources:
            name = configured.name or configured.path
            self.names.add(name)
            self.by_path[configured.path] = name

    def __call__(self, name: str | None) -> str:
        if name is None:
            return OTHER
        if name in self.names:
            return name
        return self.by_path.get(name, OTHER)


# --- ingestion (the daemon's reload jobs, and `reload --metrics-file`) ---------------------------------


class IngestMetrics:
    """Lines, bytes, events and errors read per source, and how the runs went."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lines = Counter("logchat_ingest_lines_total", "Log lines read, per configured source.",
                             ["source"], registry=registry)
        self.bytes = Counter("logchat_ingest_bytes_total", "Bytes of log read, per configured source.",
                             ["source"], registry=registry)
        self.events = Counter("logchat_ingest_events_total", "Events stored, per configured source.",
                              ["source"], registry=registry)
        self.errors = Counter("logchat_ingest_errors_total", "Sources that failed in a run, per configured source.",
                              ["source"], registry=registry)
        self.runs = Counter("logchat_ingest_runs_total", "Ingestion runs (reloads) by outcome.", ["outcome"],
                            registry=registry)
        self.last_success = Gauge("logchat_ingest_last_success_timestamp_seconds",
                                  "When the last ingestion run that read every source finished (Unix time).",
                                  registry=registry)
        self.last_duration = Gauge("logchat_ingest_last_run_duration_seconds", "How long the last run took.",
                                   registry=registry)

    def observer(self, settings: Settings, inner: Any = None) -> IngestObserver:
        return IngestObserver(self, SourceLabels(settings), inner)

    def record_run(self, report: Any, settings: Settings, *, now: float | None = None) -> None:
        """One finished run (an IngestReport): failed sources and the outcome. Lines, bytes and events
        were counted batch by batch by the observer."""
        labels = SourceLabels(settings)
        for source in report.sources:
            if source.failed:
                self.errors.labels(labels(source.name)).inc()
        failed = bool(report.failed)
        self.runs.labels("failed" if failed else "succeeded").inc()
        self.last_duration.set(report.elapsed_seconds)
        if not failed:
            self.last_success.set(time.time() if now is None else now)

    def record_failed_run(self) -> None:
        """A run that stopped before any report (the store busy, the configuration wrong)."""
        self.runs.labels("failed").inc()


class IngestObserver:
    """The ingester's progress callbacks (services.ingest.Progress), counted as each batch commits, so a
    long reload shows up as a steady rate rather than one step at its end; calls go on to ``inner``."""

    def __init__(self, metrics: IngestMetrics, labels: SourceLabels, inner: Any = None) -> None:
        self.metrics, self.labels, self.inner = metrics, labels, inner
        self._counted = (0, 0, 0)  # bytes, lines, events of the current source already counted

    def start_source(self, report: Any, total_bytes: int | None) -> None:
        self._counted = (0, 0, 0)
        if self.inner is not None:
            self.inner.start_source(report, total_bytes)

    def advance(self, report: Any, bytes_done: int, lines_done: int) -> None:
        self._count(report.name, bytes_done, lines_done, report.new_events)
        if self.inner is not None:
            self.inner.advance(report, bytes_done, lines_done)

    def finish_source(self, report: Any) -> None:
        self._count(report.name, report.bytes_read, report.new_lines, report.new_events)
        self._counted = (0, 0, 0)
        if self.inner is not None:
            self.inner.finish_source(report)

    def _count(self, name: str, bytes_done: int, lines_done: int, events_done: int) -> None:
        label = self.labels(name)
        done = (bytes_done, lines_done, events_done)
        for counter, now, before in zip(
            (self.metrics.bytes, self.metrics.lines, self.metrics.events), done, self._counted, strict=True
        ):
            if now > before:
                counter.labels(label).inc(now - before)
        self._counted = tuple(max(a, b) for a, b in zip(done, self._counted, strict=True))  # type: ignore[assignment]


# --- the store, read at scrape time -------------------------------------------------------------------


@dataclass
class StoreFacts:
    events: int = 0
    templates: int = 0
    sources: int = 0
    template_vectors: int = 0
    window_vectors: int = 0
    database_bytes: int | None = None
    events_by_level: dict[str, int] = field(default_factory=dict)
    error_templates: int = 0
    # label -> newest event time (Unix seconds)
    newest_event: dict[str, float] = field(default_factory=dict)
    # (template id, level, text, events)
    top_templates: list[tuple[int, str, str, int]] = field(default_factory=list)


class _CachedCollector(Collector, Generic[FactsT]):
    """Values computed from the database, cached for ``cache_seconds``: a scrape storm (or several
    Prometheus servers) costs one computation per period. Concurrent scrapes wait for the one that reads."""

    def __init__(self, read: Callable[[], FactsT], *, cache_seconds: float = DEFAULT_STORE_CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time) -> None:
        self._read = read
        self.cache_seconds = cache_seconds
        self._clock, self._wall_clock = clock, wall_clock
        self._lock = threading.Lock()
        self._cached: tuple[float, FactsT | None, float] | None = None  # (read at, facts, seconds taken)
        self.reads = 0

    def facts(self) -> tuple[FactsT | None, float]:
        with self._lock:
            now = self._clock()
            if self._cached is None or now - self._cached[0] >= self.cache_seconds:
                started = time.perf_counter()
                try:
                    facts: FactsT | None = self._read()
                except Exception:
                    facts = None
                self.reads += 1
                self._cached = (now, facts, time.perf_counter() - started)
            return self._cached[1], self._cached[2]

    def describe(self) -> Iterable[Metric]:
        return []  # values depend on the database: nothing to describe up front


class StoreCollector(_CachedCollector[StoreFacts]):
    """Store-wide gauges computed from the database. A database that cannot be read gives
    ``logchat_store_up 0`` and no other value."""

    def collect(self) -> Iterator[Metric]:
        facts, seconds = self.facts()
        yield _gauge("logchat_store_up", "1 when the database could be read for the store metrics.",
                     1 if facts is not None else 0)
        yield _gauge("logchat_store_read_seconds", "How long the last read of the store metrics took.", seconds)
        if facts is None:
            return
        yield _gauge("logchat_store_events", "Events in the store.", facts.events)
        yield _gauge("logchat_store_templates", "Log templates (patterns) in the store.", facts.templates)
        yield _gauge("logchat_store_sources", "Sources (files, streams) in the store.", facts.sources)
        vectors = GaugeMetricFamily("logchat_store_vectors", "Vectors the store's index covers.", labels=["index"])
        vectors.add_metric(["templates"], facts.template_vectors)
        vectors.add_metric(["windows"], facts.window_vectors)
        yield vectors
        if facts.database_bytes is not None:
            yield _gauge("logchat_store_database_bytes", "Size of the database (its tables, for PostgreSQL).",
                         facts.database_bytes)
        # Counts only grow as logs are ingested (retention may lower them: rate() reads that as a reset).
        by_level = CounterMetricFamily("logchat_log_events", "Events in the store by level (NONE: no level).",
                                       labels=["level"])
        for level, count in sorted(facts.events_by_level.items()):
            by_level.add_metric([level], count)
        yield by_level
        yield _gauge("logchat_log_error_templates", "Templates with ERROR or CRITICAL events.", facts.error_templates)
        newest = GaugeMetricFamily("logchat_ingest_newest_event_timestamp_seconds",
                                   "Time of the newest event, per configured source (Unix time).", labels=["source"])
        lag = GaugeMetricFamily("logchat_ingest_lag_seconds", "Now minus the time of the newest event, per source.",
                                labels=["source"])
        now = self._wall_clock()
        for label, newest_at in sorted(facts.newest_event.items()):
            newest.add_metric([label], newest_at)
            lag.add_metric([label], max(0.0, now - newest_at))
        yield newest
        yield lag
        top = CounterMetricFamily("logchat_log_template_events", f"Events of the {TOP_TEMPLATES} most frequent "
                                  "templates (errors first).", labels=["template_id", "level", "template"])
        for template_id, level, text, count in facts.top_templates:
            top.add_metric([str(template_id), level, text], count)
        yield top


@dataclass
class AnomalyFacts:
    """What changed in the logs (services/anomalies.py, the default window and baseline)."""

    # (template id, kind: spike|drop|new, worst level, masked template text, score), strongest first
    templates: list[tuple[int, str, str, str, float]] = field(default_factory=list)
    new_patterns: int = 0  # every new pattern in the window, not only those listed
    levels: dict[str, float] = field(default_factory=dict)  # level -> score, for the levels that changed


class AnomalyCollector(_CachedCollector[AnomalyFacts]):
    """Anomaly scores as gauges, computed at most every ``cache_seconds`` (a computation reads the last
    hour and the week before it). Only the ``TOP_TEMPLATES`` strongest templates get a series, so the
    series stay bounded however many patterns change."""

    def collect(self) -> Iterator[Metric]:
        facts, seconds = self.facts()
        yield _gauge("logchat_log_anomaly_read_seconds", "How long the last computation of the anomalies took.",
                     seconds)
        if facts is None:
            return  # logchat_store_up says the database could not be read
        scores = GaugeMetricFamily(
            "logchat_log_anomaly_score", f"Change score of the {TOP_TEMPLATES} templates that changed most in the "
            "last hour against the week before (log2 of the rate ratio one can be sure of; negative: a drop).",
            labels=["template_id", "kind", "level", "pattern"])
        for template_id, kind, level, text, score in facts.templates:
            scores.add_metric([str(template_id), kind, level, _template_label(text)], score)
        yield scores
        yield _gauge("logchat_log_new_patterns", "Templates in the last hour never seen before it.",
                     facts.new_patterns)
        levels = GaugeMetricFamily("logchat_log_level_change_score", "Change score of the events of each level "
                                   "whose rate changed in the last hour against the week before.", labels=["level"])
        for level, score in sorted(facts.levels.items()):
            levels.add_metric([level], score)
        yield levels


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def store_reader(store: Store, settings: Settings) -> Callable[[], StoreFacts]:
    """Reads the facts with storage/metrics_repo.py (SQL lives in storage)."""

    def read() -> StoreFacts:
        from logchat.redaction import mask_secrets
        from logchat.storage import metrics_repo

        labels = SourceLabels(settings)
        with store.session() as session:
            counts = metrics_repo.store_counts(session)
            newest: dict[str, float] = {}
            for name, newest_at in metrics_repo.newest_event_by_source_name(session):
                label = labels(name)
                newest[label] = max(newest.get(label, 0.0), newest_at)
            top = [(template_id, level, _template_label(mask_secrets(text)), count)
                   for template_id, level, text, count in metrics_repo.top_templates(session, TOP_TEMPLATES)]
            by_level = metrics_repo.events_by_level(session)
            return StoreFacts(
                events=sum(by_level.values()), templates=counts.templates, sources=counts.sources,
                template_vectors=counts.templates, window_vectors=counts.signatures,
                database_bytes=metrics_repo.database_bytes(session),
                events_by_level=by_level,
                error_templates=metrics_repo.error_template_count(session), newest_event=newest, top_templates=top,
            )

    return read


def _template_label(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEMPLATE_LABEL_CHARS else text[: TEMPLATE_LABEL_CHARS - 1] + "…"


# --- the daemon ---------------------------------------------------------------------------------------


class DaemonMetrics:
    """Every metric of one daemon application, in its own registry."""

    def __init__(self, registry: CollectorRegistry | None = None, *, process: bool = True) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        if process:
            # This process's CPU, memory, file descriptors, GC and Python version: per replica.
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)
        self.http_requests = Counter("logchat_http_requests_total", "HTTP requests by route template, method, status.",
                                     ["route", "method", "status"], registry=r)
        self.http_latency = Histogram("logchat_http_request_duration_seconds",
                                      "Time to answer an HTTP request (a stream: until it ends).",
                                      ["route", "method"], buckets=LATENCY_BUCKETS, registry=r)
        self.http_in_flight = Gauge("logchat_http_requests_in_flight", "HTTP requests being answered.", registry=r)
        self.ws_open = Gauge("logchat_websocket_connections_open", "Chat WebSockets open now.", registry=r)
        self.ws_connections = Counter("logchat_websocket_connections_total", "Chat WebSockets opened.", registry=r)
        self.ws_frames_in = Counter("logchat_websocket_frames_received_total", "Frames received on chat sockets.",
                                    registry=r)
        self.ws_frames_out = Counter("logchat_websocket_frames_sent_total", "Frames sent on chat sockets, by type.",
                                     ["type"], registry=r)
        self.questions = Counter("logchat_questions_total", "Questions answered, by mode (llm or extractive).",
                                 ["mode"], registry=r)
        self.question_errors = Counter("logchat_question_errors_total", "Questions that ended in an error, by code.",
                                       ["code"], registry=r)
        self.question_latency = Histogram("logchat_question_duration_seconds", "Time to answer a question, by mode.",
                                          ["mode"], buckets=LATENCY_BUCKETS, registry=r)
        self.question_stage = Histogram("logchat_question_stage_duration_seconds",
                                        "Time spent in each stage of an answer (parse, retrieve, llm).",
                                        ["stage"], buckets=LATENCY_BUCKETS, registry=r)
        self.llm_requests = Counter("logchat_llm_requests_total",
                                    "Answers asked of the model, by outcome (ok, error, timeout, unreachable).",
                                    ["outcome"], registry=r)
        self.llm_tokens = Counter("logchat_llm_tokens_total", "Model tokens, in (prompt) and out (answer).",
                                  ["direction"], registry=r)
        self.llm_errors = Counter("logchat_llm_errors_total", "Model failures by kind.", ["kind"], registry=r)
        self.llm_timeouts = Counter("logchat_llm_timeouts_total", "Model calls that ran out of time.", registry=r)
        self.llm_fallbacks = Counter("logchat_llm_fallbacks_total",
                                     "Answers that fell back to extractive after trying the model, by reason.",
                                     ["reason"], registry=r)
        self.llm_first_token = Histogram("logchat_llm_first_token_seconds", "Time to the model's first token.",
                                         buckets=LATENCY_BUCKETS, registry=r)
        self.logins = Counter("logchat_logins_total", "Successful sign-ins.", registry=r)
        self.login_failures = Counter("logchat_login_failures_total",
                                      "Refused sign-ins, by reason (invalid_credentials, disabled, throttled).",
                                      ["reason"], registry=r)
        self.rate_limited = Counter("logchat_rate_limit_rejections_total", "Requests refused with 429, by bucket.",
                                    ["bucket"], registry=r)
        self.job_runs = Counter("logchat_scheduler_runs_total", "Background job runs by job and outcome.",
                                ["task", "outcome"], registry=r)
        self.job_failures = Counter("logchat_scheduler_failures_total", "Background job runs that failed.", ["task"],
                                    registry=r)
        self.job_duration = Histogram("logchat_scheduler_run_duration_seconds", "Duration of background job runs.",
                                      ["task"], buckets=JOB_BUCKETS, registry=r)
        self.job_last_success = Gauge("logchat_scheduler_last_success_timestamp_seconds",
                                      "When each background job last succeeded (Unix time).", ["task"], registry=r)
        self.ingest = IngestMetrics(r)
        self.store: StoreCollector | None = None
        self.anomalies: AnomalyCollector | None = None
        self._request_children: dict[tuple[str | None, str, int], tuple[Any, Any]] = {}

    # -- wiring ---------------------------------------------------------------------------------------

    def watch_store(self, store: Store, settings: Settings, *, cache_seconds: float) -> StoreCollector:
        self.store = StoreCollector(store_reader(store, settings), cache_seconds=cache_seconds)
        self.registry.register(self.store)
        return self.store

    def watch_anomalies(self, read: Callable[[], AnomalyFacts], *, cache_seconds: float) -> AnomalyCollector:
        """``read`` computes the anomalies (the daemon passes one over services/anomalies.py)."""
        self.anomalies = AnomalyCollector(read, cache_seconds=cache_seconds)
        self.registry.register(self.anomalies)
        return self.anomalies

    # -- observations ---------------------------------------------------------------------------------

    def observe_request(self, route: str | None, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._request_children.get(key)
        if children is None:
            # Resolved once per (route, method, status): labels() validates and locks on every call, and
            # this runs for every request. The key set is bounded by the labels it maps to.
            route_label = route if route is not None else UNMATCHED_ROUTE
            method_name = method_label(method)
            children = (self.http_requests.labels(route_label, method_name, str(status)),
                        self.http_latency.labels(route_label, method_name))
            if method in HTTP_METHODS:  # an unknown method is not kept: a client could send many
                self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_answer(self, data: dict[str, Any] | None, usage: dict[str, Any], *, seconds: float,
                       timed_out: bool = False, error_code: str | None = None) -> None:
        """One question: ``data`` is the `ask --json` object (None when it failed with ``error_code``),
        ``usage`` what the ask service noted about the model call (Answer.usage)."""
        if data is None:
            self.question_errors.labels(error_code or "internal_error").inc()
            return
        mode = "llm" if data.get("mode") == "llm" else "extractive"
        self.questions.labels(mode).inc()
        self.question_latency.labels(mode).observe(seconds)
        timings = data.get("timings_ms") or {}
        for stage in QUESTION_STAGES:
            value = timings.get(stage)
            if isinstance(value, int | float) and (stage != "llm" or usage.get("llm_attempted")):
                self.question_stage.labels(stage).observe(value / 1000)
        first_token = timings.get("first_token")
        if isinstance(first_token, int | float):
            self.llm_first_token.observe(first_token / 1000)
        for direction in ("in", "out"):
            tokens = usage.get(f"tokens_{direction}")
            if tokens:
                self.llm_tokens.labels(direction).inc(tokens)
        if timed_out:
            # The model was still writing when the answer's time ran out (daemon/streaming.py).
            self.llm_requests.labels("timeout").inc()
            self.llm_timeouts.inc()
            self.llm_fallbacks.labels("timeout").inc()
            return
        if not usage.get("llm_attempted"):
            return
        failure = usage.get("llm_failure")
        if failure is None:
            self.llm_requests.labels("ok").inc()
            return
        if failure == "unreachable":
            outcome = "unreachable"
        elif failure in ("timeout", "connect_timeout"):
            outcome = "timeout"
            self.llm_timeouts.inc()
        else:
            outcome = "error"
        self.llm_requests.labels(outcome).inc()
        self.llm_errors.labels(failure).inc()
        self.llm_fallbacks.labels(outcome).inc()

    def observe_login(self, failure: str | None) -> None:
        if failure is None:
            self.logins.inc()
        else:
            self.login_failures.labels(failure).inc()

    def observe_rate_limited(self, bucket: str) -> None:
        self.rate_limited.labels(bucket).inc()

    def observe_job(self, task: str, outcome: str, seconds: float) -> None:
        # The label is "task", not "job": Prometheus gives every scraped series the scrape job's "job".
        self.job_runs.labels(task, outcome).inc()
        self.job_duration.labels(task).observe(seconds)
        if outcome == "failed":
            self.job_failures.labels(task).inc()
        elif outcome == "succeeded":
            self.job_last_success.labels(task).set_to_current_time()


def login_failure_reason(code: str) -> str:
    """The reason label for a refused sign-in, from the error's code (a fixed set)."""
    return {"invalid_credentials": "invalid_credentials", "account_disabled": "disabled",
            "too_many_attempts": "throttled"}.get(code, "other")


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry in Prometheus's text format."""
    from prometheus_client import generate_latest

    return generate_latest(registry)


# --- `logchat reload --metrics-file`: node_exporter's textfile collector --------------------------------

_CONTINUED = ("logchat_ingest_lines", "logchat_ingest_bytes", "logchat_ingest_events", "logchat_ingest_errors",
              "logchat_ingest_runs")


def write_ingest_textfile(path: str | Path, report: Any, settings: Settings, store: Store | None = None) -> None:
    """The ingestion metrics of one reload in node_exporter's textfile format, written to a temporary
    file beside ``path`` and renamed over it (the collector must never read half a file).

    Counters go on from the values in the file this run replaces, so cron runs add up like the daemon's
    counters do (a missing or unreadable file starts them at 0, which rate() reads as a reset). With
    ``store``, the newest event and lag per source are read from it as well."""
    from prometheus_client import write_to_textfile

    registry = CollectorRegistry()
    ingest = IngestMetrics(registry)
    previous_success = _continue_from(Path(path), ingest)
    labels = SourceLabels(settings)
    for source in report.sources:
        label = labels(source.name)
        ingest.lines.labels(label).inc(source.new_lines)
        ingest.bytes.labels(label).inc(source.bytes_read)
        ingest.events.labels(label).inc(source.new_events)
    if previous_success is not None:
        ingest.last_success.set(previous_success)
    ingest.record_run(report, settings)
    if store is not None:
        from logchat.storage import metrics_repo

        newest = Gauge("logchat_ingest_newest_event_timestamp_seconds",
                       "Time of the newest event, per configured source (Unix time).", ["source"], registry=registry)
        lag = Gauge("logchat_ingest_lag_seconds", "Now minus the time of the newest event, per source (at the run).",
                    ["source"], registry=registry)
        now = time.time()
        newest_by_label: dict[str, float] = {}
        with store.session() as session:
            for name, newest_at in metrics_repo.newest_event_by_source_name(session):
                label = labels(name)
                newest_by_label[label] = max(newest_by_label.get(label, 0.0), newest_at)
        for label, newest_at in newest_by_label.items():
            newest.labels(label).set(newest_at)
            lag.labels(label).set(max(0.0, now - newest_at))
    write_to_textfile(str(path), registry)


def _continue_from(path: Path, ingest: IngestMetrics) -> float | None:
    """Adds the counters of the file at ``path`` to ``ingest``; returns its last success time."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        families = list(text_string_to_metric_families(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    counters = dict(zip(_CONTINUED, (ingest.lines, ingest.bytes, ingest.events, ingest.errors, ingest.runs),
                        strict=True))
    last_success = None
    for family in families:
        for sample in family.samples:
            if family.name in counters and sample.name.endswith("_total"):
                label = sample.labels.get("outcome" if family.name == "logchat_ingest_runs" else "source", OTHER)
                counters[family.name].labels(label).inc(max(0.0, sample.value))
            elif sample.name == "logchat_ingest_last_success_timestamp_seconds":
                last_success = sample.value
    return last_success
