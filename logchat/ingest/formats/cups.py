"""CUPS's three logs in one format: error_log (`E [03/Dec/2026:13:16:10 +0000] message`), access_log
(common log format followed by the IPP operation and status) and page_log (`printer user job-id [date] …`)."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase
from logchat.ingest.formats.web import STATUS_REASONS, status_level
from logchat.ingest.timestamps import MONTHS, fraction_to_micros

_STAMP = r"\[((\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))? ([+-])(\d\d)(\d\d))\]"
_ERROR = re.compile(r"([EWINDdACX]) " + _STAMP + r" (.*)", re.DOTALL)
# host - user [date] "request" status bytes ipp-operation ipp-status
_ACCESS = re.compile(
    r"(\S+) \S+ (\S+) " + _STAMP + r' "([^"]*)" (\d{3}) (\d+|-) (\S+) (successful-\S+|client-error-\S+|'
    r"server-error-\S+|redirection-\S+|-)$"
)
# printer user job-id [date] page-or-"total" copies-or-count billing host job-name media sides
_PAGE = re.compile(r"(\S+) (\S+) (\d+) " + _STAMP + r" (.*)", re.DOTALL)
# cupsd's LogLevel letters: d is debug2, A alert, C critical, X emergency.
_LETTERS = {"E": "ERROR", "W": "WARNING", "I": "INFO", "N": "NOTICE", "D": "DEBUG", "d": "DEBUG",
            "A": "CRITICAL", "C": "CRITICAL", "X": "CRITICAL"}


def _ipp_level(http_status: str, ipp_status: str) -> str:
    if ipp_status.startswith("server-error"):
        return "ERROR"
    if ipp_status.startswith("client-error"):
        return "WARNING"
    return status_level(http_status)


class CupsParser(ParserBase):
    """Every line is from cupsd (the process); an error_log line's letter is its level, an access_log
    line's level follows the HTTP and IPP status, page_log lines have no level."""

    name = "cups"
    __slots__ = ()

    def _ts(self, match: re.Match[str], first: int):  # the stamp's groups start at `first`
        stamp = match.group(first)
        if stamp == self._last_stamp:
            return self._last_ts
        dd, mon, yyyy, hh, mi, ss, fraction, sign, oh, om = match.groups()[first : first + 10]
        month = MONTHS.get(mon)
        if month is None:
            return None
        offset = int(oh) * 60 + int(om)
        ts = self.ctx.with_offset(int(yyyy), month, int(dd), int(hh), int(mi), int(ss), fraction_to_micros(fraction),
                                  -offset if sign == "-" else offset)
        self._last_stamp = stamp
        self._last_ts = ts
        return ts

    def parse(self, line: str) -> ParsedHeader | None:
        match = _ERROR.match(line)
        if match is not None:
            return ParsedHeader(self._ts(match, 2), _LETTERS[match.group(1)], None, "cupsd", None, match.group(13))
        match = _ACCESS.match(line)
        if match is not None:
            client, user, request, status, size, operation, ipp_status = (match.group(i) for i in (1, 2, 14, 15, 16,
                                                                                                     17, 18))
            who = client if user == "-" else f"{client} {user}"
            reason = STATUS_REASONS.get(status, f"HTTP ({status})")
            message = f'{reason} "{request}" {who} {size} {operation} {ipp_status}'
            return ParsedHeader(self._ts(match, 3), _ipp_level(status, ipp_status), None, "cupsd", None, message)
        match = _PAGE.match(line)
        if match is not None:
            printer, user, job = match.group(1, 2, 3)
            message = f"{printer} job {job} by {user}: {match.group(15)}"
            return ParsedHeader(self._ts(match, 4), None, None, "cupsd", None, message)
        return None
