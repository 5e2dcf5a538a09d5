"""The complete answer as the `ask --json` object (docs/ask.md, "JSON output"; the daemon's AskAnswer
schema) and as the chat turn a session keeps."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from logchat.redaction import mask_secrets, mask_tree

if TYPE_CHECKING:
    from logchat.services.answer.pipeline import Completed


def answer_json(completed: Completed) -> dict[str, Any]:
    question, retrieval, facts = completed.question, completed.retrieval, completed.facts
    scope, aggregate = retrieval.scope, retrieval.aggregate
    data: dict[str, Any] = {
        "question": question.text,
        "answer": completed.text,
        "mode": completed.mode,
        "plan": _plan_json(completed),
        "time_range": {"since": _iso(scope.since), "until": _iso(scope.until), "phrase": question.phrase},
        "filters": {
            **_scope_filters(completed),
            "intent": question.reading.intent,
            "entity": question.reading.entity,
            "text_match": retrieval.resolved.to_dict(),
            "level_fallback": retrieval.level_fallback,
            "from_session": question.inherited,
        },
        "matched": aggregate.total,
        "time_span": {"first": _iso(aggregate.first), "last": _iso(aggregate.last)},
        "result": _serialise(facts.result),
        "patterns": _serialise(list(facts.patterns)),
        "top_values": facts.top_values.to_dict() if facts.top_values is not None else None,
        "by_host": [[host, n] for host, n in aggregate.by_host[:10]],
        "by_source": [[name, n] for name, _, n in aggregate.by_source[:10]],
        "evidence": _serialise(completed.evidence),
        "citations": list(completed.citations),
        "citation_check": completed.citation_check,
        "unverified_numbers": list(completed.unverified_numbers),
        "tool_calls": list(completed.tool_calls),
        "notices": list(completed.notices),
        "llm_error": completed.llm_error,
        "session": question.session,
        "timings_ms": dict(completed.timings_ms),
    }
    # One pass over everything returned: whatever a new field carries, no secret leaves the service.
    return mask_tree(data)  # type: ignore[no-any-return]


def _scope_filters(completed: Completed) -> dict[str, Any]:
    """The filters the answer was computed under: in the JSON and in the turn a follow-up inherits from."""
    question, scope = completed.question, completed.retrieval.scope
    return {
        "levels": list(scope.levels),
        "hosts": list(scope.hosts),
        "sources": list(scope.sources),
        "processes": list(scope.processes),
        "text_query": question.text_query,
        "keywords": list(question.keywords),
    }


def turn_record(completed: Completed) -> dict[str, Any]:
    """The chat turn of a session: the question, the answer, and the scope a follow-up inherits."""
    question, retrieval = completed.question, completed.retrieval
    scope = retrieval.scope
    return {
        "question": question.text,
        "answer": mask_secrets(completed.text),
        "mode": completed.mode,
        "filters": {
            "since": _iso(scope.since),
            "until": _iso(scope.until),
            "phrase": question.phrase,
            **_scope_filters(completed),
        },
        "matched": retrieval.aggregate.total,
        "evidence_event_ids": [item["event_id"] for item in completed.evidence],
        "citations": list(completed.citations),
    }


def _plan_json(completed: Completed) -> dict[str, Any]:
    """The plan as it was run: its filters are the ones retrieval used (after a session's inherited scope
    or a fallback for logs without levels), its notes the prefix and field fallbacks taken."""
    from logchat.retrieval.plan import PlanFilters

    retrieval = completed.retrieval
    scope = retrieval.scope
    filters = PlanFilters(
        start=scope.since,
        end=scope.until,
        levels=tuple(scope.levels),
        hosts=tuple(scope.hosts),
        sources=tuple(scope.sources),
        processes=tuple(scope.processes),
        level_words=completed.facts.plan.filters.level_words,
    )
    plan = completed.facts.plan
    notes = plan.notes
    if retrieval.level_fallback:
        notes = (*notes, "no event has the levels asked for: the level words were matched as text")
    return _serialise(replace(plan, filters=filters, notes=notes).to_json())  # type: ignore[no-any-return]


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _serialise(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, dict):
        return {key: _serialise(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_serialise(inner) for inner in value]
    return value
