"""One question answered off the event loop, its tokens handed to the loop as they arrive.

The ask service is synchronous and calls its listener from the worker thread; the listener passes
each token to the loop with call_soon_threadsafe, so an async front end (the WebSocket, an SSE
response) reads them as events without ever blocking the loop on the model.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from logchat.services.ask import AskListener

if TYPE_CHECKING:
    from logchat.daemon.app import Services
    from logchat.services.ask import AskRequest


@dataclass(frozen=True)
class AnswerEvent:
    kind: str  # token | notice | answer | error
    data: Any


class _ToLoop(AskListener):
    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[AnswerEvent | None]) -> None:
        self._loop, self._queue = loop, queue
        self.cancelled = False

    def _put(self, event: AnswerEvent) -> None:
        if not self.cancelled:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, event)

    def on_token(self, token: str) -> None:
        self._put(AnswerEvent("token", token))

    def on_notice(self, message: str) -> None:
        self._put(AnswerEvent("notice", message))


async def answer_events(services: Services, request: AskRequest) -> AsyncIterator[AnswerEvent]:
    """Tokens and notices as they come, then one ``answer`` event (the `ask --json` contract) or one
    ``error`` event carrying the LogchatError. A consumer that stops early leaves the worker to finish
    alone: its events are dropped, nothing blocks."""
    from logchat.errors import LogchatError
    from logchat.services.ask import ask

    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[AnswerEvent | None] = asyncio.Queue()
    listener = _ToLoop(loop, queue)

    def work() -> AnswerEvent:
        try:
            return AnswerEvent("answer", ask(services.store, services.settings, request, listener).to_dict())
        except LogchatError as exc:
            return AnswerEvent("error", exc)

    future = loop.run_in_executor(services.executor, work)
    future.add_done_callback(lambda _: queue.put_nowait(None))
    try:
        while (event := await queue.get()) is not None:
            yield event
        yield future.result()
    finally:
        listener.cancelled = True
