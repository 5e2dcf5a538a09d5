"""Use case: search raw log lines (`GET /api/v1/logs/search`), for accounts allowed to read them.

Unlike `ask`, a search is literal: every word of ``q`` must be in the line (stemmed, as the full-text
index matches words), identifiers and quoted phrases verbatim; no word is dropped or replaced by a
synonym, so a word that no line holds finds nothing. The lines are returned as stored, secrets
included: reading them is what the `logs:search` permission allows (docs/secrets.md). The context of
one cited line (`GET /api/v1/logs/events/{id}/context`) is for every reader, and masked.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from logchat.errors import NotFound
from logchat.redaction import mask_tree
from logchat.services.event_scope import InvalidParameter, ScopeText, match_scope, scope_filter
from logchat.storage import lines_repo
from logchat.storage.db import Store
from logchat.storage.models.base import from_micros, to_micros

MAX_LIMIT = 500
MAX_CONTEXT = 20
DEFAULT_LIMIT = 100
DEFAULT_CONTEXT = 5


@dataclass
class SearchRequest:
    q: str | None = None
    since: str | None = None  # ISO time or phrase ("2 hours ago"), as `--since` takes
    until: str | None = None
    level: str | None = None  # this level and above, as `stat --level`
    hosts: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # name, or a part of the location
    processes: list[str] = field(default_factory=list)
    event: int | None = None  # just this event (a cited event_id), usually with context
    after: str | None = None  # the `next` cursor of the previous page
    limit: int = DEFAULT_LIMIT
    context: int = 0  # events before and after each hit, same source and generation


def search_lines(store: Store, request: SearchRequest, *, timezone: str = "UTC",
                 now: datetime | None = None) -> dict[str, Any]:
    """One page of matching lines, newest first, and the cursor of the next page (None at the end)."""
    if not 1 <= request.limit <= MAX_LIMIT:
        raise InvalidParameter("limit", f"must be between 1 and {MAX_LIMIT}")
    if not 0 <= request.context <= MAX_CONTEXT:
        raise InvalidParameter("context", f"must be between 0 and {MAX_CONTEXT}")
    flt = scope_filter(
        ScopeText(since=request.since, until=request.until, level=request.level, hosts=request.hosts,
                  sources=request.sources, processes=request.processes),
        timezone=timezone, now=now,
    )  # fmt: skip
    after = decode_cursor(request.after) if request.after else None
    with store.session() as session:
        scope = match_scope(session, flt, request.q)
        conditions, text = scope.conditions, scope.text
        if request.event is not None:
            conditions.append(lines_repo.event_is(request.event))
        rows = lines_repo.page_of_events(session, conditions, after=after, limit=request.limit + 1)
        more = len(rows) > request.limit
        rows = rows[: request.limit]
        context = lines_repo.context_of(session, rows, request.context)
    hits = []
    for row in rows:
        hit = _line(row)
        if request.context:
            before, following = context.get(row.id, ([], []))
            hit["context"] = {"before": [_line(r) for r in before], "after": [_line(r) for r in following]}
        hits.append(hit)
    return {
        "query": {"terms": [term.text for term in text.required],
                  "exact": [term.text for term in text.required if term.verbatim]},
        "hits": hits,
        "next": encode_cursor(lines_repo.Position(rows[-1].ts, rows[-1].id)) if more and rows else None,
    }


def line_context(store: Store, event_id: int, lines: int = DEFAULT_CONTEXT) -> dict[str, Any]:
    """One event and the ``lines`` events before and after it in its file (same source and generation),
    for anyone who may read answers: unlike :func:`search_lines`, every text is secret-masked, as
    `ask` shows its evidence lines (docs/secrets.md)."""
    if not 0 <= lines <= MAX_CONTEXT:
        raise InvalidParameter("lines", f"must be between 0 and {MAX_CONTEXT}")
    with store.session() as session:
        rows = lines_repo.page_of_events(session, [lines_repo.event_is(event_id)], after=None, limit=1)
        if not rows:
            raise NotFound(f"no event with id {event_id}", hint="cite an `event_id` of an answer's evidence")
        before, following = lines_repo.context_of(session, rows, lines).get(event_id, ([], []))
    return mask_tree({  # type: ignore[no-any-return]
        "event": _line(rows[0]),
        "before": [_line(row) for row in before],
        "after": [_line(row) for row in following],
    })


def _line(row: lines_repo.LineRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "source": row.source_name,
        "location": row.location,
        "line": row.line_no,
        "line_end": row.line_end,
        "citation": f"{row.location}:{row.line_no}",
        "ts": row.ts,
        "level": row.level,
        "host": row.host,
        "process": row.process,
        "message": row.message,
        "raw": row.raw,
    }


# The cursor names the last event of a page: its time in microseconds ("-" when it has none) and id.
# Opaque to clients (base64), so the encoding may change without breaking them.
def encode_cursor(position: lines_repo.Position) -> str:
    ts = "-" if position.ts is None else str(to_micros(position.ts))
    return base64.urlsafe_b64encode(f"{ts}:{position.id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> lines_repo.Position:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        ts_text, id_text = text.split(":")
        ts = None if ts_text == "-" else from_micros(_int64(ts_text))
        return lines_repo.Position(ts, _int64(id_text))
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise InvalidParameter("after", "not a cursor returned by a previous search (its `next`)") from None


def _int64(text: str) -> int:
    # What the database's BIGINT holds; anything else was not made by encode_cursor.
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ValueError(text)
    return value
