"""logfmt: `time=2024-05-16T19:31:19Z level=info msg="request done" status=200` (Go's log/slog text
handler, logrus, Grafana, Heroku). Well-known keys fill the event; the other pairs stay in the message
as `key=value`, so they remain searchable."""

from __future__ import annotations

import re
from datetime import datetime

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase, parse_pid
from logchat.ingest.levels import normalize_level
from logchat.ingest.stamps import StampFinder
from logchat.ingest.timestamps import TimeContext, epoch_to_utc

_PAIR = re.compile(r'([A-Za-z_@][\w.@-]*)=("[^"\\]*(?:\\.[^"\\]*)*"|[^\s"]*)')
_FIRST = re.compile(r'[A-Za-z_@][\w.@-]*=(?:"|[^\s"=]*(?:\s|$))')
_TIME_KEYS = ("time", "ts", "t", "timestamp", "@timestamp", "date", "datetime")
_LEVEL_KEYS = ("level", "lvl", "severity", "loglevel")
_MESSAGE_KEYS = ("msg", "message")
_PROCESS_KEYS = ("logger", "component", "module", "service", "app", "caller", "source")
_MIN_PAIRS = 2


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


class LogfmtParser(ParserBase):
    """A line of key=value pairs (at least two, from the start of the line)."""

    name = "logfmt"
    __slots__ = ("_finder",)

    def __init__(self, ctx: TimeContext) -> None:
        super().__init__(ctx)
        self._finder = StampFinder(ctx)

    def parse(self, line: str) -> ParsedHeader | None:
        if _FIRST.match(line) is None:
            return None
        pairs = _PAIR.findall(line)
        if len(pairs) < _MIN_PAIRS:
            return None
        fields: dict[str, str] = {}
        for key, value in pairs:
            fields.setdefault(key, _unquote(value))  # the first of a repeated key is the header's
        used: set[str] = set()
        ts = None
        for key in _TIME_KEYS:
            if key in fields:
                used.add(key)
                ts = self._time(fields[key])
                break
        if ts is None and fields.get("msg", "").startswith("audit("):  # auditd: msg=audit(1796303761.123:812):
            ts = self._time(fields["msg"][6:].split(":", 1)[0])
        level = None
        for key in _LEVEL_KEYS:
            if key in fields:
                used.add(key)
                level = normalize_level(fields[key])
                break
        message = ""
        for key in _MESSAGE_KEYS:
            if key in fields:
                used.add(key)
                message = fields[key]
                break
        process = None
        for key in _PROCESS_KEYS:
            if fields.get(key):
                used.add(key)
                process = fields[key]
                break
        host = fields.get("host") or fields.get("hostname") or None
        pid = parse_pid(fields.get("pid"))
        used.update(("host", "hostname", "pid"))
        rest = " ".join(f"{key}={value}" for key, value in pairs if key not in used)
        if rest:
            message = f"{message} {rest}" if message else rest
        return ParsedHeader(ts, level, host, process, pid, message)

    def _time(self, value: str) -> datetime | None:
        if value == self._last_stamp:
            return self._last_ts
        if value.replace(".", "", 1).isdecimal():
            ts = epoch_to_utc(float(value) if "." in value else int(value))
        else:
            ts = self.ctx.iso(value)
            if ts is None:
                found = self._finder.find(value)
                ts = found.ts if found is not None else None
        self._last_stamp = value
        self._last_ts = ts
        return ts
