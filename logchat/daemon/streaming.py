"""One question answered off the event loop, for every front end of the daemon (REST, Server-Sent Events and
the chat socket).

The answer's blocking work runs in the answers' own thread pool (daemon/app.py), so slow answers never take
the workers that quick requests need; the loop only awaits its chunks. When the client is gone the answer is
abandoned: the model stops at its next token and frees its worker. A model still writing after
``ANSWER_TIME_FACTOR`` times ``llm.timeout_seconds`` is stopped and the answer is the extractive one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from logchat.config import Settings
    from logchat.daemon.app import Services
    from logchat.services.ask import Answer, AskRequest

# A model that keeps talking is stopped after this many times llm.timeout_seconds (which bounds each
# wait for it: connecting, the first token, every next token); the answer then falls back to extractive.
ANSWER_TIME_FACTOR = 2
# The chunks a client is sent as they come; the rest is in the final answer object.
STREAMED = ("token", "notice")


def answer_seconds(settings: Settings) -> float:
    return ANSWER_TIME_FACTOR * settings.llm.timeout_seconds


@dataclass(frozen=True)
class AnswerEvent:
    kind: str  # token | notice | answer | error
    data: Any


async def answer_events(services: Services, request: AskRequest, front_end: str = "ws") -> AsyncIterator[AnswerEvent]:
    """Tokens (text) and notices as they come, then one ``answer`` event (the `ask --json` contract) or one
    ``error`` event carrying the LogchatError. A consumer that stops early abandons the answer. The question
    goes to the audit trail first; the answer, once complete, to the usage records and its session."""
    from logchat.daemon.pool import in_pool
    from logchat.errors import LogchatError
    from logchat.redaction import mask_secrets
    from logchat.services import audit
    from logchat.services.ask import ask

    started = time.perf_counter()
    request = replace(request, answer_seconds=answer_seconds(services.settings))
    answer = ask(services.store, services.settings, request)
    answer.executor = services.answers
    error_code: str | None = "abandoned"
    try:
        # The question, not the answer, as the person asking typed it (with any secret in it masked).
        await in_pool(
            services,
            audit.record,
            services.store,
            "ask",
            target=request.session,
            detail={"question": mask_secrets(request.question)},
        )
        try:
            async for chunk in answer:
                if chunk.kind in STREAMED:
                    yield AnswerEvent(chunk.kind, chunk.text)
        except LogchatError as exc:
            error_code = exc.code
            yield AnswerEvent("error", exc)
            return
        except Exception:
            error_code = "internal_error"
            raise
        error_code = None
        await in_pool(services, _keep, services.store, answer, front_end)
        yield AnswerEvent("answer", answer.to_json())
    finally:
        answer.abandon()  # nothing when it is complete; else the model stops at its next token
        if services.metrics is not None:
            complete = error_code is None
            services.metrics.observe_answer(
                answer.to_json() if complete else None, answer.usage, seconds=time.perf_counter() - started,
                timed_out=bool(answer.usage.get("timed_out")), error_code=error_code,
            )  # fmt: skip


def _keep(store: Any, answer: Answer, front_end: str) -> None:
    from logchat.services import sessions, usage

    # Timed from when a worker took the answer: the wait for a free worker is not the answer's.
    usage.record_answer(store, answer, front_end=front_end, total_ms=answer.elapsed_ms)
    sessions.record_turn(store, answer)
