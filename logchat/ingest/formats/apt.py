"""apt's history.log and term.log: an entry runs from `Start-Date:` to `End-Date:` (`Log started:` to
`Log ended:` in term.log) and is one event, at the time it started."""

from __future__ import annotations

import re

from logchat.ingest.events import Event, ParsedHeader
from logchat.ingest.formats._shared import ParserBase

_START = re.compile(r"(?:Start-Date|Log started): (\d{4})-(\d\d)-(\d\d) +(\d{1,2}):(\d\d):(\d\d)\s*$")
_STARTS = ("Start-Date: ", "Log started: ")


def is_apt_log(lines: list[str]) -> bool:
    """A sample that opens an apt entry and has its other lines: most of an entry's lines are no
    header, so no share of accepted lines would tell it."""
    return (bool(lines) and lines[0].startswith(_STARTS) and _START.match(lines[0]) is not None
            and any(line.startswith(("Commandline: ", "End-Date: ", "Log ended: ")) for line in lines))


class AptHistoryParser(ParserBase):
    """The message is the entry without its date lines, so it opens with the command that ran
    (`Commandline: apt-get install -y redis-server`); an entry with an `Error:` line is an ERROR."""

    name = "apt_history"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        if not line.startswith(_STARTS):
            return None
        match = _START.match(line)
        if match is None:
            return None
        yyyy, mo, dd, hh, mi, ss = match.groups()
        ts = self.ctx.local(int(yyyy), int(mo), int(dd), int(hh), int(mi), int(ss))
        return ParsedHeader(ts, "INFO", None, "apt", None, line)

    @staticmethod
    def finish_event(event: Event) -> None:
        lines = event.message.split("\n")
        if not _START.match(lines[0]):
            return
        body = [line for line in lines[1:] if line and not line.startswith(("End-Date: ", "Log ended: "))]
        if body:
            event.message = "\n".join(body)
        if any(line.startswith("Error: ") for line in body):
            event.level = "ERROR"
