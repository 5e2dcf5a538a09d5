"""Android logcat output: `threadtime` (the default of `adb logcat`) and `time` layouts."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase, parse_pid

_PRIORITIES = {
    "V": "TRACE",
    "D": "DEBUG",
    "I": "INFO",
    "W": "WARNING",
    "E": "ERROR",
    "F": "CRITICAL",
    "A": "CRITICAL",  # assert
}

# threadtime: "03-17 16:13:38.811  1702  2395 D WindowManager: msg" ("-v year" adds "2024-").
# The tag is padded with spaces to 8 characters before its colon.
_THREADTIME = re.compile(
    r"((?:(\d{4})-)?(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})) +(\d+) +\d+ ([VDIWEFA]) (?:(.*?) *: )?(.*)",
    re.DOTALL,
)
# time: "03-17 16:13:38.811 D/WindowManager( 1702): msg"
_TIME = re.compile(
    r"((?:(\d{4})-)?(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})) ([VDIWEFA])/(.*?)\( *(\d+)\): ?(.*)",
    re.DOTALL,
)


class LogcatParser(ParserBase):
    """logcat lines; the tag is the process, the pid column the pid. Yearless unless `-v year`."""

    name = "android"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _THREADTIME.match(line)
        if match is not None:
            stamp, yyyy, mo, dd, hh, mi, ss, ms, pid, priority, tag, message = match.groups()
        else:
            match = _TIME.match(line)
            if match is None:
                return None
            stamp, yyyy, mo, dd, hh, mi, ss, ms, priority, tag, pid, message = match.groups()
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            if yyyy:
                ts = self.ctx.local(int(yyyy), int(mo), int(dd), int(hh), int(mi), int(ss), int(ms) * 1000)
            else:
                ts = self.ctx.yearless(int(mo), int(dd), int(hh), int(mi), int(ss), int(ms) * 1000)
            self._last_stamp = stamp
            self._last_ts = ts
        return ParsedHeader(ts, _PRIORITIES[priority], None, tag or None, parse_pid(pid), message)


# brief (`adb logcat -v brief`, older devices' default): "D/WindowManager( 1702): msg" - no time at all.
_BRIEF = re.compile(r"([VDIWEFA])/([^(]*?) *\( *(\d+)\): ?(.*)", re.DOTALL)


class LogcatBriefParser(ParserBase):
    """Logcat's `brief` layout: priority, tag and pid; these lines carry no time."""

    name = "android_brief"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _BRIEF.match(line)
        if match is None:
            return None
        priority, tag, pid, message = match.groups()
        return ParsedHeader(None, _PRIORITIES[priority], None, tag or None, parse_pid(pid), message)
