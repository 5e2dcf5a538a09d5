"""The garbage collector's young generation, made large while ingest runs.

A batch is tens of thousands of rows: tuples, lists and dicts that live until the batch is pickled (in the
reader process) or written (in the writer) and then die by reference counting. At CPython's default threshold
of 700 allocations the collector ran every few hundred rows, found the batch's rows alive each time and moved
them into the older generations, whose collections then went over them again, and over everything else alive
(the template miner, the field recipes, SQLAlchemy), until the batch ended and they died anyway. With a young
generation of 200,000 allocations a batch's rows die before a collection sees them; collections still run, so
cyclic garbage is still freed, at most a young generation's worth later.

Measured on the million generated lines of ``bench_ingest.py`` (docs/ingest.md, "The garbage collector during
ingest"): the whole ``logchat index`` about 0.5 s faster (96,500 -> 101,900 lines/s at best) and 0.6-0.8 s less
CPU, peak RSS unchanged.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["INGEST_YOUNG_THRESHOLD", "collecting_less_often"]

INGEST_YOUNG_THRESHOLD = 200_000

# The thresholds are the process's: blocks that overlap (ingests of two stores in one daemon, in threads) share
# one raise, made by the first to enter and undone by the last to leave, whatever order they leave in.
_blocks = threading.Lock()
_open = 0
_before: tuple[int, int, int] = gc.get_threshold()


@contextlib.contextmanager
def collecting_less_often() -> Iterator[None]:
    """Within the block (and in the reader processes forked in it), the young generation holds at least
    :data:`INGEST_YOUNG_THRESHOLD` allocations; the thresholds are restored when the last open block ends."""
    global _open, _before
    with _blocks:
        if _open == 0:
            _before = gc.get_threshold()
            young, middle, old = _before
            gc.set_threshold(max(young, INGEST_YOUNG_THRESHOLD), middle, old)
        _open += 1
    try:
        yield
    finally:
        with _blocks:
            _open -= 1
            if _open == 0:
                gc.set_threshold(*_before)
