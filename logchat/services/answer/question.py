"""Stage 1: the question read against the flags, the session's last turn and the names the store knows."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from logchat.errors import UsageError
from logchat.retrieval.question import QuestionFilters, normalise_levels, parse_question
from logchat.retrieval.timerange import TimeRange
from logchat.storage.stats_repo import EventFilter

if TYPE_CHECKING:
    from logchat.config import Settings
    from logchat.retrieval.plan import Plan
    from logchat.services.ask import AskRequest
    from logchat.storage.db import Store


@dataclass(frozen=True)
class Question:
    """A question with its scope resolved: what every later stage reads, never changes."""

    text: str
    reading: QuestionFilters  # the parser's reading, with whatever a follow-up inherited
    scope: EventFilter  # time range, levels, hosts, sources, processes: the events any query is limited to
    text_query: str
    keywords: tuple[str, ...]
    inherited: bool = False  # a follow-up took scope from the session's last turn
    level_terms: tuple[str, ...] = ()  # the words the levels were read from ("errors")
    levels_from_flag: bool = False
    # Question words read as process names ("notification"); empty when --process names them.
    process_terms: tuple[str, ...] = ()
    session: str | None = None
    owner: int | None = None
    history: str | None = None  # a summary of the session's earlier turns, for the model
    now: datetime | None = None  # what the model's tools read time phrases against

    @property
    def phrase(self) -> str | None:
        return self.reading.time_range.phrase if self.reading.time_range else None


def read_question(store: Store, settings: Settings, request: AskRequest, known: dict[str, list[str]]) -> Question:
    """The request as a :class:`Question`; a bad level, session name or empty question is a UsageError
    before any other work."""
    if request.levels:
        normalise_levels(request.levels)
    session_name = None
    if request.session is not None:
        from logchat.services.sessions import check_session_name

        session_name = check_session_name(request.session)
    text = request.question.strip()
    if not text:
        raise UsageError("the question is empty")
    previous, history = _previous_turn(store, session_name, request.owner)
    now, tz = _now(request, settings)
    reading = parse_question(
        text, now=now, tz=tz,
        known_hosts=known["hosts"], known_sources=known["sources"], known_processes=known["processes"],
        since=request.since, until=request.until, levels=request.levels, hosts=request.hosts, sources=request.sources,
    )  # fmt: skip
    processes = list(dict.fromkeys([*reading.processes, *request.processes]))
    text_query, keywords = reading.text_query, list(reading.keywords)
    time_range = reading.time_range
    levels, hosts, sources = list(reading.levels), list(reading.hosts), list(reading.sources)
    inherited = False
    if previous:
        # A follow-up ("and which IPs were involved?") is about what the conversation was about:
        # whatever scope the new question does not set is carried over from the previous turn.
        if time_range is None and (previous.get("since") or previous.get("until")):
            time_range = TimeRange(
                since=_parse_iso(previous.get("since")),
                until=_parse_iso(previous.get("until")),
                phrase=previous.get("phrase"),
            )
            inherited = True
        for name, current in (("levels", levels), ("hosts", hosts), ("sources", sources), ("processes", processes)):
            if not current and previous.get(name):
                current.extend(previous[name])
                inherited = True
        if not text_query and previous.get("text_query"):
            text_query, keywords = previous["text_query"], list(previous.get("keywords") or [])
            inherited = True
    scope = EventFilter(
        since=time_range.since if time_range else None, until=time_range.until if time_range else None,
        levels=levels, sources=sources, hosts=hosts, processes=processes,
    )  # fmt: skip
    reading = replace(reading, time_range=time_range, levels=levels, hosts=hosts, sources=sources, processes=processes)
    return Question(
        text=text, reading=reading, scope=scope, text_query=text_query, keywords=tuple(keywords),
        inherited=inherited, level_terms=tuple(reading.level_terms), levels_from_flag=bool(request.levels),
        process_terms=() if request.processes else tuple(reading.process_terms),
        session=session_name, owner=request.owner, history=history, now=request.now,
    )  # fmt: skip


def plan_question(store: Store, settings: Settings, question: Question, known: dict[str, list[str]]) -> Plan:
    """The question's plan, read against the store's fields and names (``ask --explain`` shows it)."""
    from logchat.retrieval.planner import build_plan
    from logchat.services import planning

    with store.session() as session:
        vocabulary = planning.store_vocabulary(
            session, known, fields_enabled=settings.ingest.fields, question=question.text
        )
    # A follow-up's inherited words are part of what it asks.
    reading = replace(question.reading, text_query=question.text_query, keywords=list(question.keywords))
    return build_plan(question.text, reading, vocabulary)


def _now(request: AskRequest, settings: Settings) -> tuple[datetime, ZoneInfo]:
    tz = ZoneInfo(settings.ingest.default_timezone)
    now = request.now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=tz)
    return now.astimezone(tz), tz


def _previous_turn(store: Store, name: str | None, owner: int | None) -> tuple[dict[str, Any] | None, str | None]:
    """The scope the session's last turn ran with, and a summary of its recent turns."""
    if not name:
        return None, None
    from logchat.services.sessions import summarise_turns
    from logchat.storage import chat_repo

    with store.session() as session:
        chat = chat_repo.find_session(session, name, owner)
        if chat is None:
            return None, None
        turns = chat_repo.recent_turns(session, chat.id, limit=8)
        if not turns:
            return None, None
        return turns[-1].filters, summarise_turns(turns)


def _parse_iso(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value))
