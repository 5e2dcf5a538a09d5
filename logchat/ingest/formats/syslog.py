"""BSD syslog (RFC 3164, as written by syslogd/rsyslog/journalctl) and RFC 5424 syslog."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import SYSLOG_TAG, ParserBase, level_from_message_prefix, parse_pid
from logchat.ingest.levels import level_from_syslog_priority
from logchat.ingest.timestamps import MONTHS, TimeContext, fraction_to_micros

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Offsets from the start of an hour for every mm:ss, leap second included.
_SECONDS_INTO_HOUR = tuple(timedelta(seconds=n) for n in range(60 * 60 + 1))

# The common shape, "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: msg", matched first because a
# simple pattern with few groups is twice as fast as the general one below.
_COMMON = re.compile(r"([A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d) (\S+) ([^\s\[:]+)(?:\[(\d+)\])?: (.*)", re.DOTALL)
# Everything else of the family: "<13>" first, ".123456" after the seconds (rsyslog high
# precision without year), several spaces, tags with a space or a "(...)" suffix, or no tag.
_CLASSIC = re.compile(
    r"(?:<(\d{1,3})>)?([A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d(?:\.\d{1,6})?) +(\S+)(?: +|$)" + SYSLOG_TAG + r"(.*)",
    re.DOTALL,
)
# `journalctl -o short-iso` / rsyslog RFC 3339 stamps: "2024-01-15T10:00:00+0100 host sshd[1]: msg".
# The offset and the program tag are required so that ISO lines of other formats are not taken.
_ISO = re.compile(
    r"(?:<(\d{1,3})>)?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)) +(\S+) +"
    r"([^\s\[:]+(?: [^\s\[:]+)?)(?:\[(\d+)\])?(?: \([^)]*\))?: (.*)",
    re.DOTALL,
)


_SEVERITY_FIELD = re.compile(r"(?:Em|Al|Cr|Er|Wa|No|In|Db)\((\d{1,3})\)")


class Rfc3164Parser(ParserBase):
    """Traditional syslog files (/var/log/syslog, auth.log, messages, macOS system.log).

    The year is inferred by the TimeContext; a "<PRI>" prefix, when present, gives the level,
    otherwise a leading "error:"/"fatal:"/"warning:" in the message (OpenSSH's convention) does.
    """

    name = "rfc3164"
    __slots__ = ("_hour_base", "_hour_key")

    def __init__(self, ctx: TimeContext) -> None:
        super().__init__(ctx)
        self._hour_key = ""
        self._hour_base = _EPOCH

    def parse(self, line: str) -> ParsedHeader | None:
        match = _COMMON.match(line)
        if match is not None:
            stamp, host, tag, pid, message = match.groups()
            pri = None
            iso = False
        else:
            match = _CLASSIC.match(line)
            if match is None:
                match = _ISO.match(line)
                if match is None:
                    return None
            pri, stamp, host, tag, pid, message = match.groups()
            iso = stamp[0].isdigit()
            if iso and host[0] == "[":  # "2026-12-03T13:16:01.123Z [INFO]  core: ..." is not syslog (hclog)
                return None
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            ts = self.ctx.iso(stamp) if iso else self._yearless(stamp)
            self._last_stamp = stamp
            self._last_ts = ts
        if pri is not None:
            level = level_from_syslog_priority(int(pri))
        else:
            level = level_from_message_prefix(message)
        if host[-1] == ")" and (severity := _SEVERITY_FIELD.fullmatch(host)) is not None:
            # VMware ESXi writes "In(14)" (a syslog priority) where other syslogs write the host.
            level = level_from_syslog_priority(int(severity.group(1)))
            host = None
        return ParsedHeader(ts, level, host, tag, parse_pid(pid), message)

    def _yearless(self, stamp: str) -> datetime | None:
        # "Jun 14 15:16:01" (the usual 15 characters), "Jun  9 06:06:20", "Nov 9 12:01:01",
        # "Jun 14 15:16:01.123456". Lines of the same hour as the previous one add minutes and
        # seconds to that hour's start: the year and zone offset cannot differ within an hour.
        if len(stamp) == 15 and stamp[9] == ":":
            minute, second = int(stamp[10:12]), int(stamp[13:15])
            if minute > 59 or second > 60:
                return None
            key = stamp[:9]
            if key != self._hour_key:
                month = MONTHS.get(stamp[:3])
                if month is None:
                    return None
                base = self.ctx.yearless(month, int(stamp[4:6]), int(stamp[7:9]), 0, 0)
                if base is None:
                    return None
                self._hour_key = key
                self._hour_base = base
            return self._hour_base + _SECONDS_INTO_HOUR[minute * 60 + second]
        month = MONTHS.get(stamp[:3])
        if month is None:
            return None
        clock = stamp.index(":") - 2
        return self.ctx.yearless(
            month,
            int(stamp[4:clock]),
            int(stamp[clock : clock + 2]),
            int(stamp[clock + 3 : clock + 5]),
            int(stamp[clock + 6 : clock + 8]),
            fraction_to_micros(stamp[clock + 9 :]),
        )


_SD = r'(?:\[(?:[^\]"\\]|\\.|"[^"\\]*(?:\\.[^"\\]*)*")*\])+'
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
        pid = parse_pid(procid)
        return ParsedHeader(ts, level_from_syslog_priority(int(pri)), _nil(host), _nil(app), pid, message)
