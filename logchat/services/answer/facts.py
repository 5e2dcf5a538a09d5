"""Stage 3: what code computes over every matching event, and the evidence lines the answer rests on.

The plan's operation (count, top, max, series, …) is computed by :mod:`logchat.services.compute`; its sentence
leads the answer, extractive or not. The patterns carry the values their recent events hold; the evidence
lines are the ones the answer is about first, then the best-ranked hits, a few per pattern.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from logchat.redaction import mask_secrets
from logchat.storage import search_repo

if TYPE_CHECKING:
    from logchat.config import Settings
    from logchat.ingest.template_values import TopValues
    from logchat.retrieval.plan import ComputedResult, Plan
    from logchat.services.answer.question import Question
    from logchat.services.answer.retrieval import Retrieval
    from logchat.storage.db import Session

PER_TEMPLATE_IN_EVIDENCE = 3
PATTERN_SAMPLES = 5
# Messages read for the top values of the patterns shown; more when the values are the answer.
VALUES_SHOWN = (500, 3_000)
VALUES_ANSWER = (5_000, 20_000)


@dataclass(frozen=True)
class Facts:
    """Everything the answer states, computed by code."""

    plan: Plan  # the retrieval's plan, its operation's field chosen among the matching lines' fields
    result: dict[str, Any]  # the `result` object of `ask --json`
    computed: ComputedResult | None
    patterns: tuple[dict[str, Any], ...]  # the top patterns, with their values
    evidence: tuple[dict[str, Any], ...]  # E1, E2, …: the lines the answer may cite
    leading: int  # how many of the evidence lines the computed result is about (they come first)
    top_values: TopValues | None  # over every matching pattern, when the question asks for values
    notices: tuple[str, ...] = ()

    @property
    def lead(self) -> str | None:
        """The computed result's sentence: the answer's first."""
        return self.computed.sentence if self.computed is not None else None


def gather_facts(session: Session, settings: Settings, question: Question, retrieval: Retrieval) -> Facts:
    from logchat.services.pattern_values import ValueReading, combined_top_values, pattern_top_values

    aggregate = retrieval.aggregate
    conditions = list(retrieval.conditions)
    counts = dict(retrieval.counts)
    shown = aggregate.patterns[: settings.retrieval.top_patterns]
    overall = None
    if (question.reading.entity is not None or question.reading.intent == "top") and aggregate.total:
        answer_reading = ValueReading(conditions, counts, per_pattern=VALUES_ANSWER[0], budget=VALUES_ANSWER[1])
        overall = combined_top_values(session, aggregate.patterns, answer_reading)
    shown_reading = ValueReading(conditions, counts, per_pattern=VALUES_SHOWN[0], budget=VALUES_SHOWN[1])
    per_pattern, _ = pattern_top_values(session, shown, shown_reading)
    notices: list[str] = []
    computed, plan = _computed(session, retrieval, notices)
    leading = [computed.event_id] if computed is not None and computed.event_id is not None else []
    evidence_ids = _pick_evidence(session, settings, retrieval, leading) if aggregate.total else []
    evidence = _evidence_items(session, evidence_ids, retrieval)
    result: dict[str, Any] = {"intent": question.reading.intent, "matched": aggregate.total, "count": aggregate.total}
    if computed is not None:
        from logchat.services.compute import cite

        computed = cite(computed, evidence)
        result = _with_computed(result, computed)
    return Facts(
        plan=plan,
        result=result,
        computed=computed,
        patterns=tuple(_pattern_dicts(shown, per_pattern)),
        evidence=tuple(evidence),
        leading=len(leading),
        top_values=overall,
        notices=tuple(notices),
    )


def _computed(session: Session, retrieval: Retrieval, notices: list[str]) -> tuple[ComputedResult | None, Plan]:
    """The plan's operation computed by SQL over every matching event (None for a list or an explanation,
    or when nothing matched), and the plan as computed (its field chosen among the matching lines' fields)."""
    from sqlalchemy import and_, true

    from logchat.services import planning
    from logchat.services.compute import FIELD_OPERATIONS, FIELDS_OFF, compute
    from logchat.storage import compute_repo

    aggregate, plan = retrieval.aggregate, retrieval.plan
    if aggregate.total == 0 or retrieval.resolved.mode == "impossible":
        return None, plan
    within = and_(true(), *retrieval.conditions)
    if plan.operation.kind in FIELD_OPERATIONS:
        # Chosen again among the fields the matching lines carry; --explain shows the field used.
        counts = {p.template_id: p.count for p in aggregate.patterns if p.template_id is not None}
        plan = planning.field_of_matches(session, plan, counts, within)
    if plan.operation.kind in ("list", "explain"):
        return None, plan
    if plan.operation.kind in FIELD_OPERATIONS and plan.operation.field is None and compute_repo.has_fields(session):
        return None, plan  # no field of the matching events fits the question: the count answers it
    templates = {p.template_id for p in aggregate.patterns if p.template_id is not None}
    computed = compute(session, plan, within, matched=aggregate.total, templates=templates,
                       whole=retrieval.whole_templates)
    fields_off = computed.reason == FIELDS_OFF or (
        computed.value is None and plan.operation.kind in FIELD_OPERATIONS and not compute_repo.has_fields(session)
    )
    if fields_off:
        # The count leads, and the notice says how to get the exact answer.
        notices.append(FIELDS_OFF)
        return None, plan
    return computed, plan


def _with_computed(result: dict[str, Any], computed: ComputedResult) -> dict[str, Any]:
    """The `result` object of `ask --json`: the computed result, and the keys each shape has always had."""
    operation = computed.operation
    merged = dict(result)
    merged.update({
        "operation": asdict(operation), "value": computed.value, "unit": computed.unit, "matched": computed.matched,
        "exact": computed.exact, "reason": computed.reason, "event_id": computed.event_id,
        "sentence": computed.sentence, "details": computed.details,
    })  # fmt: skip
    shape_keys = {"count_distinct": "distinct", "sum": "sum", "avg": "avg", "series": "series"}
    if operation.kind in ("first", "last"):
        merged["ts"] = computed.value
    elif operation.kind == "top" and not operation.by:
        merged["values"] = computed.value
        merged["entity"] = operation.field
    elif operation.kind in shape_keys:
        merged[shape_keys[operation.kind]] = computed.value
    if operation.kind in ("min", "max", "sum", "avg", "percentile"):
        merged["variable"] = operation.field
    return merged


def _pick_evidence(session: Session, settings: Settings, retrieval: Retrieval, leading: list[int]) -> list[int]:
    """Evidence event ids, most useful first: the lines the answer is about, then the best-ranked hits (a few
    per pattern, so that one chatty pattern cannot crowd out the rest), then a sample line of each top pattern."""
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
    top = [p.template_id for p in retrieval.aggregate.patterns[:PATTERN_SAMPLES] if p.template_id is not None]
    samples = search_repo.recent_events_of_templates(
        session, top, list(retrieval.conditions), 1, counts=dict(retrieval.counts)
    )
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


def _evidence_items(session: Session, ids: list[int], retrieval: Retrieval) -> list[dict[str, Any]]:
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


def _pattern_dicts(
    patterns: list[search_repo.PatternStats], values: dict[int | None, TopValues]
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
        })  # fmt: skip
    return result
