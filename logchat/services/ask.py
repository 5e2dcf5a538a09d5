"""Use case: answer a question from the logs (`logchat ask`, the daemon's ask endpoint).

question -> filters and a text query -> exact aggregates in SQL -> hybrid retrieval of evidence lines
-> an answer streamed from the chat model, or, with no model reachable, an extractive answer built
from the same numbers and lines. Every number in either answer is computed here, never by a model.

What the numbers mean (also in docs/ask.md):

- ``matched``: events that satisfy the filters (time range, levels, hosts, sources, processes) AND the
  text query as resolved by :mod:`logchat.retrieval.fulltext` (every remaining term, identifiers
  verbatim). With no text query left, every event that satisfies the filters.
- A "how many" question is answered with ``matched``; the per-pattern counts that add up to it
  follow. A top/first/last/max/min/total question is answered from the same matching events.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_

from logchat.config import Settings
from logchat.errors import UsageError
from logchat.observability import tracing
from logchat.redaction import mask_secrets, mask_tree, redact_url
from logchat.retrieval import fulltext
from logchat.retrieval.plan import Plan, TextTerm
from logchat.retrieval.question import QuestionFilters, normalise_levels, parse_question
from logchat.retrieval.timerange import TimeRange
from logchat.services import planning
from logchat.storage import chat_repo, fulltext_repo, search_repo
from logchat.storage.db import Store
from logchat.storage.stats_repo import EventFilter

if TYPE_CHECKING:
    from logchat.llm.tools import ToolBackend
    from logchat.retrieval.hybrid import HybridResult, VectorSide
    from logchat.retrieval.plan import ComputedResult
    from logchat.storage.db import Session

log = logging.getLogger(__name__)

__all__ = ["AskListener", "AskRequest", "AskResult", "ask", "ask_in_session", "ask_many"]

# Vectors behind the store by more than this many events earn a notice; a few behind is the normal
# moment between new lines and the update that `index`, `reload` or `follow` runs after them.
VECTORS_BEHIND_NOTICE = 100_000
PER_TEMPLATE_IN_EVIDENCE = 3
PATTERN_SAMPLES = 5
NUMERIC_SCAN_LIMIT = 20_000
# Messages read for the top values of the patterns shown; more when the values are the answer.
VALUES_SHOWN = (500, 3_000)
VALUES_ANSWER = (5_000, 20_000)
EXTRACTIVE_LINES = 5


@dataclass
class AskRequest:
    question: str
    now: datetime | None = None  # what "last night" is relative to; default: the current time
    since: datetime | str | None = None
    until: datetime | str | None = None
    levels: Sequence[str] = ()
    hosts: Sequence[str] = ()
    sources: Sequence[str] = ()
    processes: Sequence[str] = ()
    session: str | None = None
    use_llm: bool = True
    # The account whose session ``session`` names; None for the command line's sessions.
    owner: int | None = None


class AskListener:
    """What a front end hears while an answer is produced; every method is optional."""

    def on_token(self, token: str) -> None: ...

    def on_notice(self, message: str) -> None: ...

    def on_llm_failed(self, message: str) -> None: ...


class _CountingListener(AskListener):
    def __init__(self, inner: AskListener) -> None:
        self.inner = inner
        self.tokens = 0

    def on_token(self, token: str) -> None:
        self.tokens += 1
        self.inner.on_token(token)

    def on_notice(self, message: str) -> None:
        self.inner.on_notice(message)

    def on_llm_failed(self, message: str) -> None:
        self.inner.on_llm_failed(message)


@dataclass
class AskResult:
    data: dict[str, Any]
    evidence_by_id: dict[str, dict[str, Any]]
    streamed: bool = False  # the answer's tokens went to AskListener.on_token as they arrived
    # What the metrics count of the model call, outside the `ask --json` object: llm_attempted,
    # llm_failure (a kind: unreachable, timeout, connect, ...), tokens_in, tokens_out.
    usage: dict[str, Any] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return str(self.data["mode"])

    def to_dict(self) -> dict[str, Any]:
        return self.data


@dataclass
class _Scope:
    """Everything retrieval needs, resolved from the question, the flags and the session."""

    question: str
    filters: QuestionFilters
    flt: EventFilter
    text_query: str
    keywords: list[str]
    inherited: bool = False
    level_terms: list[str] = field(default_factory=list)
    levels_from_flag: bool = False
    # The question's plan: its text terms and field conditions select the events (see _plan_question).
    plan: Plan | None = None


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _short_time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


# --- parse --------------------------------------------------------------------------------------------


def _now(request: AskRequest, settings: Settings) -> tuple[datetime, ZoneInfo]:
    tz = ZoneInfo(settings.ingest.default_timezone)
    now = request.now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=tz)
    return now.astimezone(tz), tz


def _previous_filters(
    store: Store, name: str | None, owner: int | None = None
) -> tuple[dict[str, Any] | None, str | None]:
    if not name:
        return None, None
    from logchat.services.sessions import summarise_turns

    with store.session() as session:
        chat = chat_repo.find_session(session, name, owner)
        if chat is None:
            return None, None
        turns = chat_repo.recent_turns(session, chat.id, limit=8)
        if not turns:
            return None, None
        return turns[-1].filters, summarise_turns(turns)


def _parse(store: Store, settings: Settings, request: AskRequest, known: dict[str, list[str]],
           previous: dict[str, Any] | None) -> _Scope:
    question = request.question.strip()
    if not question:
        raise UsageError("the question is empty")
    now, tz = _now(request, settings)
    filters = parse_question(
        question, now=now, tz=tz,
        known_hosts=known["hosts"], known_sources=known["sources"], known_processes=known["processes"],
        since=request.since, until=request.until, levels=request.levels, hosts=request.hosts, sources=request.sources,
    )  # fmt: skip
    processes = list(dict.fromkeys([*filters.processes, *request.processes]))
    text_query, keywords = filters.text_query, list(filters.keywords)
    time_range = filters.time_range
    levels, hosts, sources = list(filters.levels), list(filters.hosts), list(filters.sources)
    inherited = False
    if previous:
        # A follow-up ("and which IPs were involved?") is about what the conversation was about:
        # whatever scope the new question does not set is carried over from the previous turn.
        if time_range is None and (previous.get("since") or previous.get("until")):
            time_range = TimeRange(
                since=_parse_iso(previous.get("since")), until=_parse_iso(previous.get("until")),
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
    flt = EventFilter(
        since=time_range.since if time_range else None,
        until=time_range.until if time_range else None,
        levels=levels, sources=sources, hosts=hosts, processes=processes,
    )  # fmt: skip
    filters.time_range = time_range
    filters.levels, filters.hosts, filters.sources, filters.processes = levels, hosts, sources, processes
    return _Scope(
        question=question, filters=filters, flt=flt, text_query=text_query, keywords=keywords, inherited=inherited,
        level_terms=list(filters.level_terms), levels_from_flag=bool(request.levels),
    )


def _parse_iso(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value))


def _known_values(store: Store, settings: Settings) -> dict[str, list[str]]:
    """Host, process and source names for the question parser, cached in the data dir until the
    store can hold new ones (a new rollup row)."""
    import hashlib
    import json

    from logchat.retrieval.vector_store import write_atomically

    path = settings.data_dir / "ask-vocabulary.json"
    store_key = hashlib.sha1(store.url.encode("utf-8"), usedforsecurity=False).hexdigest()
    with store.session() as session:
        version = search_repo.vocabulary_version(session)
        try:
            cached = json.loads(path.read_text(encoding="utf-8"))
            if cached.get("store") == store_key and cached.get("version") == version:
                return cached["values"]
        except (OSError, ValueError, KeyError, AttributeError):
            pass
        values = search_repo.known_values(session)
    try:
        payload = {"store": store_key, "version": version, "values": values}
        write_atomically(path, json.dumps(payload).encode("utf-8"))
    except OSError:
        pass  # a read-only data dir only costs the cache
    return values


# --- plan ---------------------------------------------------------------------------------------------


def _plan_question(store: Store, settings: Settings, scope: _Scope, known: dict[str, list[str]]) -> Plan:
    """The question's plan, read against the store's fields and names (``ask --explain`` shows it)."""
    from dataclasses import replace

    from logchat.retrieval.planner import build_plan

    with store.session() as session:
        vocabulary = planning.store_vocabulary(session, known, fields_enabled=settings.ingest.fields)
    # A follow-up's inherited words are part of what it asks.
    reading = replace(scope.filters, text_query=scope.text_query, keywords=list(scope.keywords))
    return build_plan(scope.question, reading, vocabulary)


def _text_query(scope: _Scope, extra_words: Sequence[str] = ()) -> fulltext.TextQuery:
    """The full-text query that selects the plan's events (the question's words without a plan)."""
    if scope.plan is None:
        words = " ".join([scope.text_query, *extra_words]).strip()
        return fulltext.parse_text_query(words, scope.keywords)
    return planning.text_query([*scope.plan.terms, *(TextTerm(text=word) for word in extra_words)])


def _resolve_plan(session: Session, scope: _Scope, extra_words: Sequence[str] = ()) -> fulltext.ResolvedQuery:
    """The plan's text checked against the store; identifiers that match nothing whole are tried as the
    start of logged ids (job_42 -> job_42_1), and the plan says so."""
    resolved = fulltext.resolve_query(session, _text_query(scope, extra_words))
    if resolved.mode != "impossible" or scope.plan is None:
        return resolved
    prefixed = planning.prefix_fallback(scope.plan, resolved.missing)
    if prefixed is None:
        return resolved
    plan, scope.plan = scope.plan, prefixed
    candidate = fulltext.resolve_query(session, _text_query(scope, extra_words))
    if candidate.mode == "impossible":
        scope.plan = plan
        return resolved
    return candidate


def _unbound_if_misread(session: Session, scope: _Scope, bound_retrieval: _Retrieval) -> _Retrieval:
    """Nothing matched the plan's field conditions. When the lines the text finds carry those fields, that is
    the answer ("stage 35.0": no such stage). When they do not, the value was bound to a field these lines lack
    (a field named differently in their template), so the values are matched as text, as before plans."""
    from sqlalchemy import and_

    from logchat.storage import fields_repo

    assert scope.plan is not None
    bound = scope.plan
    described = ", ".join(f"{c.name} {c.operator} {c.value}" for c in bound.conditions)
    scope.plan = _without_conditions(bound)
    looser = _match(session, scope, _resolve_plan(session, scope))
    if looser.aggregate.total > 0:
        within = and_(*search_repo.event_conditions(session, scope.flt, looser.matched))
        carried = fields_repo.field_event_counts(session, [c.name for c in bound.conditions], within)
        if not any(carried.values()):
            looser.notices.append(scope.plan.notes[-1])
            return looser
    scope.plan = bound
    retrieval = _match(session, scope, _resolve_plan(session, scope))
    retrieval.notices.append(f"no event has {described}")
    return retrieval


def _without_conditions(plan: Plan) -> Plan:
    """The plan with its field conditions matched as text again (today's reading of the question)."""
    from dataclasses import replace

    values = [TextTerm(text=condition.source_text.split()[-1].lstrip("/")) for condition in plan.conditions
              if condition.source_text]
    described = ", ".join(f"{c.name} {c.operator} {c.value}" for c in plan.conditions)
    return replace(plan, conditions=(), terms=(*plan.terms, *values),
                   notes=(*plan.notes, f"no event has {described}; matched the values as text instead"))


# --- vectors ------------------------------------------------------------------------------------------


def _vector_side(store: Store, settings: Settings, notices: list[str]) -> VectorSide | None:
    """The vectors as they are: `index`, `reload`, `follow` and the daemon's jobs keep them up to date,
    so a question never windows or embeds (it only reads, and says when the vectors lag behind)."""
    from logchat.retrieval.hybrid import VectorSide
    from logchat.services.vectors import load_vectors

    loaded = load_vectors(settings, store)
    with store.session() as session:
        newest = search_repo.max_event_id(session)
    if newest == 0:
        return None
    behind = newest - (loaded.events_upto if loaded is not None else 0)
    if behind > VECTORS_BEHIND_NOTICE:
        notices.append(
            f"the vector index is {behind:,} events behind; `logchat reload` (or `logchat index` on the same "
            "paths) brings it up to date (full-text search covers every event)"
        )
    if loaded is None:
        return None
    return VectorSide(loaded.templates, loaded.windows, loaded.embedder)


# --- retrieval ----------------------------------------------------------------------------------------


@dataclass
class _Retrieval:
    resolved: fulltext.ResolvedQuery
    # Selects the matching events (with the filters applied or not); None when there is no text query.
    matched: search_repo.Condition | None
    aggregate: search_repo.Aggregate
    # {template id: (matching, all events)} when ``matched`` reads the materialised ids.
    counts: dict[int, tuple[int, int]] = field(default_factory=dict)
    materialised: bool = False  # ``matched`` reads the temporary table of matching ids
    hybrid: HybridResult | None = None
    notices: list[str] = field(default_factory=list)
    level_fallback: bool = False
    empty_range: bool = False


def _match(session: Session, scope: _Scope, resolved: fulltext.ResolvedQuery) -> _Retrieval:
    """Count the events matching the filters and ``resolved`` exactly, as cheaply as the query allows."""
    flt = scope.flt
    if resolved.mode == "impossible":
        return _Retrieval(resolved, search_repo.no_events(), search_repo.Aggregate())
    condition = fulltext_repo.match_condition(session, resolved)
    fields = planning.field_conditions(session, scope.plan) if scope.plan is not None else []
    if fields:
        from sqlalchemy import and_

        condition = and_(*([condition] if condition is not None else []), *fields)
    if condition is None:
        return _Retrieval(resolved, None, search_repo.aggregate(session, flt, None, errors_first=True))
    full = fulltext_repo.templates_fully_matching(session, resolved) if not fields else frozenset()
    if full:
        hits = fulltext_repo.fts_hits(session, resolved)
        if hits is not None and hits == search_repo.rollup_total(session, full):
            # Every hit belongs to a template whose fixed text matches: the rollup counts them exactly.
            aggregate = search_repo.aggregate(session, flt, None, errors_first=False, templates=full)
            return _Retrieval(resolved, search_repo.of_templates(full), aggregate)
    _, matched = search_repo.materialise_matches(session, search_repo.event_conditions(session, flt, condition))
    aggregate = search_repo.aggregate_matches(session, errors_first=False)
    # How sparse the matches are in each template decides how later queries walk them.
    totals = search_repo.template_counts(session, [p.template_id for p in aggregate.patterns if p.template_id])
    counts = {p.template_id: (p.count, totals.get(p.template_id, p.count))
              for p in aggregate.patterns if p.template_id is not None}
    return _Retrieval(resolved, matched, aggregate, counts=counts, materialised=True)


def _resolve_and_aggregate(session: Session, scope: _Scope) -> _Retrieval:
    retrieval = _match(session, scope, _resolve_plan(session, scope))
    if retrieval.aggregate.total == 0 and scope.plan is not None and scope.plan.conditions:
        retrieval = _unbound_if_misread(session, scope, retrieval)

    if (retrieval.aggregate.total == 0 and scope.flt.levels and not scope.levels_from_flag and scope.level_terms
            and _levels_unused(session, scope)):
        # These logs carry no levels at all ("errors" in sshd's syslog), or none of the asked ones ("POSSIBLE
        # BREAK-IN ATTEMPT warnings" where sshd logs no warning): look for the word instead.
        levels = ", ".join(scope.flt.levels)
        scope.flt.levels = []
        scope.filters.levels = []
        retrieval = _match(session, scope, _resolve_plan(session, scope, scope.level_terms))
        retrieval.level_fallback = True
        words = f"the word{'s' if len(scope.level_terms) > 1 else ''} {', '.join(repr(t) for t in scope.level_terms)}"
        dropped = {word.lower() for word in retrieval.resolved.dropped}
        if retrieval.aggregate.total == 0:
            # The word narrowed the lines to none: it only described the lines the rest of the question names.
            retrieval = _match(session, scope, _resolve_plan(session, scope))
            retrieval.level_fallback = True
            retrieval.notices.append(f"no event has level {levels}, and none of them contains {words}; "
                                     "matched without them")
        elif all(term.lower() in dropped for term in scope.level_terms):
            retrieval.notices.append(f"no event has level {levels} nor contains {words}; matched without them")
        else:
            retrieval.notices.append(f"no event has level {levels}; matched {words} instead")

    if retrieval.aggregate.total == 0 and retrieval.resolved.mode == "all":
        relaxed = fulltext.relax(session, retrieval.resolved, search_repo.event_conditions(session, scope.flt))
        if relaxed is not None:
            looser = _match(session, scope, relaxed)
            if looser.aggregate.total > 0:
                looser.notices, looser.level_fallback = retrieval.notices, retrieval.level_fallback
                retrieval = looser
                if relaxed.mode == "any":
                    words = ", ".join(term.text for term in relaxed.optional)
                    notice = f"no event contains all the words; counting events with any of: {words}"
                else:
                    notice = f"no event contains all the words; left out: {', '.join(relaxed.unmatched)}"
                retrieval.notices.append(notice)

    timed = scope.flt.since is not None or scope.flt.until is not None
    if (retrieval.aggregate.total == 0 and timed
            and not search_repo.any_event_between(session, scope.flt.since, scope.flt.until)):
        total, first, last = search_repo.store_span(session)
        if total:
            retrieval.empty_range = True
            retrieval.notices.append(
                f"no events at all between {_short_time(scope.flt.since)} and {_short_time(scope.flt.until)} UTC; "
                f"the store holds {total:,} events from {_short_time(first)} to {_short_time(last)} UTC "
                "(use --now to read time phrases relative to the logs' own time)"
            )
    return retrieval


def _levels_unused(session: Session, scope: _Scope) -> bool:
    """Whether the question's levels select no event at all under its other filters (whatever the text)."""
    present, leveled = search_repo.levels_in_scope(session, scope.flt)
    return present and (not leveled or not search_repo.any_event_under(session, scope.flt))


def _conditions(session: Session, scope: _Scope, retrieval: _Retrieval) -> list[search_repo.Condition]:
    return search_repo.event_conditions(session, scope.flt, retrieval.matched)


def _pick_evidence(
    session: Session, scope: _Scope, retrieval: _Retrieval, settings: Settings, leading: list[int]
) -> list[int]:
    """Evidence event ids, most useful first: the lines the answer is about, then the best-ranked
    hits (a few per pattern, so that one chatty pattern cannot crowd out the rest), then a sample
    line of each top pattern."""
    limit = settings.retrieval.evidence_lines
    chosen: list[int] = []
    seen: set[int] = set()

    def take(event_id: int) -> None:
        if event_id not in seen and len(chosen) < limit:
            seen.add(event_id)
            chosen.append(event_id)

    for event_id in leading:
        take(event_id)
    ranked = [event_id for event_id, _ in retrieval.hybrid.ranked] if retrieval.hybrid else []
    conditions = _conditions(session, scope, retrieval)
    top = [p.template_id for p in retrieval.aggregate.patterns[:PATTERN_SAMPLES] if p.template_id is not None]
    samples = search_repo.recent_events_of_templates(session, top, conditions, 1, counts=retrieval.counts)
    sample_ids = [ids[0] for tid in top if (ids := samples.get(tid))]
    rows = search_repo.fetch_events(session, ranked[: limit * 4])
    per_template: Counter[int | None] = Counter()
    reserve = min(len(sample_ids), max(1, limit // 4))
    for event_id in ranked:
        if len(chosen) >= limit - reserve:
            break
        row = rows.get(event_id)
        template_id = row.template_id if row else None
        if per_template[template_id] >= PER_TEMPLATE_IN_EVIDENCE:
            continue
        per_template[template_id] += 1
        take(event_id)
    for event_id in sample_ids:
        take(event_id)
    for event_id in ranked:
        take(event_id)
    return chosen


def _evidence_items(session: Session, ids: list[int], retrieval: _Retrieval) -> list[dict[str, Any]]:
    from logchat.services.ask_tools import evidence_line

    rows = search_repo.fetch_events(session, ids)
    items = []
    for event_id in ids:
        row = rows.get(event_id)
        if row is None:
            continue
        retrieved_by = retrieval.hybrid.retrieved_by(event_id) if retrieval.hybrid else []
        items.append({"id": f"E{len(items) + 1}", **evidence_line(row), "retrieved_by": retrieved_by or ["aggregate"]})
    return items


# --- what the question asks ---------------------------------------------------------------------------


_WORD_RX = re.compile(r"[a-z]+")
_ENTITY_LABELS = {"ip": ("ip",), "user": ("user",), "port": ("port",), "host": ("host",), "process": ()}


def _intent_result(
    session: Session, scope: _Scope, retrieval: _Retrieval, settings: Settings,
    top_values: search_repo.TopValues | None,
) -> tuple[dict[str, Any], list[int]]:
    """The computed answer to the question's intent, and the event ids it rests on."""
    intent = scope.filters.intent
    aggregate = retrieval.aggregate
    result: dict[str, Any] = {"intent": intent, "matched": aggregate.total}
    if aggregate.total == 0:
        return result, []
    conditions = _conditions(session, scope, retrieval)
    if intent in ("first", "last"):
        at = aggregate.first if intent == "first" else aggregate.last
        event_id = search_repo.first_or_last_event(session, conditions, at, last=intent == "last")
        if event_id is None and at is not None:
            event_id = search_repo.first_or_last_event(session, conditions, None, last=intent == "last")
        result["ts"] = at
        return result, [event_id] if event_id is not None else []
    if intent in ("max", "min", "total"):
        numeric = _numeric_answer(session, scope, retrieval, conditions, intent)
        if numeric is not None:
            result.update(numeric[0])
            return result, numeric[1]
    if (intent == "top" or scope.filters.entity) and top_values is not None:
        label = _entity_label(scope, top_values)
        if label is not None:
            result["entity"] = label
            result["values"] = [[value, count] for value, count in top_values.values.get(label, [])]
            result["exact"] = top_values.exact
    result["count"] = aggregate.total
    return result, []


def _computed(
    session: Session, scope: _Scope, retrieval: _Retrieval, interval: int | None, notices: list[str],
) -> ComputedResult | None:
    """The question's operation computed by SQL over every matching event (None for a list or an explanation,
    or when nothing matched)."""
    from logchat.services.compute import FIELD_OPERATIONS, FIELDS_OFF, compute
    from logchat.services.intent_plan import plan_from_intent
    from logchat.storage import compute_repo

    aggregate = retrieval.aggregate
    if aggregate.total == 0 or retrieval.resolved.mode == "impossible":
        return None
    counts = {p.template_id: p.count for p in aggregate.patterns if p.template_id is not None}
    fields = compute_repo.fields_of_templates(session, list(counts))
    plan = scope.plan
    if plan is None or plan.operation.kind == "list":
        # The planner read no operation (or did not run): the intent's reading may still ask for one.
        plan = plan_from_intent(scope.question, scope.filters, fields, counts, interval=interval)
    elif interval and plan.operation.kind == "series" and plan.operation.interval is None:
        plan = replace(plan, operation=replace(plan.operation, interval=interval))
    elif plan.operation.kind in FIELD_OPERATIONS:
        # Chosen again among the fields the matching lines carry; --explain shows the field used.
        matching = and_(*_conditions(session, scope, retrieval))
        plan = scope.plan = planning.field_of_matches(session, plan, counts, matching)
    if plan.operation.kind in ("list", "explain"):
        return None
    if plan.operation.kind in FIELD_OPERATIONS and plan.operation.field is None and compute_repo.has_fields(session):
        return None  # no field of the matching events fits the question: the intent's own answer stays
    within = and_(*_conditions(session, scope, retrieval))
    computed = compute(session, plan, within, matched=aggregate.total)
    fields_off = computed.reason == FIELDS_OFF or (
        computed.value is None and plan.operation.kind in FIELD_OPERATIONS and not compute_repo.has_fields(session))
    if fields_off:
        # The count and the older reading of sampled lines lead, and the notice says how to get the exact answer.
        notices.append(FIELDS_OFF)
        return None
    return computed


def _with_computed(result: dict[str, Any], computed: ComputedResult) -> dict[str, Any]:
    """The `result` object of `ask --json`: the computed result, beside the keys the intent answers kept."""
    operation = computed.operation
    merged = dict(result)
    merged.update({
        "operation": asdict(operation), "value": computed.value, "unit": computed.unit, "matched": computed.matched,
        "exact": computed.exact, "reason": computed.reason, "event_id": computed.event_id,
        "sentence": computed.sentence, "details": computed.details,
    })  # fmt: skip
    if operation.kind in ("first", "last"):
        merged["ts"] = computed.value
    elif operation.kind == "top" and not operation.by:
        merged["values"] = computed.value
        merged["entity"] = operation.field
    elif operation.kind == "count_distinct":
        merged["distinct"] = computed.value
    elif operation.kind == "sum":
        merged["sum"] = computed.value
    elif operation.kind == "avg":
        merged["avg"] = computed.value
    elif operation.kind == "series":
        merged["series"] = computed.value
    if operation.kind in ("min", "max", "sum", "avg", "percentile"):
        merged["variable"] = operation.field
    return merged


def _entity_label(scope: _Scope, top_values: search_repo.TopValues) -> str | None:
    entity = scope.filters.entity
    if entity:
        for label in _ENTITY_LABELS.get(entity, (entity,)):
            if label in top_values.values:
                return label
        return entity if entity in top_values.values else None
    words = set(_WORD_RX.findall(scope.question.lower()))
    for label in top_values.values:
        if label in words or label + "s" in words:
            return label
    return None


_DURATION_WORDS = frozenset({"slowest", "longest", "fastest", "quickest", "latency", "duration", "slow", "took"})
_DURATION_LABEL = re.compile(r"time|latency|duration|took|elapsed")
_NOT_MEASURES = frozenset({"ip", "port", "uid", "pid", "tid"})


def _label_score(name: str, words: set[str]) -> int:
    """How well a variable name fits the question's words: "size" for "biggest block size"."""
    if name in words or name + "s" in words:
        return 3
    parts = set(re.split(r"[_\-.]", name))
    if parts & words:
        return 2 + (1 if words & _DURATION_WORDS and _DURATION_LABEL.search(name) else 0)
    if words & _DURATION_WORDS and _DURATION_LABEL.search(name):
        return 2
    return 0


def _numeric_answer(
    session: Session, scope: _Scope, retrieval: _Retrieval, conditions: list[search_repo.Condition], intent: str
) -> tuple[dict[str, Any], list[int]] | None:
    """max/min/total of the numeric variable the question names, over the top patterns' events."""
    words = set(_WORD_RX.findall(scope.question.lower()))
    choice: tuple[int, str, search_repo.PatternStats] | None = None
    for pattern in retrieval.aggregate.patterns[:5]:
        sample = search_repo.messages_of_template(
            session, pattern.template_id, conditions, 1, counts=retrieval.counts
        )
        if not sample:
            continue
        numeric = [name for name, value in search_repo.extract_variables(pattern.template, sample[0])
                   if search_repo.to_number(value) is not None and name not in _NOT_MEASURES]
        for name in reversed(numeric):
            score = _label_score(name, words)
            if choice is None or score > choice[0]:
                choice = (score, name, pattern)
    if choice is None:
        return None
    _, name, pattern = choice
    values, exact = search_repo.numeric_values(
        session, pattern, name, conditions, NUMERIC_SCAN_LIMIT, counts=retrieval.counts
    )
    if not values:
        return None
    numbers = [number for number, _ in values]
    result: dict[str, Any] = {"variable": name, "template_id": pattern.template_id, "exact": exact,
                              "values_read": len(values)}
    if intent == "total":
        result["sum"] = _tidy(sum(numbers))
        return result, []
    pick = max if intent == "max" else min
    value = pick(numbers)
    result["value"] = _tidy(value)
    return result, [next(event_id for number, event_id in values if number == value)]


def _tidy(number: float) -> float | int:
    return int(number) if float(number).is_integer() else round(number, 6)


# --- answers ------------------------------------------------------------------------------------------


def _describe_scope(scope: _Scope, retrieval: _Retrieval) -> str:
    parts = []
    described = retrieval.resolved.describe()
    if described:
        parts.append(f"matching {described}")
    for label, values in (("level", scope.flt.levels), ("host", scope.flt.hosts), ("source", scope.flt.sources),
                          ("process", scope.flt.processes)):
        if values:
            parts.append(f"{label} {', '.join(values)}")
    if scope.plan is not None:
        parts.extend(f"{c.name} {c.operator} {c.value}" for c in scope.plan.conditions)
    return "; ".join(parts)


def _range_text(scope: _Scope) -> str | None:
    flt = scope.flt
    if flt.since is None and flt.until is None:
        return None
    phrase = scope.filters.time_range.phrase if scope.filters.time_range else None
    start = _short_time(flt.since) if flt.since else "the beginning"
    end = _short_time(flt.until) if flt.until else "now"
    text = f"{start} → {end} UTC"
    return f"{text} ({phrase})" if phrase else text


def _cite(item: dict[str, Any]) -> str:
    return f"[{item['id']}] {item['path']}:{item['line']}: {_one_line(item['text'], 200)}"


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _extractive_answer(scope: _Scope, retrieval: _Retrieval, result: dict[str, Any], patterns: list[dict[str, Any]],
                       evidence: list[dict[str, Any]], leading: int, lead: str | None = None) -> str:
    aggregate = retrieval.aggregate
    what = _describe_scope(scope, retrieval)
    where = _range_text(scope)
    scope_text = "".join([f" ({what})" if what else "", f" between {where}" if where else ""])
    if retrieval.resolved.mode == "impossible":
        missing = ", ".join(repr(m) for m in retrieval.resolved.missing)
        return f"No event contains {missing}{' between ' + where if where else ''}."
    if aggregate.total == 0:
        if retrieval.empty_range:
            held = retrieval.notices[-1].split("; ", 1)[-1]
            return f"No events between {where}. {held[:1].upper()}{held[1:]}."
        return f"No events match{scope_text}."
    lines: list[str] = []
    intent = result["intent"]
    count_line = f"{aggregate.total:,} events match{scope_text}"
    span = f"from {_short_time(aggregate.first)} to {_short_time(aggregate.last)} UTC"
    lead_items = evidence[:leading]
    if lead:
        lines.append(lead)
        counted = result.get("operation", {}).get("kind") == "count"
        lines.append(f"The matches{scope_text} run {span}." if counted else f"{count_line}, {span}.")
    elif intent in ("first", "last") and lead_items:
        word = "First" if intent == "first" else "Last"
        lines.append(f"{word} seen at {_short_time(result.get('ts'))} UTC: {_cite(lead_items[0])}")
        lines.append(f"{count_line}, {span}.")
    elif intent in ("max", "min") and "value" in result:
        word = "Largest" if intent == "max" else "Smallest"
        exact = "" if result["exact"] else f" (among the {result['values_read']:,} most recent values)"
        cite = f": {_cite(lead_items[0])}" if lead_items else ""
        lines.append(f"{word} {result['variable']}: {result['value']}{exact}{cite}")
        lines.append(f"{count_line}, {span}.")
    elif intent == "total" and "sum" in result:
        exact = "" if result["exact"] else " (over the most recent events only)"
        lines.append(f"Total {result['variable']}: {result['sum']}{exact}, over {result['values_read']:,} values.")
        lines.append(f"{count_line}, {span}.")
    elif result.get("entity") and result.get("values"):
        exact = "" if result.get("exact") else " (from a sample of the most recent events)"
        values = ", ".join(f"{value} ({count:,})" for value, count in result["values"])
        lines.append(f"Top {result['entity']} values{exact}: {values}.")
        lines.append(f"{count_line}, {span}.")
    else:
        lines.append(f"{count_line}, {span}.")
    if patterns:
        shown = patterns[:3]
        lines.append("By pattern: " + "; ".join(f"{p['count']:,} × {_one_line(p['template'], 120)}" for p in shown)
                     + ("; …" if len(aggregate.patterns) > len(shown) else "") + ".")
    cited = [item for item in evidence if item not in lead_items][: max(0, EXTRACTIVE_LINES - len(lead_items))]
    if cited:
        lines.append("Relevant lines:")
        lines.extend(f"  {_cite(item)}" for item in cited)
    return "\n".join(lines)


def _filters_text(scope: _Scope, retrieval: _Retrieval, result: dict[str, Any]) -> str:
    parts = []
    described = _describe_scope(scope, retrieval)
    if described:
        parts.append(described)
    aggregate = retrieval.aggregate
    parts.append(f"matching events (exact count): {aggregate.total}")
    if aggregate.first is not None:
        parts.append(f"matches span {_short_time(aggregate.first)} to {_short_time(aggregate.last)} UTC")
    if result.get("sentence"):
        # Computed by code over every matching event: the answer states it first, as it is.
        parts.append(f"computed result ({'exact' if result.get('exact', True) else 'not exact'}): "
                     f"{result['sentence']}")
        return "; ".join(parts)
    for key in ("value", "sum"):
        if key in result:
            exact = "exact" if result.get("exact") else "over the most recent events"
            word = {"max": "largest", "min": "smallest"}.get(result["intent"], "total")
            parts.append(f"{word} {result['variable']} ({exact}): {result[key]}")
    return "; ".join(parts)


def _llm_answer(
    settings: Settings, scope: _Scope, retrieval: _Retrieval, result: dict[str, Any], patterns: list[dict[str, Any]],
    evidence: list[dict[str, Any]], history: str | None, listener: AskListener, usage: dict[str, Any],
    tools: ToolBackend | None = None, lead: str | None = None,
) -> tuple[dict[str, Any] | None, str | None, float]:
    """(answer fields, failure notice, milliseconds spent). None fields mean: fall back to extractive.
    ``usage`` is filled with what the metrics count (AskResult.usage). ``tools`` answers the model's tool
    calls (logchat.llm.tools), up to ``llm.max_tool_steps`` rounds. ``lead``, the computed result's
    sentence, is given to the model as a fact and printed before its words, so the answer's first
    sentence is a number computed by code."""
    from logchat.llm.citations import check_citations
    from logchat.llm.models import check_reachable, make_chat_model, ollama_base_url
    from logchat.llm.numbers import check_numbers, known_numbers
    from logchat.llm.prompts import build_messages
    from logchat.llm.tools import answer_with_tools

    started = time.perf_counter()
    usage["llm_attempted"] = True
    if not check_reachable(settings.llm):
        usage["llm_failure"] = "unreachable"
        is_ollama = settings.llm.provider.strip().lower() == "ollama"
        where = redact_url(ollama_base_url(settings.llm)) if is_ollama else settings.llm.provider
        return None, f"no LLM reachable at {where}; extractive answer", (time.perf_counter() - started) * 1000
    model = make_chat_model(settings.llm)
    if model is None:
        return None, "no LLM configured; extractive answer", 0.0
    messages, included = build_messages(
        scope.question,
        time_range_text=_range_text(scope),
        filters_text=_filters_text(scope, retrieval, result),
        patterns=patterns,
        evidence=evidence,
        history_summary=history,
        budget=settings.llm.context_token_budget,
    )
    if lead:
        listener.on_token(lead + "\n")
    answered = answer_with_tools(model, messages, tools, listener.on_token, evidence=evidence, evidence_sent=included,
                                 max_steps=settings.llm.max_tool_steps)
    elapsed = (time.perf_counter() - started) * 1000
    usage["tokens_in"] = answered.input_tokens
    usage["tokens_out"] = answered.output_tokens
    usage["tool_calls"] = len(answered.calls)
    if answered.failure_kind is not None:
        usage["llm_failure"] = answered.failure_kind
    if not answered.completed:
        listener.on_llm_failed(answered.error or "the model failed")
        return None, f"{answered.error or 'the model failed'}; extractive answer", elapsed
    sent = answered.evidence_sent
    text = f"{lead}\n{answered.text}" if lead else answered.text
    check = check_citations(text, sent)
    # The question's own numbers ("status 502") may be repeated; any other must come from what code computed.
    numbers = check_numbers(answered.text, known_numbers([scope.question, *answered.given, *([lead] if lead else [])]))
    return {
        "answer": text,
        "citations": [cited for cited in check.cited if cited in set(sent)],
        "citation_check": {"ok": check.ok, "unknown": check.unknown, "evidence_sent": sent},
        "first_token_ms": answered.first_token_ms,
        "unverified_numbers": numbers.unverified,
        "tool_calls": [call.to_dict() for call in answered.calls],
        "evidence_added": answered.evidence_added,
    }, None, elapsed


def _pattern_dicts(patterns: list[search_repo.PatternStats], values: dict[int | None, search_repo.TopValues]
                   ) -> list[dict[str, Any]]:
    result = []
    for pattern in patterns:
        top = values.get(pattern.template_id)
        result.append({
            "template_id": pattern.template_id,
            "template": mask_secrets(pattern.template),
            "count": pattern.count,
            "first_seen": pattern.first_seen,
            "last_seen": pattern.last_seen,
            "level": pattern.level,
            "top_values": top.to_dict() if top is not None else {"exact": False, "events_read": 0},
        })
    return result


def _combined_top_values(
    session: Session, retrieval: _Retrieval, conditions: list[search_repo.Condition]
) -> search_repo.TopValues:
    per_pattern, budget = VALUES_ANSWER
    values, raw = search_repo.pattern_top_values(
        session, retrieval.aggregate.patterns, conditions, counts=retrieval.counts, per_pattern=per_pattern,
        budget=budget,
    )
    combined: Counter[tuple[str, str]] = Counter()
    for counts in raw.values():
        combined.update(counts)
    exact = len(values) == len(retrieval.aggregate.patterns) and all(v.exact for v in values.values())
    read = sum(v.events_read for v in values.values())
    return search_repo.TopValues(exact=exact, events_read=read, values=search_repo.top_by_name(combined))


def _serialise(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, dict):
        return {key: _serialise(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_serialise(inner) for inner in value]
    return value


def _stored_filters(scope: _Scope, retrieval: _Retrieval) -> dict[str, Any]:
    return {
        "since": _iso(scope.flt.since),
        "until": _iso(scope.flt.until),
        "phrase": scope.filters.time_range.phrase if scope.filters.time_range else None,
        "levels": list(scope.flt.levels),
        "hosts": list(scope.flt.hosts),
        "sources": list(scope.flt.sources),
        "processes": list(scope.flt.processes),
        "text_query": scope.text_query,
        "keywords": list(scope.keywords),
    }


# --- the use case -------------------------------------------------------------------------------------


@tracing.traced("ask")
def ask(store: Store, settings: Settings, request: AskRequest, listener: AskListener | None = None) -> AskResult:
    """Answer one question; see the module docstring and docs/ask.md for the output."""
    listener = listener or AskListener()
    notices: list[str] = []
    started = time.perf_counter()
    started_ns = time.time_ns()
    if request.levels:
        normalise_levels(request.levels)  # a bad --level is a usage error before any work
    session_name = None
    if request.session is not None:
        from logchat.services.sessions import check_session_name

        session_name = check_session_name(request.session)
    previous, history = _previous_filters(store, session_name, request.owner)
    known = _known_values(store, settings)
    # "per hour" asks for a series: it says how to count, not what to look for.
    from logchat.services.intent_plan import split_series_phrase

    parsed_question, interval = split_series_phrase(request.question)
    scope = _parse(store, settings, replace(request, question=parsed_question) if interval else request, known,
                   previous)
    if interval:
        scope.question = request.question.strip()
    scope.plan = _plan_question(store, settings, scope, known)
    parsed_at = time.perf_counter()
    parsed_ns = time.time_ns()
    tracing.record_span("ask.parse", started_ns, parsed_ns)

    vectors = _vector_side(store, settings, notices)
    with store.session() as session:
        retrieval = _resolve_and_aggregate(session, scope)
        notices.extend(retrieval.notices)
        if retrieval.aggregate.total > 0 or retrieval.resolved.mode == "none":
            from logchat.retrieval.hybrid import hybrid_search

            if retrieval.resolved.mode != "impossible" and retrieval.aggregate.total > 0:
                # Vector neighbours re-rank and complete the matching events; they only bring lines of
                # their own when the question has no text left to match (so counts and lines agree).
                restrict = retrieval.matched
                retrieval.hybrid = hybrid_search(
                    session, query=retrieval.resolved, query_text=scope.text_query, flt=scope.flt, vectors=vectors,
                    pool=settings.retrieval.candidate_pool, restrict_to=restrict, counts=retrieval.counts,
                    templates={p.template_id for p in retrieval.aggregate.patterns if p.template_id is not None},
                    within=search_repo.matched_ids() if retrieval.materialised else None,
                )  # fmt: skip
        retrieved_ns = time.time_ns()
        tracing.record_span("ask.retrieve", parsed_ns, retrieved_ns, **{"logchat.matched": retrieval.aggregate.total})
        conditions = _conditions(session, scope, retrieval)
        shown = retrieval.aggregate.patterns[: settings.retrieval.top_patterns]
        wants_values = scope.filters.entity is not None or scope.filters.intent == "top"
        if wants_values and retrieval.aggregate.total:
            overall: search_repo.TopValues | None = _combined_top_values(session, retrieval, conditions)
        else:
            overall = None
        per_pattern, _ = search_repo.pattern_top_values(
            session, shown, conditions, counts=retrieval.counts, per_pattern=VALUES_SHOWN[0],
            budget=VALUES_SHOWN[1],
        )
        result, leading = _intent_result(session, scope, retrieval, settings, overall)
        computed = _computed(session, scope, retrieval, interval, notices)
        if computed is not None and computed.event_id is not None:
            leading = [computed.event_id, *(event_id for event_id in leading if event_id != computed.event_id)]
        evidence_ids = _pick_evidence(session, scope, retrieval, settings, leading) if retrieval.aggregate.total else []
        evidence = _evidence_items(session, evidence_ids, retrieval)
        if computed is not None:
            from logchat.services.compute import cite

            computed = cite(computed, evidence)
            result = _with_computed(result, computed)
        patterns = _pattern_dicts(shown, per_pattern)
    retrieved_at = time.perf_counter()
    tracing.record_span("ask.aggregate", retrieved_ns, time.time_ns(), **{"logchat.patterns": len(patterns)})

    lead = computed.sentence if computed is not None else None
    extractive = _extractive_answer(scope, retrieval, result, patterns, evidence, len(leading), lead)
    mode, answer, citations = "extractive", extractive, _extract(extractive)
    citation_check: dict[str, Any] | None = None
    llm_ms = 0.0
    first_token_ms = None
    streamed = False
    llm_error: str | None = None
    usage: dict[str, Any] = {}
    unverified_numbers: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    if not request.use_llm:
        pass
    elif settings.llm.provider.strip().lower() == "none":
        notices.append("no LLM configured (llm.provider = none); extractive answer")
    elif not evidence:
        notices.append("nothing matched, so no model was asked")
    else:
        from logchat.services.ask_tools import StoreTools

        counting = _CountingListener(listener)
        tools = StoreTools(store, settings, scope.flt, request.now)
        with tracing.span("ask.llm", **{"gen_ai.request.model": settings.llm.model}):
            answered, failure, llm_ms = _llm_answer(
                settings, scope, retrieval, result, patterns, evidence, history, counting, usage, tools, lead
            )
        streamed = counting.tokens > 0
        if usage.get("tokens_out") is None and counting.tokens:
            usage["tokens_out"] = counting.tokens  # a server that reports no counts: its chunks
        if answered is None:
            llm_error = failure
            notices.append(failure or "the model failed; extractive answer")
        else:
            mode, answer, citations = "llm", answered["answer"], answered["citations"]
            citation_check = answered["citation_check"]
            first_token_ms = answered["first_token_ms"]
            unverified_numbers, tool_calls = answered["unverified_numbers"], answered["tool_calls"]
            evidence.extend(answered["evidence_added"])  # lines the model's tool calls brought, with their ids
            if citation_check["unknown"]:
                notices.append(f"the answer cites unknown evidence ids: {', '.join(citation_check['unknown'])}")
            elif not citation_check["ok"]:
                notices.append("the answer cites no evidence")
    for notice in notices:
        listener.on_notice(mask_secrets(notice))

    if session_name is not None:
        _record_turn(
            store, session_name, request.owner, question=scope.question, answer=mask_secrets(answer), mode=mode,
            filters=_stored_filters(scope, retrieval), matched=retrieval.aggregate.total,
            evidence_event_ids=[item["event_id"] for item in evidence], citations=citations,
        )  # fmt: skip

    aggregate = retrieval.aggregate
    data: dict[str, Any] = {
        "question": scope.question,
        "answer": answer,
        "mode": mode,
        "plan": _plan_json(scope, retrieval),
        "time_range": {
            "since": _iso(scope.flt.since),
            "until": _iso(scope.flt.until),
            "phrase": scope.filters.time_range.phrase if scope.filters.time_range else None,
        },
        "filters": {
            "levels": list(scope.flt.levels),
            "hosts": list(scope.flt.hosts),
            "sources": list(scope.flt.sources),
            "processes": list(scope.flt.processes),
            "text_query": scope.text_query,
            "keywords": list(scope.keywords),
            "intent": scope.filters.intent,
            "entity": scope.filters.entity,
            "text_match": retrieval.resolved.to_dict(),
            "level_fallback": retrieval.level_fallback,
            "from_session": scope.inherited,
        },
        "matched": aggregate.total,
        "time_span": {"first": _iso(aggregate.first), "last": _iso(aggregate.last)},
        "result": _serialise(result),
        "patterns": _serialise(patterns),
        "top_values": overall.to_dict() if overall is not None else None,
        "by_host": [[host, n] for host, n in aggregate.by_host[:10]],
        "by_source": [[name, n] for name, _, n in aggregate.by_source[:10]],
        "evidence": _serialise(evidence),
        "citations": citations,
        "citation_check": citation_check,
        "unverified_numbers": unverified_numbers,
        "tool_calls": tool_calls,
        "notices": notices,
        "llm_error": llm_error,
        "session": session_name,
        "timings_ms": {
            "parse": round((parsed_at - started) * 1000, 1),
            "retrieve": round((retrieved_at - parsed_at) * 1000, 1),
            "llm": round(llm_ms, 1),
            "first_token": round(first_token_ms, 1) if first_token_ms is not None else None,
        },
    }
    # One pass over everything returned: whatever a new field carries, no secret leaves the service.
    data = mask_tree(data)
    evidence_by_id = {item["id"]: item for item in data["evidence"]}
    return AskResult(data=data, evidence_by_id=evidence_by_id, streamed=streamed, usage=usage)


def _plan_json(scope: _Scope, retrieval: _Retrieval) -> dict[str, Any] | None:
    """The plan as it was run: its filters are the ones retrieval used (after a session's inherited scope
    or a fallback for logs without levels), its notes the prefix and field fallbacks taken."""
    if scope.plan is None:
        return None
    from dataclasses import replace

    from logchat.retrieval.plan import PlanFilters

    flt = scope.flt
    filters = PlanFilters(start=flt.since, end=flt.until, levels=tuple(flt.levels), hosts=tuple(flt.hosts),
                          sources=tuple(flt.sources), processes=tuple(flt.processes))
    notes = scope.plan.notes
    if retrieval.level_fallback:
        notes = (*notes, "no event has the levels asked for: the level words were matched as text")
    return _serialise(replace(scope.plan, filters=filters, notes=notes).to_json())  # type: ignore[no-any-return]


def _record_turn(store: Store, name: str, owner: int | None, **turn: Any) -> None:
    from logchat.storage.transactions import begin_write, busy_means_try_again

    for attempt in (1, 2):
        try:
            with busy_means_try_again("keep this turn of the session"), store.session() as session:
                begin_write(session)  # SQLite: numbering the turn and writing it happen under one lock
                chat_repo.add_turn(session, chat_repo.get_or_create_session(session, name, owner), **turn)
            return
        except chat_repo.SessionNameTaken:
            # A concurrent question created the session first: the second attempt finds it.
            if attempt == 2:
                raise


def ask_in_session(
    store: Store, settings: Settings, request: AskRequest, *, session: str, owner: int | None,
    listener: AskListener | None = None,
) -> AskResult:
    """Answer ``request`` within the owner's session ``session``, created when missing: a follow-up
    reuses the scope of the session's last turn, as `ask --session` does."""
    from dataclasses import replace

    return ask(store, settings, replace(request, session=session, owner=owner), listener)


def _extract(answer: str) -> list[str]:
    from logchat.llm.citations import extract_citations

    return extract_citations(answer)


def ask_many(
    store: Store, settings: Settings, questions: Sequence[str], template: AskRequest,
    listener: AskListener | None = None, on_result: Callable[[AskResult], None] | None = None,
) -> list[AskResult]:
    """Answer questions in order (``--file``); each uses ``template`` for its flags."""
    from dataclasses import replace

    results = []
    for question in questions:
        outcome = ask(store, settings, replace(template, question=question), listener)
        results.append(outcome)
        if on_result is not None:
            on_result(outcome)
    return results
