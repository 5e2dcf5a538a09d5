"""HAProxy's HTTP and TCP logs, through syslog or straight to stdout:
`haproxy[812]: 10.0.0.7:51122 [03/Dec/2026:13:16:01.120] www~ web/srv1 0/0/1/12/13 200 1024 - - ---- ...`.
The accept date (to the millisecond, with its year) is the event's time, the status gives the level,
and the frontend, backend/server, timers and status are kept as fields."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase
from logchat.ingest.formats.syslog import Rfc3164Parser
from logchat.ingest.timestamps import MONTHS, TimeContext

_REQUEST = re.compile(
    r"(?P<client>\S+):\d+ \[(?P<d>\d\d)/(?P<mon>\w{3})/(?P<y>\d{4}):"
    r"(?P<H>\d\d):(?P<M>\d\d):(?P<S>\d\d)\.(?P<ms>\d{3})\] "
    r"(?P<frontend>\S+) (?P<backend>\S+) (?P<timers>[-\d/+]+) (?:(?P<status>-?\d{1,3}) )?(?P<rest>.*)",
    re.DOTALL,
)


class HaproxyParser(ParserBase):
    """Lines of HAProxy's request log; its other messages (server DOWN) are syslog lines of their own."""

    name = "haproxy"
    __slots__ = ("_syslog",)

    def __init__(self, ctx: TimeContext) -> None:
        super().__init__(ctx)
        self._syslog = Rfc3164Parser(ctx)

    def parse(self, line: str) -> ParsedHeader | None:
        header = self._syslog.parse(line)
        message = line if header is None else header.message
        match = _REQUEST.match(message)
        if match is None:
            if header is not None and header.process == "haproxy":
                if header.level is None and " is DOWN" in message:
                    header.level = "ERROR"
                return header
            return None
        month = MONTHS.get(match["mon"])
        ts = None if month is None else self.ctx.local(
            int(match["y"]), month, int(match["d"]), int(match["H"]), int(match["M"]), int(match["S"]),
            int(match["ms"]) * 1000)
        status = match["status"]
        if status is None or status.startswith("-"):
            level = "ERROR" if status else "INFO"
        else:
            level = "ERROR" if status >= "500" else "WARNING" if status >= "400" else "INFO"
        fields = f"client={match['client']} frontend={match['frontend']} backend={match['backend']} " \
                 f"timers={match['timers']}" + (f" status={status}" if status else "")
        text = f"{match['rest']} {fields}"
        if header is not None:
            return ParsedHeader(ts or header.ts, level, header.host, header.process, header.pid, text)
        return ParsedHeader(ts, level, None, "haproxy", None, text)
