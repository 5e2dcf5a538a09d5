"""Pieces several format parsers share: the parser protocol, syslog tags, level guessing."""

from __future__ import annotations

import re
from typing import Protocol

from logchat.ingest.events import ParsedHeader
from logchat.ingest.timestamps import TimeContext


class Parser(Protocol):
    """One log format. `parse` returns None for a line without this format's header: such a line
    is a continuation of the event before it (stack trace, wrapped message)."""

    name: str

    def parse(self, line: str) -> ParsedHeader | None: ...


class ParserBase:
    """Holds the file's TimeContext and a one-entry cache of the last timestamp text.

    Consecutive lines very often repeat the same stamp (bursts within one second or millisecond),
    so comparing strings first skips integer conversion and datetime construction.
    """

    name = ""
    __slots__ = ("_last_stamp", "_last_ts", "ctx")

    def __init__(self, ctx: TimeContext) -> None:
        self.ctx = ctx
        self._last_stamp: str | None = None
        self._last_ts = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


# An RFC 3164 TAG as found in practice: "sshd[24200]", "sshd(pam_unix)[19939]", "kernel",
# "com.apple.CDScheduler[43]", "Microsoft Word[14463]" (one inner space), "sandboxd[129] ([31211])".
SYSLOG_TAG = r"(?:([^\s\[:]+(?: [^\s\[:]+)?)(?:\[(\d+)\])?(?: \([^)]*\))?: )?"
_SYSLOG_TAG_RE = re.compile(SYSLOG_TAG + r"(.*)", re.DOTALL)


# Programs that print their own severity word first (OpenSSH's error()/fatal(), many daemons).
_MESSAGE_PREFIX_LEVELS: dict[str, str] = {
    "error:": "ERROR",
    "fatal:": "CRITICAL",
    "warning:": "WARNING",
    "Error:": "ERROR",
    "Fatal:": "CRITICAL",
    "Warning:": "WARNING",
    "ERROR:": "ERROR",
    "FATAL:": "CRITICAL",
    "WARNING:": "WARNING",
    "panic:": "CRITICAL",
}
_MESSAGE_PREFIXES = tuple(_MESSAGE_PREFIX_LEVELS)
# All-capitals severity words that open a message: "api[5269]: ERROR payment declined".
_CAPITAL_LEVELS = {
    "TRACE": "TRACE", "DEBUG": "DEBUG", "INFO": "INFO", "NOTICE": "NOTICE", "WARN": "WARNING", "WARNING": "WARNING",
    "ERROR": "ERROR", "ERR": "ERROR", "CRIT": "CRITICAL", "CRITICAL": "CRITICAL", "FATAL": "CRITICAL",
    "EMERG": "CRITICAL", "PANIC": "CRITICAL", "INF": "INFO", "WRN": "WARNING", "DBG": "DEBUG",
    "ERRO": "ERROR", "FTL": "CRITICAL", "TRC": "TRACE",
}


def level_from_message_prefix(message: str) -> str | None:
    """'error: PAM: ...' -> 'ERROR', 'ERROR payment declined' -> 'ERROR', '[WARN] disk 91%' -> 'WARNING'.

    Only an explicit leading severity: a word followed by ':', an all-capitals word, or a bracketed one
    ("Error" or "warning" opening a sentence is prose)."""
    if message.startswith(_MESSAGE_PREFIXES):
        return _MESSAGE_PREFIX_LEVELS[message[: message.index(":") + 1]]
    # "ERROR", "[WARN]", "<INFO>" but not "Failed" or "[ 12.3]": the first two cased characters are capitals.
    if message[:2].isupper():
        return _CAPITAL_LEVELS.get(message[:14].split(" ", 1)[0].strip("[]<>:"))
    return None


# Words that, standing alone near the start of a line, are severities and rarely anything else.
# Single letters and words like "alert" or "failure" are left out: in free text they are prose.
_LEVEL_WORDS: dict[str, str] = {}
for _word, _level in {
    "trace": "TRACE",
    "verbose": "TRACE",
    "debug": "DEBUG",
    "dbg": "DEBUG",
    "info": "INFO",
    "information": "INFO",
    "notice": "NOTICE",
    "warn": "WARNING",
    "warning": "WARNING",
    "err": "ERROR",
    "error": "ERROR",
    "severe": "ERROR",
    "crit": "CRITICAL",
    "critical": "CRITICAL",
    "fatal": "CRITICAL",
    "emerg": "CRITICAL",
    "emergency": "CRITICAL",
    "panic": "CRITICAL",
}.items():
    _LEVEL_WORDS[_word] = _level
    _LEVEL_WORDS[_word.upper()] = _level
    _LEVEL_WORDS[_word.capitalize()] = _level
del _word, _level

_TOKEN_PUNCTUATION = "[]()<>{}|:,;=-*#\"'"  # nosec B105  # characters that split tokens


def guess_level(text: str, max_tokens: int = 4) -> str | None:
    """The level named by one of the first few whitespace-separated tokens of `text`, if any."""
    for token in text[:80].split(None, max_tokens)[:max_tokens]:
        level = _LEVEL_WORDS.get(token)
        if level is None:
            level = _LEVEL_WORDS.get(token.strip(_TOKEN_PUNCTUATION))
        if level is not None:
            return level
    return None


def two_digit_year(yy: int) -> int:
    """POSIX strptime's %y rule: 69-99 -> 1969-1999, 00-68 -> 2000-2068."""
    return 1900 + yy if yy >= 69 else 2000 + yy


# Process ids are small; a longer digit run is damage or an attack, and would not fit the database's
# 64-bit integer (nor int() past 4,300 digits).
_MAX_PID_DIGITS = 18


def parse_pid(text: str | None) -> int | None:
    """A pid field as an int, or None when it is missing, not decimal, or too long to be a pid."""
    if not text or len(text) > _MAX_PID_DIGITS or not text.isdecimal():
        return None
    return int(text)


def pid_value(value: object) -> int | None:
    """A JSON pid (a number or a digit string) as an int in 0..10^18, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < 10**_MAX_PID_DIGITS else None
    return parse_pid(value) if isinstance(value, str) else None
