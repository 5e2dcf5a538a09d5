"""A stream read ahead by a thread of its own, a bounded number of bytes in front of its reader.

Several hosts are read at once by taking turns at one writer (services/ingest.py): while one host's
batch is parsed and written, the other hosts' bytes keep arriving here, so the network waits of every
host overlap instead of adding up. Memory stays bounded by ``limit`` per stream.
"""

from __future__ import annotations

import io
import threading
from collections import deque
from typing import Any, BinaryIO

READ_AHEAD_BYTES = 16 << 20
_BLOCK = 1 << 20


class ReadAhead(io.RawIOBase):
    """``source``'s bytes, read by a thread up to ``limit`` bytes ahead. A read error of the source is
    raised by the read that reaches it, after every byte read before it: the line reader then treats it
    as it treats the source's own errors."""

    def __init__(self, source: BinaryIO, *, limit: int = READ_AHEAD_BYTES, block: int = _BLOCK) -> None:
        super().__init__()
        self._source = source
        self._limit = limit
        self._block = block
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._done = False
        self._stopping = False
        self._error: BaseException | None = None
        self._pending = memoryview(b"")
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._pump, name="logchat-read-ahead", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            while True:
                with self._changed:
                    self._changed.wait_for(lambda: self._stopping or self._buffered < self._limit)
                    if self._stopping:
                        return
                block = self._source.read(self._block)
                with self._changed:
                    if not block:
                        return
                    self._chunks.append(block)
                    self._buffered += len(block)
                    self._changed.notify_all()
        except Exception as exc:  # handed to the reader, which raises it where the bytes end
            self._error = exc
        finally:
            with self._changed:
                self._done = True
                self._changed.notify_all()

    def wait_ready(self, min_bytes: int) -> None:
        """Wait until ``min_bytes`` are buffered or the source has ended: what follows is read from memory."""
        with self._changed:
            self._changed.wait_for(lambda: self._done or self._buffered >= min(min_bytes, self._limit))

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("read from a closed ReadAhead stream")
        if not self._pending:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._chunks) or self._done)
                if not self._chunks:
                    if self._error is not None:
                        raise self._error
                    return 0
                block = self._chunks.popleft()
                self._buffered -= len(block)
                self._changed.notify_all()
            self._pending = memoryview(block)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def close(self) -> None:
        """Stop reading ahead; returns once the thread is done with the source (the caller closes it)."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._thread.join()
        super().close()


def read_ahead(source: BinaryIO, *, limit: int = READ_AHEAD_BYTES) -> tuple[BinaryIO, ReadAhead]:
    """(a buffered stream with readline, the ReadAhead under it) for ``source``."""
    raw = ReadAhead(source, limit=limit)
    return io.BufferedReader(raw, buffer_size=1 << 16), raw  # type: ignore[return-value]
