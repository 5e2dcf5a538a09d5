"""Pipe-delimited app logs `timestamp|component|pid|message`, as the HealthApp (Android) log has."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase, parse_pid

# "20171223-22:15:29:606|Step_LSC|30002312|msg"; time fields are not always zero-padded
# ("20171224-1:2:35:789"), so the last field is a millisecond count, not a decimal fraction.
_COMPACT = re.compile(
    r"((\d{4})(\d\d)(\d\d)-(\d{1,2}):(\d{1,2}):(\d{1,2})(?:[:.](\d{1,3}))?)\|([^|]*)\|(\d+)\|(.*)",
    re.DOTALL,
)
# The same fields with an ISO stamp: "2017-12-23 22:15:29.606|component|pid|msg".
_ISO = re.compile(
    r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d{1,6})?(?:Z|[+-]\d\d:?\d\d)?)\|([^|]*)\|(\d+)\|(.*)",
    re.DOTALL,
)


class PipeDelimitedParser(ParserBase):
    """`stamp|component|pid|message`; the component becomes the process."""

    name = "pipe_delimited"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _COMPACT.match(line)
        if match is not None:
            stamp, yyyy, mo, dd, hh, mi, ss, ms, component, pid, message = match.groups()
            if stamp == self._last_stamp:
                ts = self._last_ts
            else:
                micros = int(ms) * 1000 if ms else 0
                ts = self.ctx.local(int(yyyy), int(mo), int(dd), int(hh), int(mi), int(ss), micros)
                self._last_stamp = stamp
                self._last_ts = ts
        else:
            match = _ISO.match(line)
            if match is None:
                return None
            stamp, component, pid, message = match.groups()
            ts = self.ctx.iso(stamp)
        return ParsedHeader(ts, None, None, component or None, parse_pid(pid), message)
