"""Which events a request is about: its scope as written (times, level, names, words) made into the
event filter and the conditions that select those events.

One reading for every caller that takes a scope as text, the raw-line search (`GET /api/v1/logs/search`)
and the chat model's tools, so that the same parameters select the same lines in both: times are read as
`--since`/`--until` are, a level means that level and above, names are matched as `stat` matches them, and
words are matched literally (every word required, identifiers and quoted phrases verbatim). A wrong part
is an :class:`InvalidParameter` naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from logchat.errors import UsageError
from logchat.retrieval.fulltext import ResolvedQuery, parse_text_query
from logchat.storage import fulltext_repo, lines_repo, search_repo, stats_repo

if TYPE_CHECKING:
    from logchat.storage.db import Session


class InvalidParameter(UsageError):
    """One parameter of a request is wrong; ``field`` names it (422 over HTTP)."""

    http_status = 422
    code = "invalid_field"

    def __init__(self, field: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message if message.startswith(f"{field}:") else f"{field}: {message}", hint=hint)
        self.field = field


@dataclass(frozen=True)
class ScopeText:
    """A scope as a request writes it; a part left out (None, empty) is not set."""

    since: str | None = None  # ISO time or phrase ("2 hours ago"), as `--since` takes
    until: str | None = None
    level: str | None = None  # this level and above, as `stat --level`
    hosts: Sequence[str] = ()
    sources: Sequence[str] = ()  # name, or a part of the location
    processes: Sequence[str] = ()


@dataclass
class MatchedScope:
    """The events in scope: the filter, the literal reading of the words, and the conditions selecting them."""

    filter: stats_repo.EventFilter
    text: ResolvedQuery
    matched: search_repo.Condition | None  # the words' condition; None: no words
    conditions: list[search_repo.Condition]  # a new list, the caller's to extend


def scope_filter(
    scope: ScopeText, *, timezone: str, now: datetime | None = None, base: stats_repo.EventFilter | None = None
) -> stats_repo.EventFilter:
    """``base`` (no filter when None) with each part that ``scope`` sets replacing that part of it."""
    flt = replace(base) if base is not None else stats_repo.EventFilter()
    if scope.since or scope.until:
        since, until = parse_window(scope.since, scope.until, timezone, now=now)
        # A bound left out keeps the base's: a tool narrowing the level keeps the question's time range.
        flt.since = since if scope.since else flt.since
        flt.until = until if scope.until else flt.until
    if scope.level:
        flt.levels = _levels_at_least(scope.level)
    for name in ("hosts", "sources", "processes"):
        values = getattr(scope, name)
        if values:
            setattr(flt, name, list(values))
    return flt


def match_scope(session: Session, flt: stats_repo.EventFilter, q: str | None) -> MatchedScope:
    """The events under ``flt`` whose line holds every word of ``q`` (all events under it without ``q``)."""
    text = literal_text_query(session, q)
    matched = fulltext_repo.match_condition(session, text)
    return MatchedScope(flt, text, matched, search_repo.event_conditions(session, flt, matched))


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


def parse_window(
    since: str | None, until: str | None, timezone: str, *, now: datetime | None = None
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


def _levels_at_least(level: str) -> list[str]:
    from logchat.services.stats import resolve_level

    try:
        return stats_repo.levels_at_least(resolve_level(level))
    except UsageError as exc:
        raise InvalidParameter("level", str(exc)) from None
