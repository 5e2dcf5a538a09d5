"""Proxifier (Windows/macOS proxy client) logs: `[MM.dd HH:mm:ss] program - msg`, no year."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase
from logchat.ingest.levels import normalize_level

_LINE = re.compile(r"\[((\d\d)\.(\d\d) (\d\d):(\d\d):(\d\d))\] (.*)", re.DOTALL)
# "chrome.exe *64 - msg": " *64" marks a 64-bit process and is not part of its name.
_PROGRAM = re.compile(r"(\S+?)(?: \*64)? - (.*)", re.DOTALL)
# Proxifier's own notices: "Warning : Connections do not originate from the applications."
_OWN_NOTICE = re.compile(r"([A-Z][a-z]+) : (.*)", re.DOTALL)


class ProxifierParser(ParserBase):
    """Proxifier connection logs; the year is inferred by the TimeContext."""

    name = "proxifier"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _LINE.match(line)
        if match is None:
            return None
        stamp, mo, dd, hh, mi, ss, rest = match.groups()
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            ts = self.ctx.yearless(int(mo), int(dd), int(hh), int(mi), int(ss))
            self._last_stamp = stamp
            self._last_ts = ts
        program = _PROGRAM.match(rest)
        if program is not None:
            return ParsedHeader(ts, None, None, program.group(1), None, program.group(2))
        notice = _OWN_NOTICE.match(rest)
        if notice is not None:
            level = normalize_level(notice.group(1))
            if level is not None:
                return ParsedHeader(ts, level, None, None, None, notice.group(2))
        return ParsedHeader(ts, None, None, None, None, rest)
