"""What is in the store: `GET /api/v1/logs/stats` (the `logchat stat` overview) and `GET /api/v1/logs/sources`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from logchat.daemon.endpoints import Call, endpoint
from logchat.errors import UsageError

TIME_HELP = "ISO time, Unix time or phrase as `logchat stat --since` takes it: '2h', '2 hours ago', 'yesterday'."


class StatsQuery(BaseModel):
    """Every filter of `logchat stat`; a list parameter may be repeated (`?host=web-01&host=web-02`)."""

    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(None, max_length=200, description="Only events at or after this time. " + TIME_HELP)
    until: str | None = Field(None, max_length=200, description="Only events before this time. " + TIME_HELP)
    level: str | None = Field(None, max_length=32, description="This level and above, e.g. `error`.")
    source: list[str] = Field(default_factory=list, max_length=50, description="Source name or part of its path.")
    host: list[str] = Field(default_factory=list, max_length=50, description="Host name.")
    process: list[str] = Field(default_factory=list, max_length=50, description="Process or program name.")
    top: int = Field(10, ge=1, le=1000, description="Rows per table.")


class StatsFilters(BaseModel):
    since: datetime | None
    until: datetime | None
    level: str | None
    sources: list[str]
    hosts: list[str]
    processes: list[str]


class TimeSpan(BaseModel):
    first: datetime | None
    last: datetime | None


class SourceCount(BaseModel):
    name: str
    location: str
    count: int


class HostCount(BaseModel):
    host: str
    count: int


class ProcessCount(BaseModel):
    process: str
    count: int


class Bucket(BaseModel):
    start: datetime
    count: int


class Histogram(BaseModel):
    bucket_seconds: int | None
    buckets: list[Bucket]


class TopTemplate(BaseModel):
    model_config = ConfigDict(extra="allow")

    template_id: int | None
    template: str
    count: int
    level: str | None
    first_seen: datetime | None
    last_seen: datetime | None


class Stats(BaseModel):
    """Exactly what `logchat stat --json` prints."""

    filters: StatsFilters
    total: int
    time_span: TimeSpan
    by_level: dict[str, int] = Field(description="Events per level, worst first; NONE for events without one.")
    by_source: list[SourceCount]
    by_host: list[HostCount]
    by_process: list[ProcessCount]
    histogram: Histogram
    top_templates: list[TopTemplate]


class SourceInfo(BaseModel):
    """A location read into the store (or tried: a path that could never be opened has kind `unknown` or
    `file`, an empty checkpoint and its `last_error`)."""

    name: str
    location: str = Field(description="Absolute path, `stdin:<name>` or URL: the identity of the source.")
    kind: str = Field(description="file, gzip, stdin or ssh; unknown for a configured path that could not be expanded.")
    format: str | None
    generation: int = Field(description="How many times the file was rotated or truncated under this name.")
    offset: int = Field(description="Checkpoint: the byte where the next run resumes.")
    size: int = Field(description="Size of the file when it was last read.")
    line_count: int
    event_count: int
    created_at: datetime
    last_indexed_at: datetime | None
    newest_event_at: datetime | None
    lag_seconds: float | None = Field(description="Now minus the time of the newest event; null without timed events.")
    last_attempt_at: datetime | None = Field(description="When an index or reload last tried to read it.")
    last_status: str | None = Field(
        description="How that attempt ended, as `reload --json` says: ok, unchanged, empty, rotated, truncated, "
                    "duplicate, skipped or error. `error` means the source is failing now.")
    last_success_at: datetime | None = Field(description="When it was last read without an error.")
    last_error: str | None = Field(
        description="The last error met reading it. Kept after a later success (compare `last_error_at` with "
                    "`last_success_at`, or read `last_status`).")
    last_error_at: datetime | None


class SourceList(BaseModel):
    sources: list[SourceInfo]


def naming(field: str, exc: UsageError) -> UsageError:
    """``exc`` as the client gets it: the message starts with the field, which the error body names too."""
    message = exc.message if exc.message.startswith(f"{field}:") else f"{field}: {exc.message}"
    if exc.hint:
        message = f"{message} ({exc.hint})"
    named = type(exc)(message)
    named.field = field  # type: ignore[attr-defined]  (read by the error middleware)
    return named


def time_window(
    since: str | None, until: str | None, tz_name: str, *, now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """`since`/`until` read exactly as the CLI reads them; a bad value is a 400 naming its field."""
    from logchat.retrieval.timerange import check_range_order
    from logchat.services.timeparse import parse_cli_time

    moments: dict[str, datetime | None] = {}
    for name, text in (("since", since), ("until", until)):
        try:
            moments[name] = parse_cli_time(text, tz_name, flag=name, now=now) if text else None
        except UsageError as exc:
            raise naming(name, exc) from None
    check_range_order(moments["since"], moments["until"], phrase=f"since {since} until {until}")
    return moments["since"], moments["until"]


def _stats(call: Call, query: StatsQuery) -> dict[str, Any]:
    from logchat.services.stats import StatQuery, compute_stats, resolve_level

    start, end = time_window(query.since, query.until, call.services.settings.ingest.default_timezone)
    try:
        level = resolve_level(query.level) if query.level else None
    except UsageError as exc:
        raise naming("level", exc) from None
    wanted = StatQuery(since=start, until=end, level=level, sources=query.source, hosts=query.host,
                       processes=query.process, top=query.top)  # fmt: skip
    return compute_stats(call.services.store, wanted)


@endpoint("GET", "/api/v1/logs/stats", access="logs:read", tag="logs", query=StatsQuery, response=Stats,
          summary="Counts by level, source, host and process, a time histogram and the top patterns (`stat`).")
async def stats(call: Call) -> dict[str, Any]:
    from logchat.daemon.app import run_blocking

    # Time phrases are read in the worker too: "2 hours ago" is relative to when the query runs.
    return await run_blocking(call.request, _stats, call, call.query)


@endpoint("GET", "/api/v1/logs/sources", access="logs:read", tag="logs", response=SourceList,
          summary="Every source in the store with its checkpoint, counts, lag and last error.")
async def sources(call: Call) -> dict[str, Any]:
    from logchat.daemon.app import run_blocking
    from logchat.services.stats import list_sources

    return {"sources": await run_blocking(call.request, list_sources, call.services.store)}
