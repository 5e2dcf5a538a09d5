"""The MySQL / MariaDB slow query log: an entry is its `# Time:` line (MariaDB leaves it out when the
second has not changed), the `# User@Host:` and statistics lines and the statements; one event."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase
from logchat.ingest.formats.mysql import is_server_banner
from logchat.ingest.timestamps import TimeContext

# "# Time: 2026-12-03T13:16:01.123456Z" (MySQL 5.7+) or "# Time: 261203 13:16:01" (MariaDB, 5.6)
_TIME = re.compile(r"# Time: (?:(\d{4}-\d\d-\d\dT\S+)|(\d\d)(\d\d)(\d\d) +(\d{1,2}):(\d\d):(\d\d))")
_USER = re.compile(r"# User@Host: (\S+?)\[")


class MysqlSlowParser(ParserBase):
    """Every entry starts at `# Time:`, or at `# User@Host:` when no `# Time:` came just before."""

    name = "mysql_slow"
    __slots__ = ("_after_time",)

    def __init__(self, ctx: TimeContext) -> None:
        super().__init__(ctx)
        self._after_time = False

    @staticmethod
    def is_metadata(line: str) -> bool:
        return is_server_banner(line)

    def parse(self, line: str) -> ParsedHeader | None:
        if line.startswith("# Time: "):
            match = _TIME.match(line)
            if match is None:
                return None
            iso, yy, mo, dd, hh, mi, ss = match.groups()
            if iso is not None:
                ts = self.ctx.iso(iso)
            else:
                ts = self.ctx.local(2000 + int(yy), int(mo), int(dd), int(hh), int(mi), int(ss))
            self._last_ts = ts
            self._after_time = True
            return ParsedHeader(ts, "WARNING", None, "mysql", None, "slow query")
        if line.startswith("# User@Host: "):
            if self._after_time:
                self._after_time = False
                return None
            user = _USER.match(line)
            return ParsedHeader(self._last_ts, "WARNING", None, "mysql", None,
                                f"slow query by {user.group(1)}" if user else "slow query")
        self._after_time = False
        return None
