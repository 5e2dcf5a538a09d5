"""What changed in the logs: `GET /api/v1/logs/anomalies` (`logchat stat --anomalies`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from logchat.daemon.endpoints import Call, endpoint
from logchat.daemon.routes.logs import TIME_HELP, naming, time_window
from logchat.errors import UsageError


class AnomaliesQuery(BaseModel):
    """The flags of `logchat stat --anomalies`; a list parameter may be repeated (`?host=web-01&host=web-02`)."""

    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(None, max_length=200, description=(
        "Start of the window; default: one hour before `until`. " + TIME_HELP))
    until: str | None = Field(None, max_length=200, description=(
        "End of the window (exclusive); default: the whole minute after the newest event in the store. " + TIME_HELP))
    baseline: str | None = Field(None, max_length=50, description=(
        "How much time before the window to compare with: `7d` (default), `24h`, `90m`, `2w`."))
    min_score: float = Field(1.0, ge=0, le=1000, description=(
        "The smallest |score| listed: 1 (default) lists rates that surely at least doubled or halved."))
    level: str | None = Field(None, max_length=32, description="Only events of this level and above, e.g. `error`.")
    source: list[str] = Field(default_factory=list, max_length=50, description="Source name or part of its path.")
    host: list[str] = Field(default_factory=list, max_length=50, description="Host name.")
    process: list[str] = Field(default_factory=list, max_length=50, description="Process or program name.")
    top: int = Field(10, ge=1, le=1000, description="Patterns listed, largest change first.")


class AnomalyFilters(BaseModel):
    level: str | None
    sources: list[str]
    hosts: list[str]
    processes: list[str]


class Window(BaseModel):
    since: datetime | None
    until: datetime | None = Field(description="Exclusive.")
    seconds: float | None
    events: int


class Baseline(BaseModel):
    since: datetime | None = Field(description="The window's start minus `baseline`, or the first event under the "
                                               "filters when the store is younger than that.")
    until: datetime | None = Field(description="The window's start.")
    seconds: float | None
    requested_seconds: float
    events: int


class KindCounts(BaseModel):
    spike: int
    drop: int
    new: int


class Example(BaseModel):
    event_id: int
    time: datetime | None
    message: str


class TemplateAnomaly(BaseModel):
    template_id: int
    template: str
    kind: Literal["spike", "drop", "new"] = Field(
        description="new: no event of the pattern before the window (under the filters).")
    score: float = Field(description=(
        "log2 of the change in rate one can be sure of (the end nearest 1 of its 3-sigma likelihood-ratio "
        "interval): 3 = at least 8 times the baseline's rate, -1 = at most half of it, 0 = not significant."))
    window_count: int
    baseline_count: int
    expected: float = Field(description="Events the baseline's rate predicts for the window.")
    ratio: float | None = Field(description="window_count / expected; null when nothing was expected.")
    level: str | None = Field(description="The most severe level among the pattern's events.")
    first_in_window: datetime | None
    last_in_window: datetime | None
    last_before_window: datetime | None = Field(description="Its last event in the baseline.")
    example: Example | None = Field(description="Its first event in the window; for a drop, its last one before.")


class LevelAnomaly(BaseModel):
    level: str = Field(description="NONE for events without a level.")
    kind: Literal["spike", "drop"]
    score: float
    window_count: int
    baseline_count: int
    expected: float
    ratio: float | None


class Anomalies(BaseModel):
    """Exactly what `logchat stat --anomalies --json` prints."""

    filters: AnomalyFilters
    window: Window
    baseline: Baseline
    min_score: float
    counts: KindCounts = Field(description="Anomalies of each kind, before `top` cuts the list.")
    templates: list[TemplateAnomaly] = Field(description="Largest change (absolute score) first.")
    levels: list[LevelAnomaly]
    notice: str | None = Field(description="Why there is nothing to compare: no events, or none before the window.")


def _anomalies(call: Call, query: AnomaliesQuery) -> dict[str, Any]:
    from logchat.services.anomalies import DEFAULT_BASELINE, AnomalyQuery, find_anomalies, parse_baseline
    from logchat.services.stats import resolve_level

    start, end = time_window(query.since, query.until, call.services.settings.ingest.default_timezone)
    try:
        length = parse_baseline(query.baseline) if query.baseline is not None else DEFAULT_BASELINE
    except UsageError as exc:
        raise naming("baseline", exc) from None
    try:
        level = resolve_level(query.level) if query.level else None
    except UsageError as exc:
        raise naming("level", exc) from None
    wanted = AnomalyQuery(since=start, until=end, baseline=length, level=level, sources=query.source,
                          hosts=query.host, processes=query.process, top=query.top, min_score=query.min_score)
    return find_anomalies(call.services.store, wanted)


@endpoint("GET", "/api/v1/logs/anomalies", access="logs:read", tag="logs", query=AnomaliesQuery, response=Anomalies,
          summary="Patterns and levels whose rate changed against a baseline, and new patterns (`stat --anomalies`).")
async def anomalies(call: Call) -> dict[str, Any]:
    from logchat.daemon.app import run_blocking

    # Time phrases are read in the worker too: "2 hours ago" is relative to when the query runs.
    return await run_blocking(call.request, _anomalies, call, call.query)
