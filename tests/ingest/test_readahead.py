"""ReadAhead (ingest/readahead.py): a stream read by a thread of its own a bounded number of bytes ahead,
giving back every byte in order, a read error only after the bytes before it, and stopping when closed."""

from __future__ import annotations

import io

import pytest

from logchat.ingest.readahead import ReadAhead, read_ahead
from logchat.ingest.sources import LineReader


class _Failing(io.RawIOBase):
    """``good`` bytes, then an OSError, as a connection lost in the middle of a file."""

    def __init__(self, good: bytes) -> None:
        super().__init__()
        self._good = io.BytesIO(good)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def,override]
        count = self._good.readinto(buffer)
        if not count:
            raise OSError("connection to ssh://web-01 lost")
        return count


class _Counting(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked = 0

    def read(self, size: int | None = -1) -> bytes:
        self.asked += 1
        return super().read(size)


def test_every_byte_comes_back_in_order_and_readline_works() -> None:
    data = b"".join(b"line %d\n" % n for n in range(50_000))
    stream, ahead = read_ahead(io.BytesIO(data), limit=64 << 10)
    with stream:
        ahead.wait_ready(1 << 30)  # more than there is: returns once the source has ended
        assert stream.readline() == b"line 0\n"
        assert stream.read() == data[len(b"line 0\n"):]
        assert stream.read() == b""


def test_a_read_error_comes_after_the_bytes_before_it_and_the_line_reader_keeps_them() -> None:
    good = b"".join(b"2026-01-05T10:00:00+00:00 web-01 app: event %d\n" % n for n in range(1000))
    stream, _ = read_ahead(_Failing(good + b"half a li"), limit=4096)  # type: ignore[arg-type]
    with stream:
        reader = LineReader(stream, start_line=0, start_offset=0, max_line_bytes=1000)
        lines = list(reader)
    # The cut line is not taken for a last line: the error stops the reader before it.
    assert len(lines) == 1000 and reader.offset == len(good)
    assert reader.error == "read error after line 1000: connection to ssh://web-01 lost"


def test_it_stays_within_its_limit_and_closing_stops_the_thread() -> None:
    source = _Counting(b"x" * (10 << 20))
    ahead = ReadAhead(source, limit=1 << 20, block=256 << 10)  # type: ignore[arg-type]
    ahead.wait_ready(1 << 20)
    asked = source.asked
    assert asked * (256 << 10) <= (1 << 20) + (256 << 10)  # at most one block past the limit
    ahead.close()
    assert ahead.closed and source.asked == asked  # nothing more read once the buffer was full
    with pytest.raises(ValueError):
        ahead.read(1)
