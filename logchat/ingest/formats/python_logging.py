"""Python's logging module: the `basicConfig()` default and the common "asctime - name - level" layout."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase

_LEVEL_NAMES = {
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "WARNING": "WARNING",
    "WARN": "WARNING",
    "ERROR": "ERROR",
    "CRITICAL": "CRITICAL",
    "FATAL": "CRITICAL",
}

# "%(levelname)s:%(name)s:%(message)s" -> "INFO:root:msg"
_DEFAULT = re.compile(r"(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL):([^:\s]*):(.*)", re.DOTALL)
# "%(asctime)s - %(name)s - %(levelname)s - %(message)s" -> "2024-01-01 12:00:00,123 - app.db - INFO - msg"
_TIMED = re.compile(
    r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[,.]\d{1,6})?) - (\S+) - "
    r"(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL) - (.*)",
    re.DOTALL,
)


class PythonLoggingParser(ParserBase):
    """Python logging output; the logger name becomes the process. The default layout has no time."""

    name = "python"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _DEFAULT.match(line)
        if match is not None:
            word, logger, message = match.groups()
            return ParsedHeader(None, _LEVEL_NAMES[word], None, logger or None, None, message)
        match = _TIMED.match(line)
        if match is None:
            return None
        stamp, logger, word, message = match.groups()
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            ts = self.ctx.iso(stamp)
            self._last_stamp = stamp
            self._last_ts = ts
        return ParsedHeader(ts, _LEVEL_NAMES[word], None, logger, None, message)
