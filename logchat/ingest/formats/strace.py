"""strace output with times of day (`-t`, `-tt`) or epoch times (`-ttt`), with or without pids (`-f`)."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase, parse_pid
from logchat.ingest.timestamps import epoch_to_utc, fraction_to_micros

# "[pid  4121] 13:16:15.123456 read(...)", "4121  13:16:15.123456 read(...)", "1764767775.123456 read(...)";
# after the time: a system call, "<... read resumed>", "--- SIGCHLD ...", "+++ exited with 0 +++".
_STRACE = re.compile(
    r"(?:\[pid +(\d+)\] |(\d+) +)?(?:(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?|(\d{9,10}(?:\.\d{1,6})?)) "
    r"((?:[a-z_][a-z0-9_]*\(|<\.\.\. |--- |\+\+\+ ).*)",
    re.DOTALL,
)


class StraceParser(ParserBase):
    """A time of day is dated on the day of the file's last write (the day before when it would be
    later than that). A process killed by a signal is an ERROR; the system calls have no level."""

    name = "strace"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _STRACE.match(line)
        if match is None:
            return None
        bracketed, leading, hh, mi, ss, frac, epoch, message = match.groups()
        stamp = line[match.start(3) : match.end(6 if frac else 5)] if epoch is None else epoch
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            if epoch is not None:
                ts = epoch_to_utc(float(epoch))
            else:
                hour, minute, second, micros = int(hh), int(mi), int(ss), fraction_to_micros(frac)
                ts = self.ctx.time_of_day(lambda y, mo, d: self.ctx.local(y, mo, d, hour, minute, second, micros))
            self._last_stamp = stamp
            self._last_ts = ts
        level = "ERROR" if message.startswith("+++ killed by") else None
        return ParsedHeader(ts, level, None, None, parse_pid(bracketed or leading), message)
