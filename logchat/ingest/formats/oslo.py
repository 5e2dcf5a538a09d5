"""OpenStack services (oslo.log): `2017-05-16 00:00:00.008 25746 INFO nova.api [req-...] msg`."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase, parse_pid
from logchat.ingest.levels import normalize_level

# An optional leading file name (collections such as loghub prefix every line with the file the
# line came from, "nova-api.log.1.2017-05-16_13:53:08"), then the oslo.log default layout. The
# "[req-... user project ...]" request context is left out of the message, like the level and pid.
_OSLO = re.compile(
    r"(?:\S+ )?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?) (\d+) ([A-Z]{4,8}) (\S+)"
    r"(?: \[([^\]]*)\])? ?(.*)",
    re.DOTALL,
)


class OsloParser(ParserBase):
    """oslo.log lines (nova, neutron, cinder, keystone, ...); the logger becomes the process."""

    name = "oslo"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _OSLO.match(line)
        if match is None:
            return None
        stamp, pid, word, logger, _context, message = match.groups()
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            ts = self.ctx.iso(stamp)
            self._last_stamp = stamp
            self._last_ts = ts
        # oslo has levels (AUDIT in older releases) that are not severities of ours; keep the line.
        return ParsedHeader(ts, normalize_level(word), None, logger, parse_pid(pid), message)
