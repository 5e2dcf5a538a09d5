"""Formats defined in logchat.toml (`[[formats]]`): a regular expression with named groups, a timestamp
pattern, a level map and a multi-line rule. They are tried before the built-in formats.

Groups with these names fill the event: `ts`, `level`, `host`, `process`, `pid`, `message`; any other
named group is kept as a `name=value` field after the message, so it stays searchable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase, parse_pid
from logchat.ingest.levels import normalize_level
from logchat.ingest.stamps import StampFinder
from logchat.ingest.timestamps import TimeContext, epoch_to_utc

HEADER_GROUPS = frozenset({"ts", "level", "host", "process", "pid", "message"})
# Timestamp patterns that name a built-in way instead of a strptime pattern.
BUILT_IN_TIMESTAMPS = ("auto", "iso8601", "epoch")
MULTILINE_RULES = ("continuation", "none")


@dataclass(frozen=True)
class UserFormat:
    """One `[[formats]]` table, already validated (see logchat.config.FormatSettings)."""

    name: str
    pattern: str
    timestamp: str = "auto"
    levels: dict[str, str] = field(default_factory=dict)
    multiline: str = "continuation"
    example: str = ""


_user_formats: dict[str, UserFormat] = {}


def set_user_formats(formats: list[UserFormat]) -> None:
    """Make the configured formats known to detection and `make_parser` (replacing earlier ones)."""
    _user_formats.clear()
    for user_format in formats:
        _user_formats[user_format.name] = user_format


def user_formats() -> dict[str, UserFormat]:
    return dict(_user_formats)


def user_format_of(name: str) -> UserFormat | None:
    return _user_formats.get(name)


def from_settings(items: list[Any]) -> list[UserFormat]:
    """UserFormat objects from the settings' `formats` entries (pydantic models with the same fields)."""
    return [UserFormat(name=item.name, pattern=item.pattern, timestamp=item.timestamp, levels=dict(item.levels),
                       multiline=item.multiline, example=item.example) for item in items]


class UserFormatParser(ParserBase):
    """Parses lines with one user-defined format."""

    __slots__ = ("_extra", "_finder", "_format", "_levels", "_regex", "name")

    def __init__(self, user_format: UserFormat, ctx: TimeContext) -> None:
        super().__init__(ctx)
        self.name = user_format.name
        self._format = user_format
        self._regex = re.compile(user_format.pattern, re.DOTALL)
        self._extra = tuple(name for name in self._regex.groupindex if name not in HEADER_GROUPS)
        self._levels = {**{key.lower(): value for key, value in user_format.levels.items()}, **user_format.levels}
        self._finder = StampFinder(ctx) if user_format.timestamp == "auto" else None

    def matches(self, line: str) -> bool:
        """Whether the line has this format's header (what detection counts)."""
        return self._regex.match(line) is not None

    def parse(self, line: str) -> ParsedHeader | None:
        match = self._regex.match(line)
        if match is None:
            if self._format.multiline == "none" and line.strip():
                return ParsedHeader(None, None, None, None, None, line)
            return None
        groups = match.groupdict()
        message = groups.get("message")
        if message is None:
            message = line[match.end():].strip() if match.end() < len(line) else line
        extras = [f"{name}={groups[name]}" for name in self._extra if groups.get(name)]
        if extras:
            message = f"{message} {' '.join(extras)}" if message else " ".join(extras)
        stamp = groups.get("ts")
        ts = self._time(stamp) if stamp else None
        level_text = groups.get("level")
        level = None
        if level_text:
            level = self._levels.get(level_text) or self._levels.get(level_text.lower()) or normalize_level(level_text)
        return ParsedHeader(ts, level, groups.get("host") or None, groups.get("process") or None,
                            parse_pid(groups.get("pid")), message)

    def _time(self, stamp: str) -> datetime | None:
        if stamp == self._last_stamp:
            return self._last_ts
        ts = stamp_to_utc(self._format.timestamp, stamp, self.ctx, self._finder)
        self._last_stamp = stamp
        self._last_ts = ts
        return ts


def stamp_to_utc(pattern: str, stamp: str, ctx: TimeContext, finder: StampFinder | None = None) -> datetime | None:
    """A timestamp text read with a strptime pattern or one of BUILT_IN_TIMESTAMPS -> UTC (None if it does not fit)."""
    if pattern == "auto":
        found = (finder or StampFinder(ctx)).find(stamp)
        return found.ts if found is not None else None
    if pattern == "iso8601":
        return ctx.iso(stamp.strip())
    if pattern == "epoch":
        text = stamp.strip()
        try:
            return epoch_to_utc(float(text) if "." in text else int(text))
        except ValueError:
            return None
    try:
        parsed = datetime.strptime(stamp, pattern)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    if "%Y" not in pattern and "%y" not in pattern:  # a yearless pattern: infer the year as for syslog
        year = ctx.year_for(parsed.month, parsed.day)
        if year is None:
            return None
        parsed = parsed.replace(year=year)
    return ctx.localize(parsed)
