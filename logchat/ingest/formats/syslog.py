"""BSD syslog (RFC 3164, as written by syslogd/rsyslog/journalctl) and RFC 5424 syslog."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import SYSLOG_TAG, ParserBase, level_from_message_prefix
from logchat.ingest.levels import level_from_syslog_priority
from logchat.ingest.timestamps import MONTHS, fraction_to_micros

# "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: msg", optionally "<13>" first and ".123456" after
# the seconds (rsyslog high precision without year). Day may be space-padded ("Jul  1") or not.
_CLASSIC = re.compile(
    r"(?:<(\d{1,3})>)?(([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?) +(\S+)(?: +|$)"
    + SYSLOG_TAG
    + r"(.*)",
    re.DOTALL,
)
# `journalctl -o short-iso` / rsyslog RFC 3339 stamps: "2024-01-15T10:00:00+0100 host sshd[1]: msg".
# The offset and the program tag are required so that ISO lines of other formats are not taken.
_ISO = re.compile(
    r"(?:<(\d{1,3})>)?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)) +(\S+) +"
    r"([^\s\[:]+(?: [^\s\[:]+)?)(?:\[(\d+)\])?(?: \([^)]*\))?: (.*)",
    re.DOTALL,
)


class Rfc3164Parser(ParserBase):
    """Traditional syslog files (/var/log/syslog, auth.log, messages, macOS system.log).

    The year is inferred by the TimeContext; a "<PRI>" prefix, when present, gives the level,
    otherwise a leading "error:"/"fatal:"/"warning:" in the message (OpenSSH's convention) does.
    """

    name = "rfc3164"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _CLASSIC.match(line)
        if match is not None:
            pri, stamp, mon, day, hh, mm, ss, frac, host, tag, pid, message = match.groups()
            if stamp == self._last_stamp:
                ts = self._last_ts
            else:
                month = MONTHS.get(mon)
                if month is None:
                    return None
                ts = self.ctx.yearless(month, int(day), int(hh), int(mm), int(ss), fraction_to_micros(frac))
                self._last_stamp = stamp
                self._last_ts = ts
        else:
            match = _ISO.match(line)
            if match is None:
                return None
            pri, stamp, host, tag, pid, message = match.groups()
            if stamp == self._last_stamp:
                ts = self._last_ts
            else:
                ts = self.ctx.iso(stamp)
                self._last_stamp = stamp
                self._last_ts = ts
        if pri is not None:
            level = level_from_syslog_priority(int(pri))
        else:
            level = level_from_message_prefix(message)
        return ParsedHeader(ts, level, host, tag, int(pid) if pid else None, message)


_SD = r'(?:\[(?:[^\]"\\]|\\.|"(?:[^"\\]|\\.)*")*\])+'
_RFC5424 = re.compile(
    r"<(\d{1,3})>\d{1,2} (-|\d{4}-\d\d-\d\dT[^ ]+) (\S+) (\S+) (\S+) (\S+) (-|" + _SD + r")(?: (.*))?",
    re.DOTALL,
)


def _nil(value: str) -> str | None:
    return None if value == "-" else value


class Rfc5424Parser(ParserBase):
    """`<34>1 2003-10-11T22:14:15.003Z host app procid msgid [sd] msg`; priority gives the level.

    Structured data, when present, is kept at the front of the message so it stays searchable.
    """

    name = "rfc5424"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _RFC5424.match(line)
        if match is None:
            return None
        pri, stamp, host, app, procid, _msgid, sd, message = match.groups()
        ts = None if stamp == "-" else self.ctx.iso(stamp)
        message = message or ""
        if message.startswith("\ufeff"):
            message = message[1:]
        if sd != "-":
            message = f"{sd} {message}" if message else sd
        pid = int(procid) if procid.isdigit() else None
        return ParsedHeader(ts, level_from_syslog_priority(int(pri)), _nil(host), _nil(app), pid, message)
