"""Stage 4 with a model: the answer written by the chat model, streamed token by token.

The model gets the facts (exact counts, the computed result, patterns, evidence lines fenced as untrusted
data) and may call the store's tools; the computed result's sentence is given to it as a fact and streamed
before its words. Its citations are checked against the evidence it was shown, and every number it writes that
nothing it was given holds is listed as unverified.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from logchat.redaction import redact_url
from logchat.services.answer.extractive import facts_text, range_text

if TYPE_CHECKING:
    from logchat.config import Settings
    from logchat.services.answer.facts import Facts
    from logchat.services.answer.question import Question
    from logchat.services.answer.retrieval import Retrieval
    from logchat.storage.db import Store


@dataclass(frozen=True)
class ModelAnswer:
    text: str  # the computed sentence, then the model's words
    citations: list[str]
    citation_check: dict[str, Any]
    first_token_ms: float | None
    unverified_numbers: list[str]
    tool_calls: list[dict[str, Any]]
    evidence_added: list[dict[str, Any]]  # lines the model's tool calls brought, with their ids


@dataclass(frozen=True)
class ModelOutcome:
    """The model's answer, or why there is none (``failure``: a notice ending "; extractive answer")."""

    answer: ModelAnswer | None
    failure: str | None
    ms: float
    # What the metrics count of the call, outside the `ask --json` object: llm_attempted, llm_failure (a kind:
    # unreachable, timeout, connect, …), tokens_in, tokens_out, tool_calls.
    usage: dict[str, Any] = field(default_factory=dict)


def ask_model(
    store: Store,
    settings: Settings,
    question: Question,
    retrieval: Retrieval,
    facts: Facts,
    on_token: Callable[[str], None],
) -> ModelOutcome:
    """The model's answer, its tokens handed to ``on_token`` as they arrive. An exception raised by
    ``on_token`` (the reader left, the answer ran out of time) stops the model and propagates."""
    from logchat.llm.citations import check_citations
    from logchat.llm.models import check_reachable, make_chat_model, ollama_base_url
    from logchat.llm.numbers import check_numbers, known_numbers
    from logchat.llm.prompts import build_messages
    from logchat.llm.tools import answer_with_tools
    from logchat.services.ask_tools import StoreTools

    started = time.perf_counter()
    usage: dict[str, Any] = {"llm_attempted": True}
    if not check_reachable(settings.llm):
        usage["llm_failure"] = "unreachable"
        is_ollama = settings.llm.provider.strip().lower() == "ollama"
        where = redact_url(ollama_base_url(settings.llm)) if is_ollama else settings.llm.provider
        return ModelOutcome(
            None, f"no LLM reachable at {where}; extractive answer", (time.perf_counter() - started) * 1000, usage
        )
    model = make_chat_model(settings.llm)
    if model is None:
        return ModelOutcome(None, "no LLM configured; extractive answer", 0.0, usage)
    evidence = [dict(item) for item in facts.evidence]
    messages, included = build_messages(
        question.text,
        time_range_text=range_text(question, retrieval),
        filters_text=facts_text(retrieval, facts),
        patterns=list(facts.patterns),
        evidence=evidence,
        history_summary=question.history,
        budget=settings.llm.context_token_budget,
    )
    tokens = 0

    def counted(token: str) -> None:
        nonlocal tokens
        tokens += 1
        on_token(token)

    lead = facts.lead
    if lead:
        counted(lead + "\n")
    tools = StoreTools(store, settings, retrieval.scope, question.now)
    answered = answer_with_tools(
        model,
        messages,
        tools,
        counted,
        evidence=evidence,
        evidence_sent=included,
        max_steps=settings.llm.max_tool_steps,
    )
    elapsed = (time.perf_counter() - started) * 1000
    # A server that reports no token counts: its chunks.
    tokens_out = answered.output_tokens if answered.output_tokens is not None else (tokens or None)
    usage.update(tokens_in=answered.input_tokens, tokens_out=tokens_out, tool_calls=len(answered.calls))
    if answered.failure_kind is not None:
        usage["llm_failure"] = answered.failure_kind
    if not answered.completed:
        return ModelOutcome(None, f"{answered.error or 'the model failed'}; extractive answer", elapsed, usage)
    sent = answered.evidence_sent
    text = f"{lead}\n{answered.text}" if lead else answered.text
    check = check_citations(text, sent)
    # The question's own numbers ("status 502") may be repeated; any other must come from what code computed.
    numbers = check_numbers(answered.text, known_numbers([question.text, *answered.given, *([lead] if lead else [])]))
    return ModelOutcome(ModelAnswer(
        text=text,
        citations=[cited for cited in check.cited if cited in set(sent)],
        citation_check={"ok": check.ok, "unknown": check.unknown, "evidence_sent": sent},
        first_token_ms=answered.first_token_ms,
        unverified_numbers=numbers.unverified,
        tool_calls=[call.to_dict() for call in answered.calls],
        evidence_added=answered.evidence_added,
    ), None, elapsed, usage)  # fmt: skip
