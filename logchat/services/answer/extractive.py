"""Stage 4 without a model: the answer's words built from the facts (and the facts the model is given)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from logchat.services.answer.retrieval import short_time

if TYPE_CHECKING:
    from logchat.services.answer.facts import Facts
    from logchat.services.answer.question import Question
    from logchat.services.answer.retrieval import Retrieval

EXTRACTIVE_LINES = 5


def extractive_answer(question: Question, retrieval: Retrieval, facts: Facts) -> str:
    """The computed result first, then the count and time span, the top patterns and the most relevant lines."""
    aggregate = retrieval.aggregate
    what = describe_scope(retrieval)
    where = range_text(question, retrieval)
    scope_text = "".join([f" ({what})" if what else "", f" between {where}" if where else ""])
    if retrieval.resolved.mode == "impossible":
        missing = ", ".join(repr(m) for m in retrieval.resolved.missing)
        return f"No event contains {missing}{' between ' + where if where else ''}."
    if aggregate.total == 0:
        if retrieval.store_span is not None:
            held = retrieval.store_span
            return f"No events between {where}. {held[:1].upper()}{held[1:]}."
        return f"No events match{scope_text}."
    lines: list[str] = []
    count_line = f"{aggregate.total:,} events match{scope_text}"
    span = f"from {short_time(aggregate.first)} to {short_time(aggregate.last)} UTC"
    if facts.lead:
        lines.append(facts.lead)
        counted = facts.result.get("operation", {}).get("kind") == "count"
        lines.append(f"The matches{scope_text} run {span}." if counted else f"{count_line}, {span}.")
    else:
        lines.append(f"{count_line}, {span}.")
    if facts.patterns:
        shown = facts.patterns[:3]
        lines.append(
            "By pattern: "
            + "; ".join(f"{p['count']:,} × {one_line(p['template'], 120)}" for p in shown)
            + ("; …" if len(aggregate.patterns) > len(shown) else "")
            + "."
        )
    lead_items = facts.evidence[: facts.leading]
    cited = [item for item in facts.evidence if item not in lead_items][: max(0, EXTRACTIVE_LINES - len(lead_items))]
    if cited:
        lines.append("Relevant lines:")
        lines.extend(f"  {cite(item)}" for item in cited)
    return "\n".join(lines)


def facts_text(retrieval: Retrieval, facts: Facts) -> str:
    """The facts a model is given as such: the scope, the exact count and span, the computed result."""
    parts = []
    described = describe_scope(retrieval)
    if described:
        parts.append(described)
    aggregate = retrieval.aggregate
    parts.append(f"matching events (exact count): {aggregate.total}")
    if aggregate.first is not None:
        parts.append(f"matches span {short_time(aggregate.first)} to {short_time(aggregate.last)} UTC")
    if facts.lead:
        # Computed by code over every matching event: the answer states it first, as it is.
        exact = "exact" if facts.result.get("exact", True) else "not exact"
        parts.append(f"computed result ({exact}): {facts.lead}")
    return "; ".join(parts)


def describe_scope(retrieval: Retrieval) -> str:
    parts = []
    described = retrieval.resolved.describe()
    if described:
        parts.append(f"matching {described}")
    scope = retrieval.scope
    for label, values in (
        ("level", scope.levels),
        ("host", scope.hosts),
        ("source", scope.sources),
        ("process", scope.processes),
    ):
        if values:
            parts.append(f"{label} {', '.join(values)}")
    if retrieval.plan.filters.level_words:
        parts.append(f"printed as {', '.join(retrieval.plan.filters.level_words)}")
    parts.extend(f"{c.name} {c.operator} {c.value}" for c in retrieval.plan.conditions)
    return "; ".join(parts)


def range_text(question: Question, retrieval: Retrieval) -> str | None:
    scope = retrieval.scope
    if scope.since is None and scope.until is None:
        return None
    start = short_time(scope.since) if scope.since else "the beginning"
    end = short_time(scope.until) if scope.until else "now"
    text = f"{start} → {end} UTC"
    return f"{text} ({question.phrase})" if question.phrase else text


def cite(item: dict[str, Any]) -> str:
    return f"[{item['id']}] {item['path']}:{item['line']}: {one_line(item['text'], 200)}"


def one_line(text: str, limit: int) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
