"""uWSGI's request log lines; its other lines (start-up banners, worker messages, tracebacks) are read
as the fallback reads them, so a traceback joins the line before it."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import parse_pid
from logchat.ingest.formats.generic import GenericParser
from logchat.ingest.formats.web import STATUS_REASONS, status_level
from logchat.ingest.timestamps import MONTHS

# [pid: 812|app: 0|req: 1/1] 10.0.0.7 () {34 vars in 512 bytes} [Thu Dec  3 13:16:01 2026] GET /health =>
# generated 2 bytes in 1 msecs (HTTP/1.1 200) 2 headers in 79 bytes (1 switches on core 0)
_REQUEST = re.compile(
    r"\[pid: (\d+)\|app: [-\d]+\|req: [-\d]+/\d+\] (\S+) \(([^)]*)\) \{\d+ vars in \d+ bytes\} "
    r"\[[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4})\] (\S+) (.*?) => "
    r"generated (\d+) bytes in (\d+) (msecs|micros) \(([^ )]+) (\d{3})\)",
)


class UwsgiParser(GenericParser):
    """A request line: the level follows the status (5xx ERROR, 4xx WARNING), the worker's pid is kept,
    and the message is `<reason> "<method> <path> <protocol>" <client> <bytes> <time>`."""

    name = "uwsgi"
    __slots__ = ()

    @staticmethod
    def matches(line: str) -> bool:
        return _REQUEST.match(line) is not None

    def parse(self, line: str) -> ParsedHeader | None:
        match = _REQUEST.match(line)
        if match is None:
            return None if self.is_continuation(line) else super().parse(line)
        (pid, client, user, mon, dd, hh, mi, ss, yyyy, method, path, size, taken, unit, protocol,
         status) = match.groups()  # fmt: skip
        stamp = line[match.start(4) : match.end(9)]
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            month = MONTHS.get(mon)
            if month is None:
                return None
            ts = self.ctx.local(int(yyyy), month, int(dd), int(hh), int(mi), int(ss))
            self._last_stamp = stamp
            self._last_ts = ts
        self._stamped = True
        who = f"{client} {user}" if user else client
        reason = STATUS_REASONS.get(status, f"HTTP ({status})")
        message = f'{reason} "{method} {path} {protocol}" {who} {size} {taken} {"ms" if unit == "msecs" else "µs"}'
        return ParsedHeader(ts, status_level(status), None, "uwsgi", parse_pid(pid), message)
