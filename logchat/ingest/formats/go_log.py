"""Go's standard library logger: `2024/05/16 19:31:19 message`, with the Lmicroseconds and
Lshortfile/Llongfile flags `2024/05/16 19:31:19.123456 main.go:42: message`."""

from __future__ import annotations

import re

from logchat.ingest.events import Event, ParsedHeader
from logchat.ingest.formats._shared import ParserBase, level_from_message_prefix
from logchat.ingest.timestamps import fraction_to_micros

_GO = re.compile(r"((\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?) (?:(\S+\.go:\d+): )?(.*)", re.DOTALL)
# What a crashing Go program prints after its last log line; detection counts these as the format's own.
_CRASH_LINE = re.compile(r"panic: |fatal error: |\[signal |goroutine \d+ \[|created by |exit status \d|"
                         r"[\w./*()-]+\(.*\)$")
_CRASH_MARKS = ("\npanic: ", "\nfatal error: ")


class GoLogParser(ParserBase):
    """The time is local (Go's logger writes local time without an offset unless told otherwise); a
    level word opening the message (`ERROR …`, `[WARN] …`, `error: …`) is the level; a panic or fatal
    error that follows a line ends up in its event and makes it CRITICAL."""

    name = "go_log"
    __slots__ = ()

    def matches(self, line: str) -> bool:
        return _GO.match(line) is not None or _CRASH_LINE.match(line) is not None

    def parse(self, line: str) -> ParsedHeader | None:
        match = _GO.match(line)
        if match is None:
            return None
        stamp, yyyy, mm, dd, hh, mi, ss, fraction, _source, text = match.groups()
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            ts = self.ctx.local(int(yyyy), int(mm), int(dd), int(hh), int(mi), int(ss), fraction_to_micros(fraction))
            self._last_stamp = stamp
            self._last_ts = ts
        # The file:line of Lshortfile stays in the message: it is what one looks for in the code.
        message = line[match.start(9) :] if _source else text
        return ParsedHeader(ts, level_from_message_prefix(text), None, None, None, message)

    @staticmethod
    def finish_event(event: Event) -> None:
        if event.level is None and event.line_end > event.line_no and any(mark in event.raw for mark in _CRASH_MARKS):
            event.level = "CRITICAL"
