"""`GET /api/v1/logs/events/{id}/context`: the lines around one cited line, for every reader.

An answer cites lines by event id; opening a citation shows where it sits in its file. Viewers may not
search raw lines (`logs:search`), so this route shows only the neighbours of one event, masked as `ask`
shows its evidence.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from logchat.daemon.endpoints import Call, endpoint
from logchat.daemon.routes.search import Line
from logchat.errors import NotFound

MAX_EVENT_ID = 2**63 - 1  # the database's BIGINT


class ContextQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: int = Field(default=5, ge=0, le=20, description="Lines before and after the event (same file).")


class LineContext(BaseModel):
    event: Line
    before: list[Line] = Field(description="Up to `lines` lines before the event, in file order.")
    after: list[Line] = Field(description="Up to `lines` lines after the event, in file order.")


def _event_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_EVENT_ID:
        raise NotFound(f"no event with id {text[:40]!r}: an id is a positive whole number")
    return int(text)


@endpoint("GET", "/api/v1/logs/events/{id}/context", access="logs:read", tag="logs", query=ContextQuery,
          response=LineContext,
          summary="One event (an `event_id` cited by ask) and the lines around it in its file, secrets masked.")
async def event_context(call: Call) -> LineContext:
    from logchat.daemon.app import run_blocking
    from logchat.services.search import line_context

    event_id = _event_id(call.request.match_info["id"])
    result = await run_blocking(call.request, line_context, call.services.store, event_id, call.query.lines)
    return LineContext.model_validate(result)
