"""Stage 2: the events the plan selects, counted exactly (SQL over every match), then ranked by hybrid search.

When the plan selects nothing, a few readings are tried in turn, each saying so in a notice: field conditions
matched as text (the value was bound to a field these lines lack), level words matched as text (logs without
levels), fewer words (no event has them all). The filter conditions of the matching events are built once,
here, and every later query uses them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from logchat.retrieval import fulltext
from logchat.retrieval.plan import Plan, TextTerm
from logchat.services import planning
from logchat.storage import fulltext_repo, level_words_repo, search_repo
from logchat.storage.stats_repo import EventFilter

if TYPE_CHECKING:
    from logchat.config import Settings
    from logchat.retrieval.hybrid import HybridResult, VectorSide
    from logchat.services.answer.question import Question
    from logchat.services.vectors import PendingVectors
    from logchat.storage.db import Session, Store

# Vectors behind the store by more than this many events earn a notice; a few behind is the normal
# moment between new lines and the update that `index`, `reload` or `follow` runs after them.
VECTORS_BEHIND_NOTICE = 100_000


@dataclass(frozen=True)
class Matches:
    """The events matching a scope and a resolved text query, counted."""

    resolved: fulltext.ResolvedQuery
    # Selects the matching events (with the filters applied or not); None when there is no text query.
    matched: search_repo.Condition | None
    aggregate: search_repo.Aggregate
    # {template id: (matching, all events)} when ``matched`` reads the materialised ids.
    counts: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    materialised: bool = False  # ``matched`` reads the temporary table of matching ids
    # The templates ``matched`` selects every event of, when it is exactly that (search_repo.of_templates).
    whole_templates: frozenset[int] | None = None
    repeat_notes: int = 0  # syslog repeat notes that matched too and were left out (see repeats.py)

    @property
    def total(self) -> int:
        return self.aggregate.total


@dataclass(frozen=True)
class Retrieval:
    """What retrieval found, as it ran: its plan and scope are the ones after any fallback."""

    plan: Plan
    scope: EventFilter
    matches: Matches
    conditions: tuple[search_repo.Condition, ...]  # scope + matches: every later query's WHERE
    hybrid: HybridResult | None = None
    notices: tuple[str, ...] = ()
    level_fallback: bool = False
    # When the time range holds no event at all: what the store holds instead ("the store holds …").
    store_span: str | None = None

    @property
    def aggregate(self) -> search_repo.Aggregate:
        return self.matches.aggregate

    @property
    def resolved(self) -> fulltext.ResolvedQuery:
        return self.matches.resolved

    @property
    def counts(self) -> Mapping[int, tuple[int, int]]:
        return self.matches.counts

    @property
    def whole_templates(self) -> frozenset[int] | None:
        """The templates whose events are exactly the matching ones (no condition of the scope beyond them), or
        None: what lets a computation read counts kept per template instead of the events."""
        whole = self.matches.whole_templates
        if whole is None or len(self.conditions) != 1 or self.conditions[0] is not self.matches.matched:
            return None
        return whole


def short_time(value: datetime | None) -> str:
    from datetime import UTC

    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def retrieve(
    session: Session,
    settings: Settings,
    question: Question,
    plan: Plan,
    vectors: VectorSide | Callable[[], VectorSide | None] | None,
) -> Retrieval:
    """Count the plan's events, then rank them with the vectors (``vectors``: None without any; a function
    is called for them only when some event matches; a LazyVectors starts loading them as soon as the
    question's words are all found in the store, while the events are counted)."""
    found = find_matches(session, question, plan, vectors.prefetch if isinstance(vectors, LazyVectors) else None)
    matches = found.matches
    if matches.resolved.mode == "impossible" or matches.total == 0:
        return found
    if callable(vectors):
        vectors = vectors()
    from logchat.retrieval.hybrid import hybrid_search

    # Vector neighbours re-rank and complete the matching events; they only bring lines of their own when
    # the question has no text left to match (so counts and lines agree).
    hybrid = hybrid_search(
        session, query=matches.resolved, query_text=question.text_query, flt=found.scope, vectors=vectors,
        pool=settings.retrieval.candidate_pool, restrict_to=matches.matched, counts=dict(matches.counts),
        templates={p.template_id for p in matches.aggregate.patterns if p.template_id is not None},
        within=search_repo.matched_ids() if matches.materialised else None,
    )  # fmt: skip
    return replace(found, hybrid=hybrid)


def find_matches(
    session: Session, question: Question, plan: Plan, words_found: Callable[[], None] | None = None
) -> Retrieval:
    """The plan's matching events, after the fallbacks a reading that matches nothing earns. ``words_found``
    is called when a reading's words are all in the store, before its events are counted."""
    scope = question.scope
    notices: list[str] = []
    level_fallback = False
    plan, printed_notice = _checked_level_words(session, plan, scope)
    if printed_notice is not None:
        notices.append(printed_notice)
    plan, matches = _matched(session, plan, scope, words_found=words_found)
    value_notice = None
    if matches.total == 0 and plan.conditions:
        plan, matches, value_notice = _unbound_if_misread(session, scope, plan)
        notices.append(value_notice)

    if (
        matches.total == 0
        and scope.levels
        and not question.levels_from_flag
        and question.level_terms
        and _levels_unused(session, scope)
    ):
        # These logs carry no levels at all ("errors" in sshd's syslog), or none of the asked ones ("POSSIBLE
        # BREAK-IN ATTEMPT warnings" where sshd logs no warning): look for the word instead.
        levels = ", ".join(scope.levels)
        scope = replace(scope, levels=[])
        level_fallback = True
        terms = question.level_terms
        plan, matches = _matched(session, plan, scope, terms, words_found)
        words = f"the word{'s' if len(terms) > 1 else ''} {', '.join(repr(t) for t in terms)}"
        dropped = {word.lower() for word in matches.resolved.dropped}
        if matches.total == 0:
            # The word narrowed the lines to none: it only described the lines the rest of the question names.
            plan, matches = _matched(session, plan, scope, words_found=words_found)
            notices.append(f"no event has level {levels}, and none of them contains {words}; matched without them")
        elif all(term.lower() in dropped for term in terms):
            notices.append(f"no event has level {levels} nor contains {words}; matched without them")
        else:
            notices.append(f"no event has level {levels}; matched {words} instead")

    if matches.total == 0 and question.process_terms and scope.processes:
        # A question word that is also a process name ("notification" where `Notification` is a program) may
        # only describe the lines ("Notification time out: 3200" is logged by another program): when the
        # process filter leaves no event, the word is matched as text instead, as level words are.
        wider = replace(scope, processes=[])
        wider_plan, wider_matches = _matched(session, plan, wider, question.process_terms, words_found)
        if wider_matches.total > 0:
            terms = question.process_terms
            notices.append(
                f"no matching event is from process {', '.join(scope.processes)}; matched the "
                f"word{'s' if len(terms) > 1 else ''} {', '.join(repr(t) for t in terms)} instead"
            )
            scope, plan, matches = wider, wider_plan, wider_matches

    if matches.total == 0 and matches.resolved.mode == "all":
        relaxed = fulltext.relax(session, matches.resolved, search_repo.event_conditions(session, scope))
        if relaxed is not None:
            looser = _match(session, plan, scope, relaxed)
            if looser.total > 0:
                matches = looser
                if plan.conditions and value_notice in notices:
                    # Events with the value were there all along: a word of the question is what matched none.
                    notices.remove(value_notice)
                if relaxed.mode == "any":
                    words = ", ".join(term.text for term in relaxed.optional)
                    notices.append(f"no event contains all the words; counting events with any of: {words}")
                else:
                    notices.append(f"no event contains all the words; left out: {', '.join(relaxed.unmatched)}")

    if matches.total > 0 and matches.resolved.mode == "all" and plan.operation.kind in _MEASURES:
        measured = _measured_reading(session, plan, scope, matches)
        if measured is not None:
            matches = measured
            notices.append(
                f"the lines matching {', '.join(measured.resolved.unmatched)} carry no number the question "
                f"measures; left out: {', '.join(measured.resolved.unmatched)}"
            )
    if matches.repeat_notes:
        notes = matches.repeat_notes
        notices.append(
            f"{notes:,} syslog note{'s' if notes > 1 else ''} that the line before came again (\"message repeated N "
            f"times: [...]\") matched too; not counted as line{'s' if notes > 1 else ''} of this kind"
        )
    store_span = None
    if (
        matches.total == 0
        and (scope.since is not None or scope.until is not None)
        and not search_repo.any_event_between(session, scope.since, scope.until)
    ):
        total, first, last = search_repo.store_span(session)
        if total:
            store_span = f"the store holds {total:,} events from {short_time(first)} to {short_time(last)} UTC"
            notices.append(
                f"no events at all between {short_time(scope.since)} and {short_time(scope.until)} UTC; "
                f"{store_span} (use --now to read time phrases relative to the logs' own time)"
            )
    return Retrieval(
        plan=plan, scope=scope, matches=matches,
        conditions=tuple(search_repo.event_conditions(session, scope, matches.matched)),
        notices=tuple(notices), level_fallback=level_fallback, store_span=store_span,
    )  # fmt: skip


def vector_side(store: Store, settings: Settings, notices: list[str]) -> LazyVectors:
    """The vectors as they are: `index`, `reload`, `follow` and the daemon's jobs keep them up to date, so a
    question never windows or embeds (it only reads, and says when the vectors lag behind). How far they
    reach is read now; the vectors themselves when they are first called for or prefetched (a question with a
    word that no event contains never loads FAISS, numpy or the index files)."""
    from logchat.services.vectors import pending_vectors

    pending = pending_vectors(settings, store)
    with store.session() as session:
        newest = search_repo.max_event_id(session)
    behind = newest - pending.events_upto
    if newest > 0 and behind > VECTORS_BEHIND_NOTICE:
        notices.append(
            f"the vector index is {behind:,} events behind; `logchat reload` (or `logchat index` on the same "
            "paths) brings it up to date (full-text search covers every event)"
        )

    return LazyVectors(pending if newest > 0 else None)


class LazyVectors:
    """The vectors of a question, loaded on first call; :meth:`prefetch` starts loading them in a thread.

    Loading them (FAISS, numpy, the index files: about a tenth of a second) overlaps the queries that count
    the matching events, which spend their time in SQLite with the interpreter released."""

    def __init__(self, pending: PendingVectors | None) -> None:
        self._pending = pending
        self._started = False
        self._vectors: Future[VectorSide | None] = Future()  # what loading gave, or the failure it raised

    def prefetch(self) -> None:
        if self._pending is not None and not self._started:
            self._started = True
            threading.Thread(target=self._load, name="logchat-vectors").start()

    def __call__(self) -> VectorSide | None:
        if not self._started:
            self._started = True
            self._load()
        return self._vectors.result()  # waits for the prefetching thread; raises what it raised

    def _load(self) -> None:
        try:
            loaded = self._pending.load() if self._pending is not None else None
            if loaded is None:
                self._vectors.set_result(None)
                return
            from logchat.retrieval.hybrid import VectorSide

            self._vectors.set_result(VectorSide(loaded.templates, loaded.windows, loaded.embedder))
        except BaseException as failure:  # raised again where the vectors are asked for
            self._vectors.set_exception(failure)


def _text_query(plan: Plan, extra_words: Sequence[str] = ()) -> fulltext.TextQuery:
    if not extra_words:
        return planning.text_query(plan.terms)
    from logchat.retrieval.planner import terms_with_words

    return planning.text_query(terms_with_words(plan, extra_words))


def _matched(
    session: Session, plan: Plan, scope: EventFilter, extra_words: Sequence[str] = (),
    words_found: Callable[[], None] | None = None,
) -> tuple[Plan, Matches]:  # fmt: skip
    """The plan's text checked against the store, and its events. Identifiers that match nothing whole are
    tried as the start of logged ids (job_42 -> job_42_1), and the plan returned says so."""
    resolved = fulltext.resolve_query(session, _text_query(plan, extra_words))
    if resolved.mode == "impossible":
        prefixed = planning.prefix_fallback(plan, resolved.missing)
        if prefixed is not None:
            candidate = fulltext.resolve_query(session, _text_query(prefixed, extra_words))
            if candidate.mode != "impossible":
                plan, resolved = prefixed, candidate
    elif (extended := planning.with_id_parts(plan)) is not None:
        # "broadcast_9" is logged whole and as its part "broadcast_9_piece0": a line about a part is about it.
        candidate = fulltext.resolve_query(session, _text_query(extended, extra_words))
        conditions = search_repo.event_conditions(session, scope)
        if candidate.mode == "all" and fulltext_repo.matches_beyond(session, candidate, resolved, conditions):
            plan, resolved = extended, candidate
    if words_found is not None and resolved.mode != "impossible":
        words_found()
    return plan, _match(session, plan, scope, resolved)


def _match(session: Session, plan: Plan, scope: EventFilter, resolved: fulltext.ResolvedQuery) -> Matches:
    """Count the events matching ``scope`` and ``resolved`` exactly, as cheaply as the query allows; syslog's
    repeat notes ("message repeated 5 times: [ … ]") that match along with other lines are left out."""
    from logchat.services.answer.repeats import asks_about_repeats, repeat_note_templates

    matches = _match_once(session, plan, scope, resolved)
    if matches.matched is None or asks_about_repeats(plan.question):
        return matches
    notes = repeat_note_templates(matches.aggregate.patterns)
    if not notes:
        return matches
    left_out = sum(p.count for p in matches.aggregate.patterns if p.template_id in notes)
    return replace(_match_once(session, plan, scope, resolved, notes), repeat_notes=left_out)


def _match_once(
    session: Session, plan: Plan, scope: EventFilter, resolved: fulltext.ResolvedQuery,
    excluded: frozenset[int] = frozenset(),
) -> Matches:  # fmt: skip
    if resolved.mode == "impossible":
        return Matches(resolved, search_repo.no_events(), search_repo.Aggregate())
    from sqlalchemy import and_

    condition = fulltext_repo.match_condition(session, resolved)
    fields = planning.field_conditions(session, plan)
    if plan.filters.level_words:
        fields.append(level_words_repo.prints_level_word(session, plan.filters.level_words))
    if fields:
        condition = and_(*([condition] if condition is not None else []), *fields)
    if condition is None:
        return Matches(resolved, None, search_repo.aggregate(session, scope, None, errors_first=True))
    not_excluded = fulltext_repo.outside_templates(excluded) if excluded else None
    if not_excluded is not None:
        condition = and_(condition, not_excluded)
    full = fulltext_repo.templates_fully_matching(session, resolved) if not fields else frozenset()
    full = full - excluded
    if full:
        in_full = search_repo.rollup_total(session, full)
        if fulltext_repo.fts_hits(session, resolved, up_to=in_full) == in_full:
            # Every hit belongs to a template whose fixed text matches: the rollup counts them exactly.
            aggregate = search_repo.aggregate(session, scope, None, errors_first=False, templates=full)
            return Matches(resolved, search_repo.of_templates(full), aggregate, whole_templates=frozenset(full))
    # Stored by walking the full-text hits when the query has words for the index: the rest of it (identifiers'
    # exact form) and the filters are then checked on each hit's event.
    walk = fulltext_repo.index_walk(session, resolved, processes=scope.processes, hosts=scope.hosts)
    expression = None
    if walk is not None:
        expression, rest = walk
        parts = [*([rest] if rest is not None else []), *fields, *([not_excluded] if not_excluded is not None else [])]
        condition = and_(*parts) if parts else None
    _, matched = search_repo.materialise_matches(
        session, search_repo.event_conditions(session, scope, condition), hits=expression
    )
    aggregate = search_repo.aggregate_matches(session, errors_first=False)
    # How sparse the matches are in each template decides how later queries walk them.
    totals = search_repo.template_counts(session, [p.template_id for p in aggregate.patterns if p.template_id])
    counts = {
        p.template_id: (p.count, totals.get(p.template_id, p.count))
        for p in aggregate.patterns
        if p.template_id is not None
    }
    return Matches(resolved, matched, aggregate, counts=counts, materialised=True)


_MEASURES = ("max", "min", "sum", "avg", "percentile")


def _measured_reading(session: Session, plan: Plan, scope: EventFilter, matches: Matches) -> Matches | None:
    """A measure ("total bytes returned by the API") over lines whose words find none that carry such a
    number (the API's own lines, not its request lines with `len:`): the reading with one or two of the plain
    words left out whose lines do carry one, the most matches first; None when no such reading exists, or when
    the lines found already carry one."""
    from itertools import combinations

    if _carries_measure(session, plan, matches):
        return None
    resolved = matches.resolved
    words = [term for term in resolved.required if not term.verbatim and not any(c.isdigit() for c in term.text)]
    for size in (1, 2):
        best: tuple[int, fulltext.ResolvedQuery] | None = None
        for left_out in combinations(words, size):
            kept = tuple(term for term in resolved.required if term not in left_out)
            names = tuple(term.text for term in left_out)
            candidate = replace(resolved, required=kept, unmatched=names) if kept else fulltext.ResolvedQuery(
                mode="none", dropped=resolved.dropped, unmatched=names)  # fmt: skip
            looser = _match(session, plan, scope, candidate)
            better = best is None or looser.total > best[0]
            if looser.total > 0 and better and _carries_measure(session, plan, looser):
                best = (looser.total, candidate)
        if best is not None:
            # Matched again: each reading tried replaced the temporary table of matching ids.
            return _match(session, plan, scope, best[1])
    return None


def _carries_measure(session: Session, plan: Plan, matches: Matches) -> bool:
    """Whether a field of the matching lines fits the plan's measure, as the answer chooses it."""
    counts = {p.template_id: p.count for p in matches.aggregate.patterns if p.template_id is not None}
    unchosen = replace(plan, operation=replace(plan.operation, field=None))
    return planning.field_of_matches(session, unchosen, counts).operation.field is not None


def _unbound_if_misread(session: Session, scope: EventFilter, bound: Plan) -> tuple[Plan, Matches, str]:
    """Nothing matched the plan's field conditions. When the lines the text finds carry those fields, that is
    the answer ("stage 35.0": no such stage). When they do not, the value was bound to a field these lines lack
    (a field named differently in their template), so the values are matched as text, as before plans."""
    from sqlalchemy import and_

    from logchat.storage import fields_repo

    described = ", ".join(f"{c.name} {c.operator} {c.value}" for c in bound.conditions)
    unbound, looser = _matched(session, _without_conditions(bound), scope)
    if looser.total > 0:
        within = and_(*search_repo.event_conditions(session, scope, looser.matched))
        carried = fields_repo.field_event_counts(session, [c.name for c in bound.conditions], within)
        if not any(carried.values()):
            return unbound, looser, unbound.notes[-1]
    # The looser reading may have replaced the temporary table of matching ids: the bound plan's are read again.
    bound, found = _matched(session, bound, scope)
    return bound, found, f"no event has {described}"


def _without_conditions(plan: Plan) -> Plan:
    """The plan with its field conditions matched as text again (today's reading of the question)."""
    values = [
        TextTerm(text=condition.source_text.split()[-1].lstrip("/"))
        for condition in plan.conditions
        if condition.source_text
    ]
    described = ", ".join(f"{c.name} {c.operator} {c.value}" for c in plan.conditions)
    return replace(
        plan,
        conditions=(),
        terms=(*plan.terms, *values),
        notes=(*plan.notes, f"no event has {described}; matched the values as text instead"),
    )


def _checked_level_words(session: Session, plan: Plan, scope: EventFilter) -> tuple[Plan, str | None]:
    """The plan, without its level words when no event of those levels prints them before its message (the
    log writes "E" or "<3>" for ERROR): the word then only said which level is meant, and a notice says so.
    When no event has the levels at all, the fallback for logs without levels speaks instead."""
    words = plan.filters.level_words
    if not words:
        return plan, None
    printing = search_repo.event_conditions(session, scope, level_words_repo.prints_level_word(session, words))
    if level_words_repo.any_event(session, printing):
        return plan, None
    plain = replace(plan, filters=replace(plan.filters, level_words=()))
    if not scope.levels or not search_repo.any_event_under(session, scope):
        return plain, None
    return plain, (
        f"no event of level {', '.join(scope.levels)} prints {', '.join(words)} before its message; "
        f"counted every event of level {', '.join(scope.levels)}"
    )


def _levels_unused(session: Session, scope: EventFilter) -> bool:
    """Whether the question's levels select no event at all under its other filters (whatever the text)."""
    present, leveled = search_repo.levels_in_scope(session, scope)
    return present and (not leveled or not search_repo.any_event_under(session, scope))
