"""The stages run in order for one request, the chunks going out as they are made."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from logchat.observability import tracing
from logchat.redaction import mask_secrets
from logchat.services.answer.answer import Chunk

if TYPE_CHECKING:
    from logchat.config import Settings
    from logchat.services.answer.facts import Facts
    from logchat.services.answer.question import Question
    from logchat.services.answer.retrieval import Retrieval
    from logchat.services.ask import AskRequest
    from logchat.storage.db import Store


@dataclass(frozen=True)
class Completed:
    """The answer's words and everything they rest on."""

    question: Question
    retrieval: Retrieval
    facts: Facts
    mode: str  # llm | extractive
    text: str
    citations: list[str]
    evidence: list[dict[str, Any]]  # the facts' lines, then those the model's tool calls brought
    notices: list[str]
    citation_check: dict[str, Any] | None = None
    unverified_numbers: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    llm_error: str | None = None
    timings_ms: dict[str, float | None] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)


class _OutOfTime(Exception):
    """The model was still writing when the answer's time was up."""


@tracing.traced("ask")
def produce(store: Store, settings: Settings, request: AskRequest, emit: Callable[[Chunk], None]) -> Completed:
    from logchat.services.answer.extractive import extractive_answer
    from logchat.services.answer.facts import gather_facts
    from logchat.services.answer.question import plan_question, read_question
    from logchat.services.answer.retrieval import retrieve, vector_side
    from logchat.services.question_vocabulary import known_values

    started, started_ns = time.perf_counter(), time.time_ns()
    known = known_values(store, settings)
    question = read_question(store, settings, request, known)
    plan = plan_question(store, settings, question, known)
    parsed, parsed_ns = time.perf_counter(), time.time_ns()
    tracing.record_span("ask.parse", started_ns, parsed_ns)

    notices: list[str] = []
    vectors = vector_side(store, settings, notices)
    with store.session() as session:
        retrieval = retrieve(session, settings, question, plan, vectors)
        retrieved_ns = time.time_ns()
        tracing.record_span("ask.retrieve", parsed_ns, retrieved_ns, **{"logchat.matched": retrieval.aggregate.total})
        facts = gather_facts(session, settings, question, retrieval)
    retrieved = time.perf_counter()
    tracing.record_span("ask.aggregate", retrieved_ns, time.time_ns(), **{"logchat.patterns": len(facts.patterns)})
    notices.extend([*retrieval.notices, *facts.notices])

    extractive = extractive_answer(question, retrieval, facts)
    completed = Completed(
        question=question, retrieval=retrieval, facts=facts, mode="extractive", text=extractive,
        citations=_citations(extractive), evidence=[dict(item) for item in facts.evidence], notices=notices,
    )  # fmt: skip
    streamed = False
    if not request.use_llm:
        pass
    elif settings.llm.provider.strip().lower() == "none":
        notices.append("no LLM configured (llm.provider = none); extractive answer")
    elif not facts.evidence:
        notices.append("nothing matched, so no model was asked")
    else:
        completed, streamed = _with_model(store, settings, request, completed, emit, started)
    for notice in notices:
        emit(Chunk("notice", mask_secrets(notice)))
    if completed.mode == "extractive":
        if streamed:
            emit(Chunk("fallback", "extractive answer"))
        emit(Chunk("answer", extractive))
    else:
        _emit_checks(completed, emit)
    timings = {
        "parse": round((parsed - started) * 1000, 1),
        "retrieve": round((retrieved - parsed) * 1000, 1),
        "llm": round(completed.timings_ms.get("llm") or 0.0, 1),
        "first_token": completed.timings_ms.get("first_token"),
    }
    emit(Chunk("summary", _summary(completed.mode, retrieval.aggregate.total, timings)))
    return _replace(completed, timings_ms=timings)


def _with_model(
    store: Store,
    settings: Settings,
    request: AskRequest,
    completed: Completed,
    emit: Callable[[Chunk], None],
    started: float,
) -> tuple[Completed, bool]:
    """The model's answer in place of the extractive one, or the extractive one with the failure noted;
    and whether any token went out."""
    from logchat.services.answer.model import ModelOutcome, ask_model

    deadline = started + request.answer_seconds if request.answer_seconds is not None else None
    last: list[str] = []

    def on_token(token: str) -> None:
        if deadline is not None and time.perf_counter() > deadline:
            raise _OutOfTime
        emit(Chunk("token", token))
        last[:] = [token]

    asked = time.perf_counter()
    try:
        with tracing.span("ask.llm", **{"gen_ai.request.model": settings.llm.model}):
            outcome = ask_model(store, settings, completed.question, completed.retrieval, completed.facts, on_token)
    except _OutOfTime:
        message = f"the model was still writing after {request.answer_seconds:g} s; extractive answer"
        outcome = ModelOutcome(
            None,
            message,
            (time.perf_counter() - asked) * 1000,
            {"llm_attempted": True, "llm_failure": "timeout", "timed_out": True},
        )
    if last and not last[0].endswith("\n"):
        emit(Chunk("break", "\n"))
    notices = completed.notices
    answered = outcome.answer
    timings: dict[str, float | None] = {"llm": outcome.ms}
    if answered is None:
        failure = outcome.failure or "the model failed; extractive answer"
        # Out of time, the answer's first word is why it is not the model's.
        notices.insert(0 if outcome.usage.get("timed_out") else len(notices), failure)
        return _replace(completed, llm_error=outcome.failure, usage=outcome.usage, timings_ms=timings), bool(last)
    check = answered.citation_check
    if check["unknown"]:
        notices.append(f"the answer cites unknown evidence ids: {', '.join(check['unknown'])}")
    elif not check["ok"]:
        notices.append("the answer cites no evidence")
    timings["first_token"] = round(answered.first_token_ms, 1) if answered.first_token_ms is not None else None
    return _replace(
        completed, mode="llm", text=answered.text, citations=answered.citations, citation_check=check,
        evidence=[*completed.evidence, *answered.evidence_added], unverified_numbers=answered.unverified_numbers,
        tool_calls=answered.tool_calls, usage=outcome.usage, timings_ms=timings,
    ), True  # fmt: skip


def _emit_checks(completed: Completed, emit: Callable[[Chunk], None]) -> None:
    """After a model's answer: the numbers nothing gave it, then the lines it cites."""
    from logchat.services.answer.extractive import one_line

    if completed.unverified_numbers:
        numbers = ", ".join(completed.unverified_numbers)
        emit(Chunk("unverified", f"Unverified numbers (no tool result or evidence line gives them): {numbers}"))
    by_id = {item["id"]: item for item in completed.evidence}
    cited = [by_id[c] for c in completed.citations if c in by_id]
    if cited:
        lines = [
            f"  [{item['id']}] {item['path']}:{item['line']}  {one_line(mask_secrets(item['text']), 160)}"
            for item in cited
        ]
        emit(Chunk("sources", "Sources:\n" + "\n".join(lines)))


def _summary(mode: str, matched: int, timings: dict[str, float | None]) -> str:
    text = f"({mode}; {matched:,} matching events; retrieval {timings['retrieve']:.0f} ms"
    if timings.get("llm"):
        text += f", model {timings['llm']:.0f} ms"
    return text + ")"


def _citations(answer: str) -> list[str]:
    from logchat.llm.citations import extract_citations

    return extract_citations(answer)


def _replace(completed: Completed, **changes: Any) -> Completed:
    from dataclasses import replace

    return replace(completed, **changes)
