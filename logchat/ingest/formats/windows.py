"""Windows servicing logs (CBS.log, and the CSI lines interleaved in it)."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase
from logchat.ingest.levels import normalize_level

# "2016-09-28 04:30:30, Info                  CBS    msg"
_CBS = re.compile(r"((\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)), ([A-Za-z]+) +(\S+)(?: +(.*))?", re.DOTALL)


class CbsParser(ParserBase):
    """`yyyy-MM-dd HH:mm:ss, Level  Component  message` (local time); the component is the process."""

    name = "windows_cbs"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _CBS.match(line)
        if match is None:
            return None
        stamp, yyyy, mo, dd, hh, mi, ss, word, component, message = match.groups()
        level = normalize_level(word)
        if level is None:
            return None
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            ts = self.ctx.local(int(yyyy), int(mo), int(dd), int(hh), int(mi), int(ss))
            self._last_stamp = stamp
            self._last_ts = ts
        return ParsedHeader(ts, level, None, component, None, message or "")
