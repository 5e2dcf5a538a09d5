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
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from logchat.errors import NotFound, UsageError
from logchat.redaction import mask_tree
from logchat.retrieval.fulltext import ResolvedQuery, parse_text_query
from logchat.storage import fulltext_repo, lines_repo, stats_repo
from logchat.storage.db import Store
from logchat.storage.models.base import from_micros, to_micros

if TYPE_CHECKING:
    from logchat.storage.db import Session

MAX_LIMIT = 500
MAX_CONTEXT = 20
DEFAULT_LIMIT = 100
DEFAULT_CONTEXT = 5


class InvalidParameter(UsageError):
    """One parameter of a request is wrong; ``field`` names it (422 over HTTP)."""

    http_status = 422
    code = "invalid_field"

    def __init__(self, field: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message if message.startswith(f"{field}:") else f"{field}: {message}", hint=hint)
        self.field = field


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
    since, until = _window(request, timezone, now)
    levels = _levels(request.level)
    after = decode_cursor(request.after) if request.after else None
    flt = stats_repo.EventFilter(since=since, until=until, levels=levels, sources=request.sources,
                                 hosts=request.hosts, processes=request.processes)
    with store.session() as session:
        text = literal_text_query(session, request.q)
        conditions = flt.conditions(session)
        matched = fulltext_repo.match_condition(session, text)
        if matched is not None:
            conditions.append(matched)
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


def literal_text_query(session: Session, q: str | None) -> ResolvedQuery:
    """``q`` as the search matches it: every word required, as written (no synonyms, nothing dropped)."""
    if q is None or not q.strip():
        return ResolvedQuery()
    parsed = parse_text_query(q)
    if parsed.empty:
        raise InvalidParameter("q", f"{q!r} has no letters or digits to search for")
    # A word the index leaves out (a stop word on PostgreSQL) would be ignored there but required on
    # SQLite: it is matched as written instead, so both stores find the same lines.
    plain = [term.text for term in parsed.terms if not term.verbatim]
    unindexed = lines_repo.unindexed_words(session, plain) if plain else set()
    terms = tuple(replace(term, verbatim=True) if term.text in unindexed else term for term in parsed.terms)
    # Every term required, none dropped or widened: see the module's docstring.
    return ResolvedQuery(required=terms, mode="all")


def _window(request: SearchRequest, timezone: str, now: datetime | None) -> tuple[datetime | None, datetime | None]:
    return parse_window(request.since, request.until, timezone, now=now)


def parse_window(since: str | None, until: str | None, timezone: str, *, now: datetime | None = None
                 ) -> tuple[datetime | None, datetime | None]:
    """`since`/`until` of a request, parsed as the CLI parses `--since`/`--until` (ISO times or phrases
    such as "2 hours ago", in ``timezone`` unless they name one); InvalidParameter names the field."""
    from logchat.errors import InvalidTimeRange
    from logchat.retrieval.timerange import check_range_order
    from logchat.services.timeparse import parse_cli_time

    points: dict[str, datetime | None] = {}
    for name, text in (("since", since), ("until", until)):
        try:
            points[name] = parse_cli_time(text, timezone, flag=name, now=now) if text else None
        except UsageError as exc:
            raise InvalidParameter(name, str(exc), hint=exc.hint) from None
    try:
        check_range_order(points["since"], points["until"], phrase=f"since {since} until {until}")
    except InvalidTimeRange as exc:
        raise InvalidParameter("until", str(exc), hint=exc.hint) from None
    return points["since"], points["until"]


def _levels(level: str | None) -> list[str]:
    if not level:
        return []
    from logchat.services.stats import resolve_level

    try:
        return stats_repo.levels_at_least(resolve_level(level))
    except UsageError as exc:
        raise InvalidParameter("level", str(exc)) from None


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
