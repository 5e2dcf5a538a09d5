"""Run batch production in a forked reader process, so parsing and template mining on one core
overlap with database writes on the other.

Only batches cross the pipe; the database stays in the parent, which commits each batch with its
checkpoint exactly as in the single-process path. The pipe holds about one batch, so the reader is
never more than a batch or two ahead and memory stays bounded.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle  # nosec B403 - batches from our own forked child, never from outside
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from logchat.errors import SourceUnreadable
from logchat.ingest.pipeline import Batch, BatchPlan, produce_batches
from logchat.ingest.sources import LineReader
from logchat.ingest.templates import TemplateMiner

_END = "end"
_FAILED = "failed"


def _die_with_parent() -> None:
    # A reader outliving a killed parent would keep the inherited ingest lock (a file lock or a
    # PostgreSQL session) and block the run that resumes the work.
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def _leave_signals_to_parent() -> None:
    # The fork copies the parent's Python signal handlers: a handler that only asks the parent's loop
    # to stop would make the reader ignore the SIGTERM that ends it. Ctrl-C reaches the whole process
    # group; the parent decides what it means and ends the reader.
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _reader_main(
    conn: Any, reader: LineReader, parser: Any, miner: TemplateMiner, plan: BatchPlan, in_child: Callable[[], None],
    spare: Callable[[Batch], None] | None, writer_waits: Any,
) -> None:
    _die_with_parent()
    _leave_signals_to_parent()
    in_child()
    try:
        for batch in produce_batches(reader, parser, miner, plan):
            if spare is not None and not writer_waits.value:
                # The writer is still busy with the batch before: until it takes this one, the time is the reader's.
                spare(batch)
            conn.send_bytes(_encode(batch))
        conn.send_bytes(_encode((_END, miner.dump_state())))
    except BaseException:  # the parent must hear about any failure rather than wait forever
        conn.send_bytes(_encode((_FAILED, traceback.format_exc(limit=5))))
    finally:
        conn.close()


class ReaderProcess:
    """Iterate the batches; afterwards ``miner_state`` holds the reader's template miner state.

    ``spare`` is work on a batch that either process may do (counting its values): the reader does it on the
    batches it finishes while the writer is still busy, when it would otherwise wait for the writer to take
    them, and leaves it to the writer on those the writer is already waiting for. The writer says when it
    waits (:meth:`writer_waits`)."""

    def __init__(
        self,
        reader: LineReader,
        parser: Any,
        miner: TemplateMiner,
        plan: BatchPlan,
        *,
        in_child: Callable[[], None] = lambda: None,
        spare: Callable[[Batch], None] | None = None,
    ) -> None:
        # ``in_child`` runs first in the forked reader: the caller drops what the child must not
        # hold (the ingest lock's file descriptor), without this module knowing about storage.
        self._args = (reader, parser, miner, plan, in_child, spare)
        self.miner_state: bytes | None = None
        self._started: tuple[Any, Any] | None = None
        # A byte of memory shared with the forked reader: 1 while the writer waits for a batch.
        self._writer_waits = multiprocessing.get_context("fork").RawValue("b", 0) if can_fork() else None

    def writer_waits(self, waiting: bool) -> None:
        """Called by the writer as it starts (True) and stops (False) waiting for the next batch."""
        if self._writer_waits is not None:
            self._writer_waits.value = waiting

    def start(self) -> None:
        """Fork the reader now, from the calling thread (iterating starts it otherwise): a fork copies only
        the thread that makes it, so it is made by the thread that holds no lock another one may need."""
        if self._started is None:
            context = multiprocessing.get_context("fork")
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_reader_main, args=(sender, *self._args, self._writer_waits),
                                      daemon=True)
            process.start()
            sender.close()
            self._started = (receiver, process)

    def stop(self) -> None:
        """End the reader now, from any thread: whoever waits for its next batch hears that it ended."""
        if self._started is not None and self._started[1].is_alive():
            self._started[1].terminate()

    def __iter__(self) -> Iterator[Batch]:
        self.start()
        assert self._started is not None
        receiver, process = self._started
        finished = False
        try:
            while True:
                try:
                    message = pickle.loads(receiver.recv_bytes())  # nosec B301 - our own child's batches
                except EOFError as exc:
                    process.join(timeout=5)  # gone without a word: say how it ended
                    raise SourceUnreadable(
                        f"the reader process ended unexpectedly ({_how_it_ended(process.exitcode)})"
                    ) from exc
                if isinstance(message, Batch):
                    yield message
                    continue
                kind, payload = message
                finished = True  # it has said its last word and ends by itself
                if kind == _END:
                    self.miner_state = payload
                    return
                raise SourceUnreadable(f"the reader process failed: {payload.strip().splitlines()[-1]}")
        finally:
            receiver.close()
            if finished:
                process.join(timeout=5)  # let it end by itself (a terminated child loses what it flushes)
            if process.is_alive():
                process.terminate()  # stopped early (or stuck): it has nothing more to give
            process.join(timeout=5)


def _encode(message: object) -> memoryview:
    """A batch pickled without the memo. The memo remembers every object written, so that an object met
    twice is written once: a batch's rows are hundreds of thousands of strings and numbers, nearly all met
    once, and the memo's entry for each cost twice what writing them does (0.63 against 0.20 µs a row).
    Nothing in a batch refers to itself, and an object met twice (a level's name) only arrives as two
    equal copies."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(message)
    return buffer.getbuffer()


def _how_it_ended(exitcode: int | None) -> str:
    """multiprocessing's exit code: negative for the signal that ended the process (the OOM killer's
    SIGKILL, say), which names the cause better than a number."""
    if exitcode is not None and exitcode < 0:
        import signal

        return f"killed by {signal.Signals(-exitcode).name}"
    return f"exit {exitcode}"


def can_fork() -> bool:
    return hasattr(os, "fork") and "fork" in multiprocessing.get_all_start_methods()
