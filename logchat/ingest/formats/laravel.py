"""Laravel's and Monolog's line layout: `[2026-12-03 13:16:05] production.ERROR: message {"context":…}`.

An exception's context runs over many lines (`[stacktrace]`, `#0 /var/www/…`, `#1 {main}`, `"}`):
they have no header, so they join the event they belong to."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase
from logchat.ingest.timestamps import fraction_to_micros

_MONOLOG = re.compile(
    r"\[((\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([+-])(\d\d):?(\d\d))?)\] "
    r"([\w.\-]+)\.([A-Z]+): (.*)",
    re.DOTALL,
)
# The lines a Laravel exception context spreads over; detection counts them as this format's own.
_TRACE_LINE = re.compile(r"\[stacktrace\]$|\[previous exception\] |#\d+ |\"\}")
_LEVELS = {"DEBUG": "DEBUG", "INFO": "INFO", "NOTICE": "NOTICE", "WARNING": "WARNING", "ERROR": "ERROR",
           "CRITICAL": "CRITICAL", "ALERT": "CRITICAL", "EMERGENCY": "CRITICAL"}


class LaravelParser(ParserBase):
    """The channel (`production`, `local`, a custom channel) is the process."""

    name = "laravel"
    __slots__ = ()

    def matches(self, line: str) -> bool:
        return _MONOLOG.match(line) is not None or _TRACE_LINE.match(line) is not None

    def parse(self, line: str) -> ParsedHeader | None:
        match = _MONOLOG.match(line)
        if match is None:
            return None
        stamp, yyyy, mm, dd, hh, mi, ss, fraction, sign, oh, om, channel, level, message = match.groups()
        if level not in _LEVELS:
            return None
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            fields = (int(yyyy), int(mm), int(dd), int(hh), int(mi), int(ss), fraction_to_micros(fraction))
            if sign is None:
                ts = self.ctx.local(*fields)
            else:
                offset = int(oh) * 60 + int(om)
                ts = self.ctx.with_offset(*fields, -offset if sign == "-" else offset)
            self._last_stamp = stamp
            self._last_ts = ts
        return ParsedHeader(ts, _LEVELS[level], None, channel, None, message)
