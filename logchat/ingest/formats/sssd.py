"""SSSD debug logs: `(2026-12-03 13:16:01): [be[example.com]] [function] (0x0400): message` and the
older `(Thu Dec  3 13:16:01 2026) [sssd[be[example.com]]] [function] (0x0400): message`."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase
from logchat.ingest.timestamps import MONTHS, fraction_to_micros

_SSSD = re.compile(
    r"\((?:(\d{4})-(\d\d)-(\d\d) |[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) )(\d\d):(\d\d):(\d\d)(?:[.:](\d{1,6}))?"
    r"(?: (\d{4}))?\):? \[(.+?)\] \[(\w+)\] \(0x([0-9a-fA-F]{4})\): ?(.*)",
    re.DOTALL,
)


def sssd_level(mask: int) -> str:
    """SSSD's debug-level bits: 0x0010 fatal, 0x0020 critical, 0x0040 serious, 0x0080 minor failures,
    0x0100 and 0x0200 configuration and function data, 0x0400 and up tracing."""
    if mask <= 0x0020:
        return "CRITICAL"
    if mask <= 0x0040:
        return "ERROR"
    if mask <= 0x0080:
        return "WARNING"
    if mask <= 0x0200:
        return "INFO"
    return "DEBUG" if mask <= 0x0400 else "TRACE"


class SssdParser(ParserBase):
    """The component (`be[example.com]`, `nss`) is the process; the message opens with the function."""

    name = "sssd"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _SSSD.match(line)
        if match is None:
            return None
        (yyyy, mo, dd, mon, cday, hh, mi, ss, frac, cyear, component, function, mask,
         message) = match.groups()  # fmt: skip
        stamp = line[: match.end(10) if cyear else match.end(9) if frac else match.end(8)]
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            if yyyy is not None:
                year, month, day = int(yyyy), int(mo), int(dd)
            else:
                month_number = MONTHS.get(mon)
                if month_number is None or cyear is None:
                    return None
                year, month, day = int(cyear), month_number, int(cday)
            ts = self.ctx.local(year, month, day, int(hh), int(mi), int(ss), fraction_to_micros(frac))
            self._last_stamp = stamp
            self._last_ts = ts
        if component.startswith("sssd[") and component.endswith("]"):
            component = component[5:-1]
        return ParsedHeader(ts, sssd_level(int(mask, 16)), None, component, None, f"{function}: {message}")
