"""OpenTelemetry traces of logchat's own work, off unless the standard OTEL_* variables ask for them.

On: `OTEL_TRACES_EXPORTER=otlp` or an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`,
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); the exporter reads its own variables (headers, protocol
endpoint, timeout) and the resource `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`. Off:
nothing set, `OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true`; then :func:`span` costs one
attribute check and OpenTelemetry is never imported.

Spans: one per HTTP request (the route template, never the URL) and per chat question or command,
with `ask`, `ask.parse`, `ask.retrieve`, `ask.aggregate` and `ask.llm` below them, and one per
ingestion batch. Each carries the request id of the log lines (logs.py), so a trace and the log meet.
Worker threads continue the caller's trace because logs.carry copies the context, spans included.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from logchat.errors import ConfigError
from logchat.observability import logs

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

_tracer: Tracer | None = None
_provider: TracerProvider | None = None


def wanted(environment: Mapping[str, str] = os.environ) -> bool:
    """Whether the OTEL_* variables ask for traces."""
    if environment.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environment.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(environment.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environment.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def setup(exporter: SpanExporter | None = None) -> bool:
    """Start tracing: into ``exporter`` when given (tests), else over OTLP when the environment asks.
    Returns whether tracing is on. The provider is logchat's own, not the process-wide one, so a
    host application's tracing is left alone."""
    global _tracer, _provider
    if exporter is None and not wanted():
        return False
    exporter_name = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if exporter is None and exporter_name not in ("otlp", "console"):
        raise ConfigError(f"OTEL_TRACES_EXPORTER={exporter_name!r}: logchat exports traces with otlp or console")
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
    except ImportError as exc:
        raise ConfigError(
            "tracing is asked for by the OTEL_* variables but OpenTelemetry is not installed: "
            "pip install 'logchat[tracing]'"
        ) from exc
    provider = TracerProvider(resource=Resource.create({"service.name": "logchat"} | _service_name()))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif exporter_name == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    shutdown()
    _provider, _tracer = provider, provider.get_tracer("logchat")
    return True


def _service_name() -> dict[str, str]:
    # Resource.create reads OTEL_RESOURCE_ATTRIBUTES; OTEL_SERVICE_NAME wins over both.
    name = os.environ.get("OTEL_SERVICE_NAME")
    return {"service.name": name} if name else {}


def shutdown() -> None:
    """Send what is buffered and stop (the daemon's exit, a test's end)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


def active() -> bool:
    return _tracer is not None


@contextmanager
def span(name: str, *, server: bool = False, new_trace: bool = False, **attributes: Any) -> Iterator[Span | None]:
    """A span around the block (a child of the current one), or nothing when tracing is off.
    ``new_trace``: the root of a trace of its own, linked to the current span (a chat question on a
    socket that stays open for hours is its own trace, not a child of the socket's)."""
    if _tracer is None:
        yield None
        return
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace import Link, SpanKind

    kind = SpanKind.SERVER if server else SpanKind.INTERNAL
    options: dict[str, Any] = {}
    if new_trace:
        caller = trace.get_current_span().get_span_context()
        options = {"context": otel_context.Context(), "links": [Link(caller)] if caller.is_valid else []}
    with _tracer.start_as_current_span(name, kind=kind, attributes=_attributes(attributes), **options) as current:
        yield current


def _attributes(given: Mapping[str, Any]) -> dict[str, Any]:
    attributes = {key: value for key, value in given.items() if value is not None}
    request_id = logs.current("request_id")
    if request_id is not None:
        attributes.setdefault("logchat.request_id", request_id)
    return attributes


def record_span(name: str, start_ns: int, end_ns: int, **attributes: Any) -> None:
    """A finished child span for a phase timed by the caller (parse, retrieve, aggregate), so the code
    being timed needs no re-indenting."""
    if _tracer is None:
        return
    _tracer.start_span(name, start_time=start_ns, attributes=_attributes(attributes)).end(end_time=end_ns)


def traced(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: the function runs inside a span of its own."""
    import functools

    def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            if _tracer is None:
                return function(*args, **kwargs)
            with span(name):
                return function(*args, **kwargs)

        return run

    return wrap
