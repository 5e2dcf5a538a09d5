"""Usage analytics (docs/usage.md): `GET /api/v1/analytics/usage`, the summary `logchat stat --usage
--json` prints, and `GET /api/v1/analytics/questions`, the most asked (or unanswered) question shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from logchat.daemon.endpoints import Call, endpoint
from logchat.daemon.routes.logs import TIME_HELP

USER_HELP = "Only this user's questions: an account name, or os:NAME for the command line."


class UsageParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(None, max_length=200, description="Questions at or after this time. " + TIME_HELP)
    until: str | None = Field(None, max_length=200, description="Questions before this time. " + TIME_HELP)
    user: str | None = Field(None, min_length=1, max_length=96, description=USER_HELP)
    top: int = Field(10, ge=1, le=1000, description="Rows per table.")


class QuestionParams(UsageParams):
    unanswered: bool = Field(False, description="Only questions that matched no event.")


class UsageFilters(BaseModel):
    since: datetime | None
    until: datetime | None
    user: str | None


class UsageTotals(BaseModel):
    questions: int
    users: int = Field(description="Distinct users who asked.")
    llm: int = Field(description="Answers written by the model.")
    extractive: int = Field(description="Answers built from the counts and lines, without a model.")
    llm_share: float | None = Field(description="llm / questions; null without questions.")
    llm_errors: int = Field(description="Answers where the model failed, was unreachable or too slow, and the "
                                        "extractive answer replaced it.")
    unanswered: int = Field(description="Questions that matched no event.")
    unanswered_share: float | None
    by_front_end: dict[str, int] = Field(description="Questions per front end: cli, http, ws.")
    first: datetime | None
    last: datetime | None


class LatencyStats(BaseModel):
    count: int
    mean: float | None
    max: float | None
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None


class DayCount(BaseModel):
    day: str = Field(description="A UTC day, YYYY-MM-DD; days without questions are left out.")
    questions: int
    llm: int
    extractive: int
    unanswered: int
    users: int


class UserCount(BaseModel):
    user: str
    questions: int
    llm: int
    extractive: int
    unanswered: int
    last_at: datetime


class ShapeCount(BaseModel):
    shape: str = Field(description="The question with secrets masked and variable parts replaced (<NUM>, <IP>, "
                                   "<HOST>, <STR>…).")
    questions: int
    users: int
    unanswered: int | None = Field(None, description="Of these, how many matched no event (absent in unanswered "
                                                     "lists).")
    last_at: datetime


class NameCount(BaseModel):
    name: str
    questions: int


class UsageSummary(BaseModel):
    """Exactly what `logchat stat --usage --json` prints."""

    filters: UsageFilters
    totals: UsageTotals
    latency_ms: dict[str, dict[str, LatencyStats]] = Field(description=(
        "Milliseconds per question by measure (total, parse, retrieve, llm, first_token) and group (all, llm, "
        "extractive): count, mean, max and the percentiles, interpolated as percentile_cont does."))
    per_day: list[DayCount]
    per_user: list[UserCount] = Field(description="The most active users first.")
    top_shapes: list[ShapeCount] = Field(description="The most asked question shapes first.")
    unanswered: list[ShapeCount] = Field(description="The question shapes that most often matched nothing.")
    top_sources: list[NameCount] = Field(description="Sources questions were filtered to.")
    top_hosts: list[NameCount] = Field(description="Hosts questions were filtered to.")
    answered_from: list[NameCount] = Field(description="Sources whose events matched the questions.")


class QuestionFilters(UsageFilters):
    unanswered: bool


class QuestionShapes(BaseModel):
    filters: QuestionFilters
    shapes: list[ShapeCount]


def usage_query(call: Call, params: UsageParams) -> Any:
    from logchat.daemon.routes.logs import time_window
    from logchat.services.usage import UsageQuery

    since, until = time_window(params.since, params.until, call.services.settings.ingest.default_timezone)
    return UsageQuery(since=since, until=until, user=params.user.strip() if params.user else None, top=params.top)


def _summary(call: Call, params: UsageParams) -> dict[str, Any]:
    from logchat.services.usage import summary

    return summary(call.services.store, usage_query(call, params))


def _questions(call: Call, params: QuestionParams) -> dict[str, Any]:
    from logchat.services.usage import question_shapes

    return question_shapes(call.services.store, usage_query(call, params), unanswered=params.unanswered)


@endpoint("GET", "/api/v1/analytics/usage", access="analytics:read", tag="analytics", query=UsageParams,
          response=UsageSummary,
          summary="Questions per day and per user, latency percentiles, model share, unanswered and most asked "
                  "questions, most asked-about sources (`stat --usage`).")
async def usage(call: Call) -> dict[str, Any]:
    from logchat.daemon.app import run_blocking

    return await run_blocking(call.request, _summary, call, call.query)


@endpoint("GET", "/api/v1/analytics/questions", access="analytics:read", tag="analytics", query=QuestionParams,
          response=QuestionShapes, summary="The most asked question shapes, or those that matched nothing.")
async def questions(call: Call) -> dict[str, Any]:
    from logchat.daemon.app import run_blocking

    return await run_blocking(call.request, _questions, call, call.query)
