"""A question's plan, built from what the store knows, and turned into what retrieval runs.

:func:`store_vocabulary` reads the store's named fields (with the words of the templates that carry them)
and the known hosts, processes and sources; :func:`logchat.retrieval.planner.build_plan` reads the question
against them. :func:`text_query` and :func:`field_conditions` turn the plan's text terms and field
conditions into the full-text query and the SQL conditions that select the plan's events, so counts,
evidence and every computed value respect them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from logchat.retrieval import fulltext
from logchat.retrieval.plan import Plan, TextTerm
from logchat.retrieval.planner import COLUMN_FIELDS, KnownField, StoreVocabulary, acronym_candidates, choose_field

if TYPE_CHECKING:
    from logchat.storage.db import Session
    from logchat.storage.fields_repo import FieldInfo
    from logchat.storage.search_repo import Condition

__all__ = [
    "field_conditions", "field_of_matches", "prefix_fallback", "store_vocabulary", "text_query", "with_id_parts",
]

# A question reads at most this many fields (the most common first), each with the words of at most
# this many of its templates: enough to tell fields apart, bounded on stores with thousands of templates.
MAX_FIELDS = 300
MAX_TEMPLATES_PER_FIELD = 12
_PLACEHOLDER_RX = re.compile(r"<[^<>\s]*>")
_CONTEXT_WORD_RX = re.compile(r"[a-z]{2,}")


def store_vocabulary(
    session: Session, known: dict[str, list[str]], *, fields_enabled: bool, question: str | None = None
) -> StoreVocabulary:
    """What a question can name in this store. With named fields off, no field is offered, so questions
    are read as before fields existed (the plan's notes say so). With ``question``, the initials of its
    word pairs that the store's patterns print in capitals ("resource manager" -> RM) are looked up too."""
    fields: tuple[KnownField, ...] = ()
    if fields_enabled:
        from logchat.storage import fields_repo, search_repo

        infos = fields_repo.field_infos(session)[:MAX_FIELDS]
        wanted = sorted({tid for info in infos for tid in info.template_ids[:MAX_TEMPLATES_PER_FIELD]})
        texts = search_repo.template_texts(session, wanted)
        fields = tuple(_known_field(info, texts) for info in infos)
    acronyms: frozenset[str] = frozenset()
    if question:
        from logchat.storage.template_words_repo import printed_in_capitals

        acronyms = printed_in_capitals(session, acronym_candidates(question))
    return StoreVocabulary(
        fields=fields, fields_enabled=fields_enabled, hosts=tuple(known.get("hosts", ())),
        processes=tuple(known.get("processes", ())), sources=tuple(known.get("sources", ())), acronyms=acronyms,
    )  # fmt: skip


def _known_field(info: FieldInfo, texts: dict[int, str]) -> KnownField:
    templates = tuple(
        frozenset(_CONTEXT_WORD_RX.findall(_PLACEHOLDER_RX.sub(" ", texts.get(tid, "")).lower()))
        for tid in info.template_ids[:MAX_TEMPLATES_PER_FIELD]
    )
    return KnownField(
        name=info.name, type=info.type, kind=info.kind, unit=info.unit, events=info.events, example=info.example,
        context=frozenset().union(*templates), templates=templates,
    )


# Operations over the values of one field: what :func:`field_of_matches` chooses the field of.
_FIELD_KINDS = ("top", "count_distinct", "max", "min", "sum", "avg", "percentile")


def field_of_matches(session: Session, plan: Plan, counts: Mapping[int, int], within: Condition | None = None) -> Plan:
    """The plan with its operation's field chosen again among the fields of the templates that matched
    (``counts``: matching events per template), read as the planner reads the store's.

    Before retrieval the planner can only weigh every field of the store; a field of other lines may fit the
    question's words better ("session" of "session expired" for "sessions terminated", where the terminated
    lines call it "sessionid") and then holds no value in the matching lines. Among the fields these lines
    carry, with the words of their own templates and their matching counts, the choice is the one a person
    reading the lines would make. A column (host, process) stays unless none of the matching events (``within``)
    has it, and the first choice stays when no field of the matching lines fits the question.
    """
    operation = plan.operation
    if operation.kind not in _FIELD_KINDS or not counts:
        return plan
    from logchat.storage import compute_repo, fields_repo, search_repo

    if operation.field in COLUMN_FIELDS:
        column = compute_repo.value_of(session, operation.field)
        if within is None or column is None or compute_repo.count_carrying(session, column, within) > 0:
            return plan

    infos = fields_repo.field_infos(session, template_ids=list(counts))
    if not infos:
        return plan
    texts = search_repo.template_texts(session, sorted({tid for info in infos for tid in info.template_ids}))
    known = []
    for info in infos:
        matching = sum(counts.get(tid, 0) for tid in info.template_ids)
        # The templates that match most first: they are what the question is about.
        ranked = tuple(sorted(info.template_ids, key=lambda tid: -counts.get(tid, 0)))
        known.append(replace(_known_field(replace(info, template_ids=ranked), texts), events=matching))
    chosen = choose_field(plan.question, operation.kind, StoreVocabulary(fields=tuple(known)))
    if chosen is None or chosen == operation.field:
        return plan
    before = f"the field {operation.field}" if operation.field else "no field"
    return replace(plan, operation=replace(operation, field=chosen),
                   notes=(*plan.notes, f"{chosen} chosen among the fields of the matching lines (was {before})"))


def text_query(terms: tuple[TextTerm, ...] | list[TextTerm]) -> fulltext.TextQuery:
    """The full-text query of the plan's required terms: identifiers verbatim (as prefixes when the plan
    says so), words through the index, each word matching itself or any of the words logs use for it."""
    query_terms: list[fulltext.Term] = []
    seen: set[str] = set()
    for term in terms:
        if not term.required:
            continue
        parsed = fulltext.parse_text_query(
            f'"{term.text}"' if " " in term.text else term.text,
            [term.text] if _is_identifier(term.text) else [],
        )
        for piece in parsed.terms:
            if piece.text.lower() in seen:
                continue
            seen.add(piece.text.lower())
            alternatives = tuple(alt for alt in term.alternatives if alt.lower() != piece.text.lower())
            if alternatives and len(parsed.terms) == 1:
                piece = replace(piece, alternatives=alternatives)
            if term.prefix:
                piece = replace(piece, prefix=True)
            query_terms.append(piece)
    return fulltext.TextQuery(tuple(query_terms))


def _is_identifier(text: str) -> bool:
    return any(char.isdigit() for char in text) or any(char in text for char in "_=@/:#.")


def prefix_fallback(plan: Plan, missing: tuple[str, ...]) -> Plan | None:
    """The plan with the identifiers that matched nothing whole turned into prefixes of logged ids
    (``job_42`` -> ``job_42_1``, ``job_42_2``); None when none of the missing terms is an identifier."""
    lowered = {text.lower() for text in missing}
    terms = _as_prefixes(plan, lambda term: term.text.lower() in lowered and _is_identifier(term.text))
    if terms is None:
        return None
    names = ", ".join(term.text for term in terms if term.prefix)
    return replace(plan, terms=terms,
                   notes=(*plan.notes, f"nothing matched {names} whole; matched as the start of logged ids"))


def _as_prefixes(plan: Plan, chosen: Callable[[TextTerm], bool]) -> tuple[TextTerm, ...] | None:
    """The plan's terms with those ``chosen`` (and not prefixes already) matched as prefixes of logged words;
    None when no term is chosen."""
    terms = tuple(replace(term, prefix=True) if not term.prefix and chosen(term) else term for term in plan.terms)
    return None if terms == plan.terms else terms


# An identifier made of parts joined by "_" (job_42, broadcast_9, attempt_1445_0020_m_000001): programs name
# the parts of a thing by adding parts to its id (job_42_1, broadcast_9_piece0, attempt_…_000001_0).
_ID_WITH_PARTS_RX = re.compile(r"(?=[^_]*\d|.*_\d)[a-z][a-z0-9]*(?:_[a-z0-9]+)+", re.IGNORECASE)


def with_id_parts(plan: Plan) -> Plan | None:
    """The plan with each identifier made of parts joined by ``_`` also matching the ids that extend it
    (``broadcast_9`` -> ``broadcast_9_piece0``; ``job_42`` -> ``job_42_1``), as prefixes; None when it has
    none. Retrieval takes it when it finds more events than the identifiers matched whole."""
    terms = _as_prefixes(plan, lambda term: term.required and _ID_WITH_PARTS_RX.fullmatch(term.text) is not None)
    if terms is None:
        return None
    notes = [f"{term.text} also matched the ids that extend it ({term.text}_…)"
             for term, before in zip(terms, plan.terms, strict=True) if term.prefix and not before.prefix]
    return replace(plan, terms=terms, notes=(*plan.notes, *notes))


# A value bound through a preposition ("from 1.2.3.4") binds to the field of that name where the line has one;
# lines of other templates may hold the same address under another name ("connection request /1.2.3.4").
_LOOSE_MARKERS = frozenset({"from", "for", "to", "by", "at", "on", "in", "with", "via"})


def field_conditions(session: Session, plan: Plan) -> list[Condition]:
    """SQL conditions for the plan's field conditions (see :func:`logchat.storage.fields_repo.field_condition`).

    A condition read from a noun ("stage 26.0", "status 502") holds for the events whose field has that value.
    One read from a preposition ("from 10.0.0.1") holds for those, and for events that contain the address as
    text where their field of that name holds no other address: "from" names the field in some templates
    only, and not always the address.
    """
    if not plan.conditions:
        return []
    from sqlalchemy import and_, not_, or_

    from logchat.storage import fields_repo, fulltext_repo
    from logchat.storage.models import Event

    conditions = []
    for condition in plan.conditions:
        operator = "contains" if condition.operator == "prefix" else condition.operator
        bound = fields_repo.field_condition(session, condition.name, operator, condition.value)
        marker = condition.source_text.split()[0].lower() if condition.source_text else ""
        if marker in _LOOSE_MARKERS and operator == "=":
            text = fulltext.resolve_query(session, fulltext.parse_text_query(str(condition.value),
                                                                             [str(condition.value)]))
            as_text = fulltext_repo.match_condition(session, text)
            if as_text is not None:
                # The address anywhere in a line whose field of that name holds no other address: "Connection
                # request from old client /1.2.3.4" (from = "old") counts, "from 1.2.3.5 to 1.2.3.4" does not.
                carrying = Event.template_id.in_(fields_repo.templates_with(session, condition.name))
                held = fields_repo.field_text(session, condition.name)
                other_role = or_(not_(carrying), held.is_(None), not_(held.like("%.%.%.%")))
                bound = or_(bound, and_(as_text, other_role))
        conditions.append(bound)
    return conditions
