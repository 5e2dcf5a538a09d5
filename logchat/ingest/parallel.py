"""Run batch production in a forked reader process, so parsing and template mining on one core
overlap with database writes on the other.

Only batches cross the pipe; the database stays in the parent, which commits each batch with its
checkpoint exactly as in the single-process path. A thread of the parent receives one batch ahead of the
writer, so the reader is never more than two or three batches ahead and memory stays bounded.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle  # nosec B403 - batches from our own forked child, never from outside
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from logchat.errors import SourceUnreadable
from logchat.ingest.pipeline import Batch, BatchPlan, produce_batches
from logchat.ingest.prefetch import Prefetched
from logchat.ingest.sources import LineReader
from logchat.ingest.templates import TemplateMiner

_END = "end"
_FAILED = "failed"
# The first byte of each message: the receiving thread tells the reader's last word (its template miner and the
# next event id) from its batches without unpickling them, so that the writer can start reading the next source
# while it still writes this one's last batches.
_BATCH_TAG, _END_TAG = b"B", b"E"
# The pipe's buffer. Linux gives a pipe 64 KiB, and a batch is megabytes: sent through 64 KiB, each batch took
# about a hundred turns of the reader writing and the writer reading, each waking the other. 1 MiB is the
# largest a user may ask for by default (/proc/sys/fs/pipe-max-size).
PIPE_BYTES = 1 << 20
# Batches received and waiting for the writer, at most: enough for the reader's last word to be heard as soon as it
# is said, while the writer still has the source's last batches to write (see ``ReaderProcess.ended``). With fields
# on the reader sets the pace and its batches vary: three deep, a slow one is made up by those before it (one deep,
# the million generated lines took 0.3 s longer; six deep, no faster than three, and each batch is MiBs).
RECEIVED_AHEAD = 3


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
    next_id = plan.first_id
    try:
        for batch in produce_batches(reader, parser, miner, plan):
            if spare is not None and not writer_waits.value:
                # The writer is still busy with the batch before: until it takes this one, the time is the reader's.
                spare(batch)
            if batch.rows:
                next_id = batch.rows[-1][0] + 1
            conn.send_bytes(_encode(batch))
        conn.send_bytes(_encode((_END, ReaderEnd(miner.dump_state(), next_id)), _END_TAG))
    except BaseException:  # the parent must hear about any failure rather than wait forever
        conn.send_bytes(_encode((_FAILED, traceback.format_exc(limit=5))))
    finally:
        conn.close()


@dataclass(frozen=True)
class ReaderEnd:
    """What a reader process says when it has sent its last batch: its template miner's state and the id its
    next event would have had."""

    miner_state: bytes
    next_id: int


class ReaderProcess:
    """Iterate the batches; afterwards ``miner_state`` holds the reader's template miner state.

    ``ended`` is the reader's :class:`ReaderEnd` as soon as it has sent its last batch, while the writer may
    still be writing the batches before: what the next source's reader needs to start.

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
        self.ended: ReaderEnd | None = None
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
            _widen(sender)
            process = context.Process(target=_reader_main, args=(sender, *self._args, self._writer_waits),
                                      daemon=True)
            process.start()
            sender.close()
            self._started = (receiver, process)

    def stop(self) -> None:
        """End the reader now, from any thread: whoever waits for its next batch hears that it ended."""
        if self._started is not None and self._started[1].is_alive():
            self._started[1].terminate()

    def close(self) -> None:
        """End a reader that was started and will not be iterated, and close its pipe."""
        if self._started is not None:
            receiver, process = self._started
            _end(process)
            receiver.close()

    def __iter__(self) -> Iterator[Batch]:
        self.start()
        assert self._started is not None
        receiver, process = self._started
        # Received by the writer itself, a batch left the reader only once the writer had committed the one before:
        # the reader, done with the next batch, waited for it, and the writer, done with its commit, waited for the
        # reader to finish the next. Batch by batch each is the slower in turn (a commit with a checkpoint costs
        # more than one without; templates change in bursts), so both waited. A thread takes the next batch off
        # the pipe while the writer commits, so that the reader goes on at once.
        received = Prefetched(_messages(receiver), self._note_end, ahead=RECEIVED_AHEAD, name="logchat-batch-receive")
        finished = False
        try:
            while True:
                try:
                    message = pickle.loads(memoryview(next(received))[1:])  # nosec B301 - our own child's batches
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
                    self.miner_state = payload.miner_state
                    self.ended = payload
                    return
                raise SourceUnreadable(f"the reader process failed: {payload.strip().splitlines()[-1]}")
        finally:
            if finished:
                process.join(timeout=5)  # let it end by itself (a terminated child loses what it flushes)
            _end(process)
            received.close()  # the reader has ended, and with it the pipe: the receiving thread has ended too
            receiver.close()

    def _note_end(self, message: bytes) -> None:
        """What the receiving thread does to a message: only the reader's last word is unpickled there (so that
        ``ended`` tells it while the writer still writes what came before). Unpickling batches there took the GIL
        from the writer's commits and made them slower; the writer unpickles each batch in its own thread."""
        if message[:1] == _END_TAG:
            self.ended = pickle.loads(memoryview(message)[1:])[1]  # nosec B301 - our own child's last word


def _end(process: Any) -> None:
    """End the reader ``process`` if it is still running, and wait for it."""
    if process.is_alive():
        process.terminate()  # stopped early (or stuck): it has nothing more to give
    process.join(timeout=5)
    if process.is_alive():
        process.kill()  # deaf to SIGTERM (stopped, say): the receiving thread ends only with the pipe
        process.join()


def _messages(connection: Any) -> Iterator[bytes]:
    """The reader process's messages, as they come, until the pipe ends (EOFError)."""
    while True:
        yield connection.recv_bytes()


def _widen(connection: Any) -> None:
    """Give the pipe behind ``connection`` a buffer of PIPE_BYTES, where the system allows it."""
    try:
        import fcntl

        fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass  # not Linux, or past the user's share of pipe memory: the default buffer works, only more slowly


def _encode(message: object, tag: bytes = _BATCH_TAG) -> memoryview:
    """``tag``, then a batch pickled without the memo. The memo remembers every object written, so that an object met
    twice is written once: a batch's rows are hundreds of thousands of strings and numbers, nearly all met
    once, and the memo's entry for each cost twice what writing them does (0.63 against 0.20 µs a row).
    Nothing in a batch refers to itself, and an object met twice (a level's name) only arrives as two
    equal copies."""
    buffer = io.BytesIO()
    buffer.write(tag)
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
