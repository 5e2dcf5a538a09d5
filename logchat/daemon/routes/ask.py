"""`POST /api/v1/ask`: the `logchat ask --json` contract over HTTP, as one JSON object or as a stream
of Server-Sent Events (tokens as the model writes them, then the same object).

The answer runs in the answers' own thread pool (daemon/app.py) through daemon/streaming.py, the
path the chat socket takes too.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from logchat.daemon.endpoints import Call, endpoint
from logchat.daemon.streaming import answer_events

if TYPE_CHECKING:
    from aiohttp import web

    from logchat.config import Settings
    from logchat.services.ask import AskRequest

log = logging.getLogger(__name__)

# A comment line this often keeps proxies from closing a quiet stream (an answer waiting for a free
# worker) and finds out early when the client has gone.
KEEPALIVE_SECONDS = 15.0
SSE = "text/event-stream"


class AskBody(BaseModel):
    """The flags of `logchat ask` as fields; `since`/`until` win over time phrases in the question."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=4000, description="The question, in plain language.")
    since: str | None = Field(None, max_length=200, description="Only events at or after this time ('2h', ISO…).")
    until: str | None = Field(None, max_length=200, description="Only events before this time.")
    now: str | None = Field(None, max_length=200, description="Read time phrases relative to this time.")
    levels: list[str] = Field(default_factory=list, max_length=20, description="Only these levels.")
    hosts: list[str] = Field(default_factory=list, max_length=50, description="Only these hosts.")
    sources: list[str] = Field(default_factory=list, max_length=50, description="Source names or path parts.")
    processes: list[str] = Field(default_factory=list, max_length=50, description="Only these processes.")
    no_llm: bool = Field(False, description="Extractive answer only; no model is asked (`--no-llm`).")
    stream: bool = Field(False, description="Stream Server-Sent Events (as does `Accept: text/event-stream`).")
    session: str | None = Field(None, description=(
        "One of the caller's chat sessions (created on first use): the question and answer are kept in "
        "it, and a follow-up without filters of its own reuses the session's scope."))

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("blank", "the question is empty")
        return value

    @field_validator("session")
    @classmethod
    def _session_name(cls, value: str | None) -> str | None:
        from logchat.errors import UsageError
        from logchat.services.sessions import check_session_name

        if value is None:
            return None
        try:
            return check_session_name(value)
        except UsageError as exc:
            raise PydanticCustomError("session_name", exc.message) from None


class TimeRangeOut(BaseModel):
    since: datetime | None
    until: datetime | None
    phrase: str | None


class EvidenceOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    source: str | None
    path: str
    line: int
    ts: datetime | None
    level: str | None
    text: str


class PatternOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    template_id: int | None
    template: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    level: str | None
    top_values: dict[str, Any]


class PlanFiltersOut(BaseModel):
    start: datetime | None
    end: datetime | None
    levels: list[str]
    hosts: list[str]
    sources: list[str]
    processes: list[str]


class TextTermOut(BaseModel):
    text: str
    alternatives: list[str] = Field(description="The word first, then the words logs use for it.")
    prefix: bool = Field(description="Matched as the start of logged ids (nothing matched it whole).")
    required: bool


class FieldConditionOut(BaseModel):
    name: str
    operator: str
    value: Any
    source_text: str = Field(description="The words of the question the condition was read from.")


class OperationOut(BaseModel):
    kind: str = Field(description="list, count, count_distinct, min, max, sum, avg, percentile, top, first, last, "
                                  "series or explain.")
    field: str | None
    by: str | None
    limit: int | None
    percentile: float | None
    interval: int | None = Field(description="Seconds per bucket of a series; null: chosen from the time range.")


class PlanOut(BaseModel):
    """How the question was read (`logchat ask --explain`); docs/ask.md, "The plan"."""

    question: str
    filters: PlanFiltersOut
    terms: list[TextTermOut]
    conditions: list[FieldConditionOut]
    operation: OperationOut
    ignored: list[str]
    notes: list[str]


class AskAnswer(BaseModel):
    """Exactly what `logchat ask --json` prints (docs/ask.md, "JSON output")."""

    model_config = ConfigDict(extra="allow")

    question: str
    answer: str
    mode: Literal["llm", "extractive"]
    plan: PlanOut | None = None
    time_range: TimeRangeOut
    filters: dict[str, Any]
    matched: int
    time_span: dict[str, datetime | None]
    result: dict[str, Any]
    patterns: list[PatternOut]
    top_values: dict[str, Any] | None
    by_host: list[list[Any]]
    by_source: list[list[Any]]
    evidence: list[EvidenceOut]
    citations: list[str]
    citation_check: dict[str, Any] | None
    unverified_numbers: list[str] = Field(description=(
        "Numbers of a model's answer that no tool result, computed fact or evidence line gave it; [] otherwise."))
    tool_calls: list[dict[str, Any]] = Field(description=(
        "The model's tool calls, in order: tool, arguments, ok, error."))
    notices: list[str]
    llm_error: str | None
    session: str | None
    timings_ms: dict[str, float | None]


def _ask_request(settings: Settings, body: AskBody, owner: int | None) -> AskRequest:
    """The service's request; bad times or levels are refused here, naming the field, before any work."""
    from logchat.daemon.routes.logs import naming, time_window
    from logchat.errors import UsageError
    from logchat.retrieval.question import normalise_levels
    from logchat.services.ask import AskRequest
    from logchat.services.timeparse import parse_cli_time

    tz_name = settings.ingest.default_timezone
    anchor = None
    try:
        if body.now:
            anchor = parse_cli_time(body.now, tz_name, flag="now")
    except UsageError as exc:
        raise naming("now", exc) from None
    # Checked as the CLI checks --since/--until; the service reads the same text again relative to `now`.
    time_window(body.since, body.until, tz_name, now=anchor)
    try:
        normalise_levels(body.levels)
    except UsageError as exc:
        raise naming("levels", exc) from None
    return AskRequest(
        question=body.question, now=anchor, since=body.since, until=body.until, levels=body.levels,
        hosts=body.hosts, sources=body.sources, processes=body.processes, use_llm=not body.no_llm,
        session=body.session, owner=owner,
    )  # fmt: skip


def session_owner(call: Call) -> int | None:
    """The account whose sessions a question may use. A session always has an owner over HTTP: the
    command line's sessions (no owner) are never reached from the daemon."""
    from logchat.daemon.endpoints import InvalidField

    owner = call.principal.user_id if call.principal is not None else None
    if call.body.session is not None and owner is None:
        raise InvalidField("session: chat sessions need an account; sign in", field="session")
    return owner


def _wants_stream(request: web.Request, body: AskBody) -> bool:
    return body.stream or SSE in request.headers.get("Accept", "")


@endpoint("POST", "/api/v1/ask", access="chat:use", tag="ask", body=AskBody, response=AskAnswer, streams=True,
          rate_limit="ask",
          summary="Answer a question from the logs: `logchat ask --json`, or streamed as Server-Sent Events.")
async def ask_question(call: Call) -> Any:
    from contextlib import aclosing

    settings = call.services.settings
    request = _ask_request(settings, call.body, session_owner(call))
    account = _account(call)
    if _wants_stream(call.request, call.body):
        return await _stream(call, request, account)
    async with call.services.questions.held(account), aclosing(
            answer_events(call.services, request, front_end="http")) as events:
        async for event in events:
            if event.kind == "answer":
                return event.data
            if event.kind == "error":
                raise event.data
    raise RuntimeError("an answer ended without its answer")


def _account(call: Call) -> object:
    """Whose questions these are, for the per-account limit: the account, or without accounts
    (`serve --allow-no-users`) the client's address."""
    if call.principal is not None:
        return call.principal.user_id if call.principal.user_id is not None else call.principal.username
    return call.request.remote


def _sse(event: str, data: Any) -> bytes:
    from logchat.daemon.endpoints import _dumps

    return f"event: {event}\ndata: {_dumps(data)}\n\n".encode()


async def _stream(call: Call, ask_request: AskRequest, account: object) -> web.StreamResponse:
    from aiohttp import web

    request = call.request
    # Taken before the response starts, so that a refusal is a plain 429.
    slot = await call.services.questions.take(account)
    # The request id and security headers are added as the headers go out (middleware.add_headers).
    response = web.StreamResponse(headers={"Content-Type": SSE, "X-Accel-Buffering": "no"})
    try:
        await response.prepare(request)
    except BaseException:
        await slot.release()
        raise
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    job = asyncio.ensure_future(_answer_into(call, ask_request, queue, slot))
    try:
        while (event := await _next_or_keepalive(queue)) is not None:
            await response.write(event)
        await response.write_eof()
    except ConnectionResetError:
        _abandon(job)
    except asyncio.CancelledError:
        _abandon(job)
        raise
    return response


async def _answer_into(call: Call, ask_request: AskRequest, queue: asyncio.Queue[bytes | None], slot: Any) -> None:
    """The answer's events as Server-Sent Events into ``queue``, then None; the slot is held until then."""
    from contextlib import aclosing

    from logchat.daemon.middleware import error_body

    try:
        async with aclosing(answer_events(call.services, ask_request, front_end="http")) as events:
            async for event in events:
                if event.kind == "token":
                    queue.put_nowait(_sse("token", {"text": event.data}))
                elif event.kind == "notice":
                    queue.put_nowait(_sse("notice", {"message": event.data}))
                elif event.kind == "answer":
                    queue.put_nowait(_sse("answer", event.data))
                else:
                    exc = event.data
                    queue.put_nowait(_sse("error", error_body(exc.code, exc.message, getattr(exc, "field", None))))
    except Exception:
        log.exception("unexpected error while answering")
        queue.put_nowait(_sse("error", error_body("internal_error", "internal error; see the daemon's log")))
    finally:
        await slot.release()
        queue.put_nowait(None)


async def _next_or_keepalive(queue: asyncio.Queue[bytes | None]) -> bytes | None:
    """The next event, or a comment line after KEEPALIVE_SECONDS of silence (which finds a gone client)."""
    try:
        return await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
    except TimeoutError:
        return b": keep-alive\n\n"


def _abandon(job: asyncio.Future[Any]) -> None:
    """The client left: the answer stops (the model at its next token), and nobody reads what it returns."""
    log.info("a client left before its answer was done; the answer stops")
    job.cancel()
