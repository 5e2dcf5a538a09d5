"""Google's glog and Kubernetes' klog: `E0517 15:04:22.619632   12345 server.go:42] message`."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase, parse_pid

_GLOG = re.compile(r"([IWEF])(\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6}) +(\d+) ([^:\]\s]+):\d+\] ?(.*)", re.DOTALL)
_LEVELS = {"I": "INFO", "W": "WARNING", "E": "ERROR", "F": "CRITICAL"}


class GlogParser(ParserBase):
    """The level letter and month/day open the line (the year is inferred as for syslog); the thread
    id is kept as the pid and the source file as the process."""

    name = "glog"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _GLOG.match(line)
        if match is None:
            return None
        letter, month, day, hour, minute, second, micros, thread, source, message = match.groups()
        stamp = line[1:21]
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            ts = self.ctx.yearless(int(month), int(day), int(hour), int(minute), int(second), int(micros))
            self._last_stamp = stamp
            self._last_ts = ts
        return ParsedHeader(ts, _LEVELS[letter], None, source, parse_pid(thread), message)
