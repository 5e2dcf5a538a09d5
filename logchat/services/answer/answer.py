"""The answer as one object: iterated for its chunks as they are produced, then serialised.

``for chunk in answer`` (the command line) and ``async for chunk in answer`` (the daemon; the blocking work runs
in a thread of ``answer.executor`` and the event loop only awaits chunks) give the same chunks, in the same
order; iterating a complete answer again replays them. :meth:`Answer.to_json` gives the `ask --json` object,
producing the answer first when nobody iterated it.

Chunks come in kinds, so that a front end never has to guess what it already showed:

- ``token``: a piece of the model's answer as it arrives (the computed sentence first);
- ``break``: the end of the streamed answer's last line, when its last token did not end one;
- ``notice``: one notice (a fallback taken, the model unreachable, citations of unknown lines, …);
- ``fallback``: the model failed after it had begun: the extractive answer follows;
- ``answer``: the extractive answer, whole;
- ``unverified``: the numbers of the model's answer that nothing it was given holds;
- ``sources``: the lines the model's answer cites, one per line (``[E1] path:line  text``);
- ``summary``: one line on how the answer was made (mode, matching events, milliseconds).

Every kind but ``token`` starts on a line of its own: the stream ends the model's line (``break``) before
anything else comes.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import Executor

    from logchat.services.answer.pipeline import Completed

ChunkKind = Literal["token", "break", "notice", "fallback", "answer", "unverified", "sources", "summary"]


@dataclass(frozen=True)
class Chunk:
    kind: ChunkKind
    text: str


class AnswerAbandoned(Exception):
    """Nobody reads the answer any more: raised where the next chunk would go, to stop the model."""


class _End:
    """Put after the last chunk."""


_END = _End()
Produce = Callable[[Callable[[Chunk], None]], "Completed"]


class Answer:
    """One question's answer; see the module docstring. Produced once, by whoever reads it first."""

    def __init__(self, produce: Produce, executor: Executor | None = None) -> None:
        self._produce = produce
        self.executor = executor  # where ``async for`` runs the blocking work; None: the loop's default
        self._chunks: list[Chunk] = []
        self._completed: Completed | None = None
        self._error: BaseException | None = None
        self._claimed = False
        self._claim_lock = threading.Lock()
        self._done = threading.Event()
        self._abandoned = threading.Event()
        self._json: dict[str, Any] | None = None
        self.started: float | None = None  # perf_counter when the work began
        self.finished: float | None = None

    # -- reading -------------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Chunk]:
        if not self._claim():
            yield from self._replay()
            return
        delivered: queue.SimpleQueue[Chunk | _End] = queue.SimpleQueue()
        context = contextvars.copy_context()
        worker = threading.Thread(target=context.run, args=(self._run, delivered.put), name="answer", daemon=True)
        worker.start()
        complete = False
        try:
            while not isinstance(item := delivered.get(), _End):
                yield item
            complete = True
        finally:
            if not complete:
                self.abandon()  # the reader stopped early: the model stops at its next token
        self._raise_error()

    async def __aiter__(self) -> AsyncIterator[Chunk]:
        import asyncio

        if not self._claim():
            for chunk in self._replay():
                yield chunk
            return
        loop = asyncio.get_running_loop()
        delivered: asyncio.Queue[Chunk | _End] = asyncio.Queue()

        def deliver(item: Chunk | _End) -> None:
            try:
                loop.call_soon_threadsafe(delivered.put_nowait, item)
            except RuntimeError:  # the loop is closed: the daemon is shutting down
                self._abandoned.set()

        context = contextvars.copy_context()
        job = loop.run_in_executor(self.executor, context.run, self._run, deliver)
        complete = False
        try:
            while not isinstance(item := await delivered.get(), _End):
                yield item
            await job
            complete = True
        finally:
            if not complete:
                self.abandon()
                # Nobody reads an abandoned answer's outcome; reading it here keeps asyncio quiet.
                job.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._raise_error()

    def to_json(self) -> dict[str, Any]:
        """The `ask --json` object (docs/ask.md, "JSON output"); produces the answer first if needed."""
        if self._claim():
            self._run(lambda item: None)
        self._done.wait()
        self._raise_error()
        if self._json is None:
            from logchat.services.answer.contract import answer_json

            self._json = answer_json(self.completed)
        return self._json

    def abandon(self) -> None:
        """Stop producing: the work stops at its next chunk (the model at its next token)."""
        if not self._done.is_set():
            self._abandoned.set()

    # -- what the complete answer holds ---------------------------------------------------------------

    @property
    def completed(self) -> Completed:
        if self._completed is None:
            raise AnswerAbandoned("the answer was not completed")
        return self._completed

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def abandoned(self) -> bool:
        return self._abandoned.is_set() and self._completed is None

    @property
    def usage(self) -> dict[str, Any]:
        """What the metrics count of the model call (outside the `ask --json` object)."""
        return dict(self._completed.usage) if self._completed is not None else {}

    @property
    def elapsed_ms(self) -> float:
        """From when the work began (not while it waited for a worker) to its end."""
        if self.started is None:
            return 0.0
        return ((self.finished or time.perf_counter()) - self.started) * 1000

    # -- producing -----------------------------------------------------------------------------------

    def _claim(self) -> bool:
        with self._claim_lock:
            if self._claimed:
                return False
            self._claimed = True
            return True

    def _replay(self) -> Iterator[Chunk]:
        self._done.wait()
        yield from self._chunks
        self._raise_error()

    def _run(self, deliver: Callable[[Chunk | _End], None]) -> None:
        def emit(chunk: Chunk) -> None:
            if self._abandoned.is_set():
                raise AnswerAbandoned
            self._chunks.append(chunk)
            deliver(chunk)

        try:
            if self._abandoned.is_set():
                return  # the reader left while the answer waited for a worker
            self.started = time.perf_counter()
            self._completed = self._produce(emit)
        except AnswerAbandoned:
            pass
        except BaseException as exc:  # the reader's to raise, where it reads
            self._error = exc
        finally:
            self.finished = time.perf_counter()
            self._done.set()
            deliver(_END)

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error
