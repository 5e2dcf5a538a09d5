"""Redis server logs: `pid:role dd Mon yyyy hh:mm:ss.mmm <mark> message`."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase, parse_pid
from logchat.ingest.timestamps import MONTHS

_REDIS = re.compile(r"(\d+):([XCSM]) ((\d\d) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d)\.(\d{3})) ([.\-*#]) (.*)",
                    re.DOTALL)
# Redis's own verbosity marks: debug, verbose, notice, warning.
REDIS_MARKS = {".": "DEBUG", "-": "TRACE", "*": "NOTICE", "#": "WARNING"}
# The role letter: a sentinel, an RDB/AOF child, a replica, the master.
_ROLES = {"X": "redis-sentinel", "C": "redis-child", "S": "redis", "M": "redis"}


class RedisParser(ParserBase):
    """The pid is kept; a sentinel and a background-saving child get a process name of their own."""

    name = "redis"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _REDIS.match(line)
        if match is None:
            return None
        pid, role, stamp, dd, mon, yyyy, hh, mi, ss, millis, mark, message = match.groups()
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            month = MONTHS.get(mon)
            if month is None:
                return None
            ts = self.ctx.local(int(yyyy), month, int(dd), int(hh), int(mi), int(ss), int(millis) * 1000)
            self._last_stamp = stamp
            self._last_ts = ts
        return ParsedHeader(ts, REDIS_MARKS[mark], None, _ROLES[role], parse_pid(pid), message)
