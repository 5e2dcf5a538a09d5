"""Formats of last resort: lines that start with an ISO-8601-like timestamp, and anything else."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase, guess_level

# "2024-01-01T12:00:00.123Z [INFO] msg", "[2024-01-01 12:00:00] ERROR msg", Go's log package
# "2009/11/10 23:00:00 msg", loguru's "2024-01-01 12:00:00.123 | INFO | mod:fn:1 - msg".
_ISO_LINE = re.compile(
    r"\[?(\d{4}([-/])\d\d[-/]\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d{1,9})?)?(?:Z|[+-]\d\d(?::?\d\d)?)?)\]?"
    r"[ \t]*(.*)",
    re.DOTALL,
)


class Iso8601Parser(ParserBase):
    """A leading ISO-8601 (or yyyy/mm/dd) timestamp; a level word among the next tokens counts."""

    name = "iso8601"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _ISO_LINE.match(line)
        if match is None:
            return None
        stamp, separator, message = match.groups()
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            ts = self.ctx.iso(stamp.replace("/", "-") if separator == "/" else stamp)
            if ts is None:
                return None
            self._last_stamp = stamp
            self._last_ts = ts
        return ParsedHeader(ts, guess_level(message, 3), None, None, None, message)


_CONTINUATION_STARTS = ("Caused by:", "at ", "... ", "Traceback (most recent call last)")


class GenericParser(ParserBase):
    """Every non-empty line is an event without a time; a leading level word gives the level.

    Unlike the other parsers it never rejects a line, so it says separately which lines continue
    the event before them: indented lines, Java "at ..." / "Caused by:" / "... N more" lines and
    Python "Traceback" headers.
    """

    name = "generic"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        if not line:
            return None
        return ParsedHeader(None, guess_level(line, 4), None, None, None, line)

    @staticmethod
    def is_continuation(line: str) -> bool:
        return line[:1] in (" ", "\t") or line.startswith(_CONTINUATION_STARTS)
