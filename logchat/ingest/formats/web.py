"""Web server logs: Apache/nginx access logs (common and combined), Apache and nginx error logs."""

from __future__ import annotations

import re
from http import HTTPStatus

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase, parse_pid
from logchat.ingest.levels import normalize_level
from logchat.ingest.timestamps import MONTHS, fraction_to_micros

# host ident user [10/Oct/2000:13:55:36 -0700] "request" status size ["referer" "user-agent"] ...
# The request is read as runs of plain characters between escapes ([^"\\]* then \\.): the same text as
# (?:[^"\\]|\\.)*, but one repeat per run instead of one group per character, which took half the match time.
_ACCESS = re.compile(
    # The stamp is one group, cut by position when it changes ("10/Oct/2000:13:55:36 -0700"): fewer groups make
    # a faster match.
    r"(\S+) (\S+) (\S+) \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d\d\d\d)\] "
    r'"([^"\\]*(?:\\.[^"\\]*)*)" (\d{3}) (\d+|-)(.*)',
    re.DOTALL,
)


# The message leads with "Bad Gateway (502)": the template miner splits on the first word, so
# statuses stay apart even though numbers are masked, and "bad gateway" finds the lines.
STATUS_REASONS = {str(code.value): f"{code.phrase} ({code.value})" for code in HTTPStatus}


def status_level(status: str) -> str:
    if status >= "500":
        return "ERROR"
    if status >= "400":
        return "WARNING"
    return "INFO"


class AccessLogParser(ParserBase):
    """NCSA common/combined access logs. The level follows the status (5xx ERROR, 4xx WARNING).

    The message is `<reason> (<status>) "<request>" <client> <size> ...`. The client address is part of
    the message (it is what one searches for), not the host: the host of an event is the machine that
    wrote the log.
    """

    name = "access"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _ACCESS.match(line)
        if match is None:
            return None
        client, _ident, user, stamp, request, status, size, rest = match.groups()
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            month = MONTHS.get(stamp[3:6])
            if month is None:
                return None
            offset = int(stamp[22:24]) * 60 + int(stamp[24:26])
            ts = self.ctx.with_offset(
                int(stamp[7:11]), month, int(stamp[:2]), int(stamp[12:14]), int(stamp[15:17]), int(stamp[18:20]), 0,
                -offset if stamp[21] == "-" else offset,
            )
            self._last_stamp = stamp
            self._last_ts = ts
        who = client if user == "-" else f"{client} {user}"
        reason = STATUS_REASONS.get(status) or f"HTTP ({status})"  # the default only built when needed
        message = f'{reason} "{request}" {who} {size}{rest}'
        # The parts the named fields are read from (logchat.ingest.fields), so the line is not matched twice.
        return ParsedHeader(ts, status_level(status), None, "access", None, message,
                            (client, user, request, status, size, rest))


# [Sun Dec 04 04:47:44 2005] [error] msg
# [Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 123:tid 456] [client 1.2.3.4:5] msg
_APACHE_ERROR = re.compile(
    r"\[(?:[A-Z][a-z]{2} )?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))? (\d{4})\] "
    r"\[(?:([^\]:\s]+):)?([a-z]+\d?)\](?: \[pid (\d+)(?::tid \d+)?\])? ?(.*)",
    re.DOTALL,
)


class ApacheErrorParser(ParserBase):
    """Apache httpd error_log, 2.2 and 2.4 styles; the module ("core") becomes the process."""

    name = "apache_error"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _APACHE_ERROR.match(line)
        if match is None:
            return None
        mon, dd, hh, mi, ss, frac, yyyy, module, word, pid, message = match.groups()
        level = normalize_level(word)
        month = MONTHS.get(mon)
        if level is None or month is None:
            return None
        stamp = line[: match.end(7)]
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            ts = self.ctx.local(int(yyyy), month, int(dd), int(hh), int(mi), int(ss), fraction_to_micros(frac))
            self._last_stamp = stamp
            self._last_ts = ts
        return ParsedHeader(ts, level, None, module, parse_pid(pid), message)


# 2023/01/01 12:00:00 [error] 123#0: *1 msg
_NGINX_ERROR = re.compile(r"((\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)) \[([a-z]+)\] (\d+)#\d+: (.*)", re.DOTALL)


class NginxErrorParser(ParserBase):
    """nginx error.log; "*N" connection numbers stay in the message for correlation."""

    name = "nginx_error"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _NGINX_ERROR.match(line)
        if match is None:
            return None
        stamp, yyyy, mo, dd, hh, mi, ss, word, pid, message = match.groups()
        level = normalize_level(word)
        if level is None:
            return None
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            ts = self.ctx.local(int(yyyy), int(mo), int(dd), int(hh), int(mi), int(ss))
            self._last_stamp = stamp
            self._last_ts = ts
        return ParsedHeader(ts, level, None, "nginx", parse_pid(pid), message)
