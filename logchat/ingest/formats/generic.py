"""Formats of last resort: lines that start with an ISO-8601-like timestamp, and anything else
(with a timestamp of any common shape near its start, or none)."""

from __future__ import annotations

import re

from logchat.ingest.events import Event, ParsedHeader
from logchat.ingest.formats._shared import ParserBase, guess_level
from logchat.ingest.formats.redis import REDIS_MARKS
from logchat.ingest.formats.sssd import sssd_level
from logchat.ingest.levels import level_from_syslog_priority, normalize_level
from logchat.ingest.stamps import StampFinder, strip_ansi
from logchat.ingest.timestamps import TimeContext

# "2024-01-01T12:00:00.123Z [INFO] msg", "[2024-01-01 12:00:00] ERROR msg", Go's log package
# "2009/11/10 23:00:00 msg", loguru's "2024-01-01 12:00:00.123 | INFO | mod:fn:1 - msg".
_ISO_LINE = re.compile(
    r"\[?(\d{4}([-/])\d\d[-/]\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d{1,9})?)?(?: ?Z| ?[+-]\d\d(?::?\d\d)?)?)\]?"
    r"[ \t]*(.*)",
    re.DOTALL,
)


class Iso8601Parser(ParserBase):
    """A leading ISO-8601 (or yyyy/mm/dd) timestamp; a level word among the next tokens counts."""

    name = "iso8601"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _ISO_LINE.match(line)
        if match is None:
            return None
        stamp, separator, message = match.groups()
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            text = stamp.replace("/", "-") if separator == "/" else stamp
            if text[-1] != " " and " " in text[16:]:  # "2026-12-03 13:16:09 +0100": the offset after a space
                text = text[:16] + text[16:].replace(" ", "")
            ts = self.ctx.iso(text)
            if ts is None:
                return None
            self._last_stamp = stamp
            self._last_ts = ts
        return ParsedHeader(ts, fallback_level("", message), None, None, None, message)


_CONTINUATION_STARTS = ("Caused by:", "at ", "... ", "Traceback (most recent call last)")

# Severity tokens that mean a level only in a header position (bracketed, or ending in ":"), as NATS
# "[INF]", MariaDB "[Note]", PostgreSQL "LOG:" write them; as plain words they are prose.
_HEADER_LEVELS = {"log": "INFO", "statement": None, "detail": None, "hint": None, "context": None}
_REDIS_ROLE = re.compile(r"\d+:[XCSM] $")
_PRI = re.compile(r"<(\d{1,3})>")
_SSSD_LEVEL = re.compile(r"\(0x([0-9a-fA-F]{4})\):?$")


_SEVERITY_NUMBER = re.compile(r"(?:Em|Al|Cr|Er|Wa|No|In|Db)\((\d{1,3})\)$")


def fallback_level(prefix: str, rest: str) -> str | None:
    """The level of a line of unknown format: a severity token before the timestamp ("I, [", "E "),
    a syslog "<PRI>", Redis's role mark, or a level word or bracketed code among the next tokens."""
    if prefix:
        if prefix[0] == "<" and (pri := _PRI.match(prefix)) is not None:
            return level_from_syslog_priority(int(pri.group(1)))
        if rest[:1] in REDIS_MARKS and rest[1:2] == " " and _REDIS_ROLE.search(prefix):
            return REDIS_MARKS[rest[0]]
        for token in prefix.split(None, 3)[:3]:
            bare = token.strip(_PUNCTUATION)
            if bare.isalpha() and (level := normalize_level(bare)) is not None:
                return level
    tokens = rest[:80].split(None, 4)[:4]
    if tokens:
        quick = _DECORATED_LEVELS.get(tokens[0])
        if quick is not None:
            return quick
    for token in tokens:
        bare = token.strip(_PUNCTUATION)
        if not bare:
            continue
        level = guess_level(bare, 1)
        if level is not None:
            return level
        if token[0] in "[<(" or token[-1] == ":" or "[" in bare or ":" in bare:
            level = _header_token_level(bare)
            if level is not None:
                return level
        if token[:3] == "(0x" and (mask := _SSSD_LEVEL.match(token)) is not None:
            return sssd_level(int(mask.group(1), 16))
        severity = _SEVERITY_NUMBER.match(token)
        if severity is not None:  # VMware's "In(14)", "Er(11)": a syslog priority
            return level_from_syslog_priority(int(severity.group(1)))
    return None


_PUNCTUATION = "[]()<>{}|:,;=-*#\"'"
# The common level tokens as written ("[INF]", "INFO", "[Note]", "ERROR:", "<warn>"): one dict lookup
# answers most lines before any token is taken apart.
_DECORATED_LEVELS: dict[str, str] = {}
for _word in ("trace", "debug", "dbg", "info", "inf", "notice", "note", "warn", "warning", "wrn", "error", "err",
              "eror", "crit", "critical", "fatal", "ftl", "emerg", "panic", "trc", "verbose"):
    _level = normalize_level(_word)
    if _level is None:  # pragma: no cover - every word above is a level
        continue
    for _spelling in (_word, _word.upper(), _word.capitalize()):
        for _decorated in (f"[{_spelling}]", f"{_spelling}:", f"<{_spelling}>", f"[{_spelling}]:"):
            _DECORATED_LEVELS[_decorated] = _level
        if guess_level(_spelling, 1) is not None:  # bare, only the words that are levels in prose position too
            _DECORATED_LEVELS[_spelling] = _level
del _word, _level, _spelling, _decorated
_TOKEN_PARTS = re.compile(r"[\[\]:]+")


def _header_token_level(bare: str) -> str | None:
    """'[Note]', 'LOG:', 'production.ERROR', '[info][gc]', 'INFO[0000]', 'DEBUG:certbot.main' -> a level."""
    for part in _TOKEN_PARTS.split(bare)[:2]:
        lowered = part.lower()
        if lowered in _HEADER_LEVELS:
            return _HEADER_LEVELS[lowered]
        level = normalize_level(part)
        if level is None and "." in part:  # Monolog's "production.ERROR:"
            level = normalize_level(part.rsplit(".", 1)[1])
        if level is not None:
            return level
    return None
_AFTER_STAMP = " \t]):|,;-"


class GenericParser(ParserBase):
    """Lines of no known format. A line with a timestamp near its start (any shape StampFinder
    knows) starts an event with that time; once a file has shown a timestamped line, lines without
    one continue the event before them, so multi-line events (stack traces, wrapped messages) stay
    whole. Before that, and in files without timestamps, every line is an event of its own.

    Unlike the other parsers it never rejects a line until it has seen a timestamp, so it also says
    separately which lines continue the event before them: indented lines, Java "at ..." /
    "Caused by:" / "... N more" lines and Python "Traceback" headers.
    """

    name = "generic"
    __slots__ = ("_finder", "_stamped")

    def __init__(self, ctx: TimeContext) -> None:
        super().__init__(ctx)
        self._finder = StampFinder(ctx)
        self._stamped = False

    def parse(self, line: str) -> ParsedHeader | None:
        if not line:
            return None
        if "\x1b" in line:
            line = strip_ansi(line)
        found = self._finder.find(line)
        if found is None:
            if self._stamped:
                return None
            return ParsedHeader(None, fallback_level("", line), None, None, None, line)
        self._stamped = True
        prefix = line[: found.start]
        after = line[found.end :]
        rest = after.lstrip(_AFTER_STAMP)
        message = f"{prefix.rstrip(' [(<')} {rest}".strip() if prefix.strip(" [(<\"'") else rest
        return ParsedHeader(found.ts, fallback_level(prefix, after.lstrip(" \t")), None, None, None, message)

    def header_of_own(self, line: str) -> ParsedHeader | None:
        """A header for a line that opens with a timestamp; None for any other line."""
        if "\x1b" in line:
            line = strip_ansi(line)
        found = self._finder.find(line, leading_only=True)
        if found is None:
            return None
        after = line[found.end :]
        level = fallback_level(line[: found.start], after.lstrip(" \t"))
        return ParsedHeader(found.ts, level, None, None, None, after.lstrip(_AFTER_STAMP))

    @staticmethod
    def is_continuation(line: str) -> bool:
        return line[:1] in (" ", "\t") or line.startswith(_CONTINUATION_STARTS)

    @staticmethod
    def finish_event(event: Event) -> None:
        """java.util.logging's default layout puts the level at the start of an event's second line
        ("Dec 3, 2026 1:18:40 PM org.apache.catalina.core.StandardWrapperValve invoke" / "SEVERE: ...")."""
        if event.level is None and event.line_end > event.line_no:
            second = event.raw.split("\n", 2)[1]
            word, colon, _ = second[:12].partition(":")
            if colon and word.isupper():
                event.level = normalize_level(word)
