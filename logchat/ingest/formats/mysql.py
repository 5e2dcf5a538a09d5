"""MySQL and MariaDB error and general query logs, and the server banner that opens general and slow
query logs (`/usr/sbin/mysqld, Version: … started with:`, `Tcp port: …`, `Time Id Command Argument`):
those lines describe the server, they are not events."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase, two_digit_year


def is_server_banner(line: str) -> bool:
    """A line of the banner mysqld writes when it opens a general or slow query log."""
    first = line[:1]
    if first == "/":
        return ", Version: " in line and line.endswith("started with:")
    if first == "T":
        return line.startswith("Tcp port: ") or (
            line.startswith("Time") and "Command" in line and line.rstrip().endswith("Argument"))
    return False


# MySQL 8: "2026-12-03T13:16:01.123456Z 0 [System] [MY-010116] [Server] message";
# MariaDB: "2026-12-03  7:43:57 0 [Note] message"; MySQL 5.6 and older MariaDB: "161203 13:16:01 [Note] message".
_ERROR_LOG = re.compile(
    r"(?:(\d{4})-(\d\d)-(\d\d)[T ] ?|(\d\d)(\d\d)(\d\d) +)(\d{1,2}):(\d\d):(\d\d)(?:\.(\d{1,6}))?(Z|[+-]\d\d:\d\d)? "
    r"(?:(\d+) )?\[(System|Note|Warning|ERROR|Error|Info)\] (?:\[(MY-\d+)\] \[(\w+)\] )?(.*)",
    re.DOTALL,
)
_ERROR_LEVELS = {"System": "NOTICE", "Note": "NOTICE", "Info": "INFO", "Warning": "WARNING", "ERROR": "ERROR",
                 "Error": "ERROR"}


class MysqlErrorParser(ParserBase):
    """The error log; MySQL 8's subsystem (`Server`, `InnoDB`, `Repl`) is the process, and its error
    code stays at the start of the message. `[System]` and `[Note]` are NOTICE."""

    name = "mysql_error"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _ERROR_LOG.match(line)
        if match is None:
            return None
        (yyyy, mo, dd, yy, mo2, dd2, hh, mi, ss, frac, zone, _thread, word, code, subsystem,
         message) = match.groups()  # fmt: skip
        stamp = line[: match.end(11) if zone else match.end(10) if frac else match.end(9)]
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            if yyyy is not None:
                year, month, day = int(yyyy), int(mo), int(dd)
            else:
                year, month, day = two_digit_year(int(yy)), int(mo2), int(dd2)
            micros = int(frac.ljust(6, "0")) if frac else 0
            if zone:
                ts = self.ctx.iso(f"{year:04d}-{month:02d}-{day:02d}T{int(hh):02d}:{mi}:{ss}.{micros:06d}"
                                  f"{'+00:00' if zone == 'Z' else zone}")
            else:
                ts = self.ctx.local(year, month, day, int(hh), int(mi), int(ss), micros)
            self._last_stamp = stamp
            self._last_ts = ts
        if code is not None:
            message = f"{code} {message}"
        return ParsedHeader(ts, _ERROR_LEVELS[word], None, subsystem or "mysqld", None, message)


# "2026-12-03T13:16:01.123456Z\t   31 Query\tSELECT 1" (5.7+), "261203 13:16:01\t   31 Query\tSELECT 1" (older,
# MariaDB), and "\t\t   32 Query\tSELECT 2" for another entry within the same second.
_GENERAL = re.compile(
    r"(?:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)?)"
    r"|(\d\d)(\d\d)(\d\d) +(\d{1,2}):(\d\d):(\d\d)|\t)"
    r"\t *(\d+) ([A-Z][A-Za-z]*(?: [A-Z][A-Za-z]*)*)\t?(.*)",
    re.DOTALL,
)


class MysqlGeneralParser(ParserBase):
    """The general query log: one entry per command, a statement over several lines stays one event.
    The connection id is kept in the message (`31 Query SELECT …`); entries have no level."""

    name = "mysql_general"
    __slots__ = ()

    @staticmethod
    def is_metadata(line: str) -> bool:
        return is_server_banner(line)

    def parse(self, line: str) -> ParsedHeader | None:
        match = _GENERAL.match(line)
        if match is None:
            return None
        iso, yy, mo, dd, hh, mi, ss, connection, command, argument = match.groups()
        if iso is None and yy is None:
            ts = self._last_ts  # same second as the entry before
        else:
            stamp = line[: match.end(7) if iso is None else match.end(1)]
            if stamp == self._last_stamp:
                ts = self._last_ts
            elif iso is not None:
                ts = self.ctx.iso(iso)
            else:
                ts = self.ctx.local(two_digit_year(int(yy)), int(mo), int(dd), int(hh), int(mi), int(ss))
            self._last_stamp = stamp
            self._last_ts = ts
        message = f"{connection} {command} {argument}".rstrip()
        return ParsedHeader(ts, None, None, "mysql", None, message)
