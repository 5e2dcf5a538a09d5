"""Severity words of many logging systems mapped onto the seven normalised levels in `events.LEVELS`."""

from __future__ import annotations

_WORDS: dict[str, str] = {
    # TRACE: below debug (Android "V" is VERBOSE, the lowest logcat priority).
    "trace": "TRACE",
    "trc": "TRACE",
    "verbose": "TRACE",
    "vrb": "TRACE",
    "finest": "TRACE",
    "finer": "TRACE",
    "v": "TRACE",
    # DEBUG
    "debug": "DEBUG",
    "dbg": "DEBUG",
    "fine": "DEBUG",
    "config": "DEBUG",  # java.util.logging puts CONFIG between FINE and INFO
    "d": "DEBUG",
    # INFO
    "info": "INFO",
    "inf": "INFO",
    "information": "INFO",
    "informational": "INFO",
    "i": "INFO",
    # NOTICE
    "notice": "NOTICE",
    "note": "NOTICE",
    # WARNING
    "warn": "WARNING",
    "warning": "WARNING",
    "wrn": "WARNING",
    "w": "WARNING",
    # ERROR
    "err": "ERROR",
    "error": "ERROR",
    "erro": "ERROR",
    "severe": "ERROR",  # java.util.logging's top level is used for ordinary errors
    "e": "ERROR",
    # CRITICAL
    "crit": "CRITICAL",
    "critical": "CRITICAL",
    "fatal": "CRITICAL",
    "ftl": "CRITICAL",
    "failure": "CRITICAL",  # BGL ranks FAILURE above FATAL
    "alert": "CRITICAL",
    "emerg": "CRITICAL",
    "emergency": "CRITICAL",
    "panic": "CRITICAL",
    "f": "CRITICAL",
}
# Apache 2.4 has trace1 .. trace8.
_WORDS.update({f"trace{n}": "TRACE" for n in range(1, 9)})

# Most tokens arrive in one of three spellings; looking those up directly avoids a str.lower() per line.
_LOOKUP: dict[str, str] = {}
for _word, _level in _WORDS.items():
    _LOOKUP[_word] = _level
    _LOOKUP[_word.upper()] = _level
    _LOOKUP[_word.capitalize()] = _level
del _word, _level

_SYSLOG_SEVERITY: tuple[str, ...] = (
    "CRITICAL",  # 0 emerg
    "CRITICAL",  # 1 alert
    "CRITICAL",  # 2 crit
    "ERROR",  # 3 err
    "WARNING",  # 4 warning
    "NOTICE",  # 5 notice
    "INFO",  # 6 info
    "DEBUG",  # 7 debug
)


def normalize_level(token: str) -> str | None:
    """Map a severity word ("warn", "E", "Information", "FATAL", ...) to one of LEVELS, or None.

    Case-insensitive. Only the token itself is considered: callers strip brackets or colons first.
    """
    level = _LOOKUP.get(token)
    if level is None and token:
        level = _WORDS.get(token.lower())
    return level


def level_from_syslog_severity(severity: int) -> str | None:
    """Map a syslog severity (0 emerg .. 7 debug) to one of LEVELS; None when out of range."""
    if 0 <= severity < len(_SYSLOG_SEVERITY):
        return _SYSLOG_SEVERITY[severity]
    return None


def level_from_syslog_priority(priority: int) -> str | None:
    """Map a syslog PRI value (facility * 8 + severity, as in "<34>") to one of LEVELS."""
    if 0 <= priority <= 191:
        return _SYSLOG_SEVERITY[priority & 7]
    return None
