"""`GET /api/v1/logs/search`: raw log lines, full text and filters, newest first, paged by keyset."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from logchat.daemon.endpoints import Call, endpoint


class SearchParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(default=None, max_length=1000, description=(
        "Words that must all be in the line (stemmed); identifiers such as 10.0.0.1 and \"quoted phrases\" "
        "verbatim. No words: every line under the filters."))
    since: str | None = Field(default=None, max_length=200, description="ISO time or phrase, e.g. '2 hours ago'.")
    until: str | None = Field(default=None, max_length=200, description="ISO time or phrase.")
    level: str | None = Field(default=None, max_length=20, description="This level and above, e.g. error.")
    # Repeat a parameter for several values (?host=web-01&host=web-02): any of them matches.
    host: list[str] = Field(default_factory=list, max_length=50, description="Host name.")
    source: list[str] = Field(default_factory=list, max_length=50, description="Source name, or a part of its path.")
    process: list[str] = Field(default_factory=list, max_length=50, description="Process or program name.")
    event: int | None = Field(default=None, ge=1, le=2**62,
                              description="Only this event (an `event_id` cited by ask), e.g. with context.")
    after: str | None = Field(default=None, max_length=200, description="The `next` cursor of the previous page.")
    limit: int = Field(default=100, ge=1, le=500)
    context: int = Field(default=0, ge=0, le=20, description="Lines before and after each hit (same file).")

    @field_validator("host", "source", "process", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("q", "since", "until", "level", "host", "source", "process", "after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # No stored line holds NUL (PostgreSQL text cannot), and PostgreSQL refuses it in a query.
        values = value if isinstance(value, list) else [value]
        if any(isinstance(item, str) and "\x00" in item for item in values):
            raise ValueError("must not contain NUL characters")
        return value


class Line(BaseModel):
    id: int
    source: str
    location: str
    line: int
    line_end: int
    citation: str = Field(description="location:line, as `ask` cites lines")
    ts: datetime | None
    level: str | None
    host: str | None
    process: str | None
    message: str
    raw: str


class Context(BaseModel):
    before: list[Line]
    after: list[Line]


class Hit(Line):
    context: Context | None = None


class SearchedFor(BaseModel):
    terms: list[str]
    exact: list[str]


class SearchResult(BaseModel):
    query: SearchedFor
    hits: list[Hit]
    next: str | None = Field(description="Pass as `after` for the next page; null on the last page.")


@endpoint("GET", "/api/v1/logs/search", access="logs:search", tag="logs", query=SearchParams,
          response=SearchResult,
          summary="Raw log lines matching words and filters, newest first, with their context on request.")
async def search_logs(call: Call) -> SearchResult:
    from logchat.daemon.app import run_blocking
    from logchat.services.search import SearchRequest, search_lines

    params: SearchParams = call.query
    request = SearchRequest(
        q=params.q, since=params.since, until=params.until, level=params.level,
        hosts=params.host, sources=params.source, processes=params.process, event=params.event, after=params.after,
        limit=params.limit, context=params.context,
    )
    result = await run_blocking(call.request, search_lines, call.services.store, request,
                                timezone=call.services.settings.ingest.default_timezone)
    return SearchResult.model_validate(result)
