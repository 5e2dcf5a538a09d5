"""Ruby's Logger (and Rails' default log layout):
`I, [2024-06-26T17:00:04.497736 #126554]  INFO -- progname: message`."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase, parse_pid
from logchat.ingest.timestamps import fraction_to_micros

_RUBY = re.compile(
    r"([DIWEFA]), \[((\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?) #(\d+)\] +[A-Z]+ -- ([^:]*): ?(.*)",
    re.DOTALL,
)
# The severity letter is the first letter of Logger's label; ANY (A) carries no level.
_LETTERS = {"D": "DEBUG", "I": "INFO", "W": "WARNING", "E": "ERROR", "F": "CRITICAL", "A": None}


class RubyLoggerParser(ParserBase):
    """The time is local (Logger writes no offset), the pid is kept and a progname is the process;
    lines without the header (backtraces) continue the event before them."""

    name = "ruby_logger"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _RUBY.match(line)
        if match is None:
            return None
        letter, stamp, yyyy, mm, dd, hh, mi, ss, fraction, pid, progname, message = match.groups()
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            ts = self.ctx.local(int(yyyy), int(mm), int(dd), int(hh), int(mi), int(ss), fraction_to_micros(fraction))
            self._last_stamp = stamp
            self._last_ts = ts
        return ParsedHeader(ts, _LETTERS[letter], None, progname.strip() or None, parse_pid(pid), message)
