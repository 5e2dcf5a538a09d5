"""Take the next items of an iterator in a thread of its own, and prepare each there, one item ahead.

With a reader process, what is left of a batch for the writing process is receiving it (unpickling its
rows) and, on PostgreSQL, building what its COPY sends. Done in the writing thread, that work sits between
one batch's commit and the next batch's COPY, and the database waits for it; done here, it happens while
the database takes in the batch before, and the writing thread mostly waits on its socket (which releases
the GIL to this one).

The consumer sees the items in order, with what ``prepare`` raised raised by its ``next`` in their place;
``close`` stops the thread and closes the source iterator from that thread, the only one iterating it. A
source that may wait long for its next item (a reader process still parsing) is woken by ``interrupt``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

__all__ = ["Prefetched"]

T = TypeVar("T")

_POLL_SECONDS = 0.1


class _End:
    """The source is exhausted (``error`` None) or failed with ``error``."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class Prefetched(Generic[T]):
    """``items`` taken and ``prepare``d by a thread, at most ``ahead`` of them waiting for the consumer."""

    def __init__(
        self,
        items: Iterable[T],
        prepare: Callable[[T], None],
        *,
        ahead: int = 1,
        name: str = "logchat-prefetch",
        interrupt: Callable[[], None] | None = None,
    ) -> None:
        self._items = items
        self._prepare = prepare
        self._interrupt = interrupt
        self._queue: queue.Queue[T | _End] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._end: _End | None = None
        self._thread = threading.Thread(target=self._pump, name=name, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        iterator = iter(self._items)
        try:
            for item in iterator:
                self._prepare(item)
                if not self._put(item):
                    return
            self._put(_End())
        except BaseException as exc:  # the consumer must hear about any failure rather than wait forever
            self._put(_End(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def _put(self, entry: T | _End) -> bool:
        """Queue ``entry`` unless the consumer has stopped listening; False if it has."""
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._end is None:
            entry = self._queue.get()
            if not isinstance(entry, _End):
                return entry
            self._end = entry
        if self._end.error is not None:
            error, self._end = self._end.error, _End()  # raised once, then the iterator is simply done
            raise error
        raise StopIteration

    def close(self) -> None:
        """Stop taking items; the source iterator is closed (by the thread) before this returns."""
        self._stop.set()
        if self._end is None and self._interrupt is not None and self._thread.is_alive():
            self._interrupt()  # stopped before the end: what the thread may be waiting for will not be used
        self._thread.join()
