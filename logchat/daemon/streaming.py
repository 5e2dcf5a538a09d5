"""One question answered off the event loop, for the front ends that stream (SSE and the WebSocket).

The answer runs in the answers' own thread pool (daemon/app.py), so slow answers never take the
workers that quick requests need. The worker hears tokens through an AskListener (the Relay) and
hands them to the event loop with call_soon_threadsafe; when the client is gone or the answer has
run past its time, the next token stops the model, so an abandoned answer frees its worker instead
of holding it to the end.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from logchat.services.ask import AskListener

if TYPE_CHECKING:
    from logchat.config import Settings
    from logchat.daemon.app import Services
    from logchat.observability.metrics import DaemonMetrics
    from logchat.services.ask import AskRequest, AskResult
    from logchat.storage.db import Store

# A model that keeps talking is stopped after this many times llm.timeout_seconds (which bounds each
# wait for it: connecting, the first token, every next token); the answer then falls back to extractive.
ANSWER_TIME_FACTOR = 2


class AnswerAbandoned(Exception):
    """The client went away: raised in the worker at the next token to stop the model."""


class AnswerTimedOut(Exception):
    """The model kept talking past the answer's time: raised in the worker at the next token."""


class Relay(AskListener):
    """Carries what the worker thread hears to the event loop (``queue``, for a stream) and stops the
    model when nobody waits for the answer any more or its time is up."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any] | None, seconds: float,
                 metrics: DaemonMetrics | None = None, front_end: str = "http") -> None:
        self.loop = loop
        self.queue = queue
        self.seconds = seconds
        self.metrics = metrics  # counts the question when it is done
        self.front_end = front_end  # http or ws, for the usage records
        self.deadline = float("inf")
        self.abandoned = threading.Event()

    def start(self) -> None:
        # The clock starts when a worker takes the answer, not while it waits for one.
        self.deadline = time.monotonic() + self.seconds

    def on_token(self, token: str) -> None:
        if self.abandoned.is_set():
            raise AnswerAbandoned
        if time.monotonic() > self.deadline:
            raise AnswerTimedOut
        self.send("token", {"text": token})

    def on_notice(self, message: str) -> None:
        self.send("notice", {"message": message})

    def send(self, event: str, data: Any) -> None:
        if self.queue is None or self.abandoned.is_set():
            return
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, (event, data))
        except RuntimeError:  # the loop is closed: the daemon is shutting down
            self.abandoned.set()


def answer_seconds(settings: Settings) -> float:
    return ANSWER_TIME_FACTOR * settings.llm.timeout_seconds


def answer(store: Store, settings: Settings, request: AskRequest, relay: Relay) -> AskResult | None:
    """The worker's job: the answer, or None when its client left before it was done."""
    from dataclasses import replace

    from logchat.errors import LogchatError
    from logchat.redaction import mask_secrets
    from logchat.services import audit
    from logchat.services.ask import ask

    started = time.perf_counter()
    outcome: AskResult | None = None
    timed_out = False
    error_code: str | None = "abandoned"
    try:
        if relay.abandoned.is_set():
            return None  # the client left while the answer waited for a worker
        # The question, not the answer, as the person asking typed it (with any secret in it masked).
        audit.record(store, "ask", target=request.session, detail={"question": mask_secrets(request.question)})
        relay.start()
        worked_from = time.perf_counter()
        try:
            outcome = _recorded(store, ask(store, settings, request, relay), relay, worked_from)
            return outcome
        except AnswerTimedOut:
            timed_out = True
        # Same retrieval, no model: what `ask` gives whenever the model fails mid-answer.
        message = f"the model was still writing after {relay.seconds:g} s; extractive answer"
        relay.deadline = float("inf")
        outcome = ask(store, settings, replace(request, use_llm=False), relay)
        outcome.data["llm_error"] = message
        outcome.data["notices"].insert(0, message)
        relay.on_notice(message)
        return _recorded(store, outcome, relay, worked_from)
    except AnswerAbandoned:
        return None
    except LogchatError as exc:
        error_code = exc.code
        raise
    except Exception:
        error_code = "internal_error"
        raise
    finally:
        relay.send("done", None)
        if relay.metrics is not None:
            relay.metrics.observe_answer(
                outcome.data if outcome is not None else None, outcome.usage if outcome is not None else {},
                seconds=time.perf_counter() - started, timed_out=timed_out, error_code=error_code,
            )


def _recorded(store: Store, outcome: AskResult, relay: Relay, started: float) -> AskResult:
    from logchat.services import usage

    # Timed from when a worker took the answer: the wait for a free worker is not the answer's.
    usage.record_answer(store, outcome, front_end=relay.front_end, total_ms=(time.perf_counter() - started) * 1000)
    return outcome


@dataclass(frozen=True)
class AnswerEvent:
    kind: str  # token | notice | answer | error
    data: Any


async def answer_events(services: Services, request: AskRequest, front_end: str = "ws"
                        ) -> AsyncIterator[AnswerEvent]:
    """Tokens (text) and notices as they come, then one ``answer`` event (the `ask --json` contract) or
    one ``error`` event carrying the LogchatError. A consumer that stops early abandons the answer:
    the worker stops the model at its next token."""
    from logchat.errors import LogchatError

    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    relay = Relay(loop, queue, answer_seconds(services.settings), services.metrics, front_end)
    from logchat.observability.logs import carry

    job = loop.run_in_executor(services.answers, carry(answer, services.store, services.settings, request, relay))
    try:
        while True:
            kind, data = await queue.get()
            if kind == "done":
                break
            yield AnswerEvent(kind, data["text"] if kind == "token" else data["message"])
        try:
            outcome = await job
        except LogchatError as exc:
            yield AnswerEvent("error", exc)
            return
        if outcome is not None:
            yield AnswerEvent("answer", outcome.to_dict())
    finally:
        if not job.done():
            relay.abandoned.set()
            # Nobody reads an abandoned answer's outcome; reading it here keeps asyncio quiet.
            job.add_done_callback(lambda done: done.cancelled() or done.exception())
