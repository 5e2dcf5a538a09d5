"""Severity words of many systems map onto the seven normalised levels."""

from __future__ import annotations

import pytest

from logchat.ingest.events import LEVELS
from logchat.ingest.levels import level_from_syslog_priority, level_from_syslog_severity, normalize_level


@pytest.mark.parametrize(
    ("token", "level"),
    [
        # Android logcat letters
        ("V", "TRACE"),
        ("D", "DEBUG"),
        ("I", "INFO"),
        ("W", "WARNING"),
        ("E", "ERROR"),
        ("F", "CRITICAL"),
        # words, any case
        ("trace", "TRACE"),
        ("verbose", "TRACE"),
        ("debug", "DEBUG"),
        ("dbg", "DEBUG"),
        ("info", "INFO"),
        ("Info", "INFO"),
        ("information", "INFO"),
        ("Information", "INFO"),
        ("notice", "NOTICE"),
        ("warn", "WARNING"),
        ("WARN", "WARNING"),
        ("warning", "WARNING"),
        ("err", "ERROR"),
        ("error", "ERROR"),
        ("ErRoR", "ERROR"),
        ("severe", "ERROR"),
        ("SEVERE", "ERROR"),
        ("fatal", "CRITICAL"),
        ("FATAL", "CRITICAL"),
        ("emerg", "CRITICAL"),
        ("emergency", "CRITICAL"),
        ("alert", "CRITICAL"),
        ("crit", "CRITICAL"),
        ("critical", "CRITICAL"),
        ("panic", "CRITICAL"),
        ("failure", "CRITICAL"),
        ("FAILURE", "CRITICAL"),
        ("trace3", "TRACE"),  # Apache 2.4
    ],
)
def test_normalize_level_maps_known_words(token: str, level: str) -> None:
    assert normalize_level(token) == level


@pytest.mark.parametrize("token", ["", "combo", "hello", "infos", "[INFO]", "X", "42"])
def test_normalize_level_rejects_other_tokens(token: str) -> None:
    assert normalize_level(token) is None


def test_every_result_is_a_normalised_level() -> None:
    words = ["v", "d", "i", "w", "e", "f", "fine", "finest", "config", "note", "wrn", "inf", "ftl", "trc"]
    assert {normalize_level(word) for word in words} <= set(LEVELS)


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        (0, "CRITICAL"),
        (1, "CRITICAL"),
        (2, "CRITICAL"),
        (3, "ERROR"),
        (4, "WARNING"),
        (5, "NOTICE"),
        (6, "INFO"),
        (7, "DEBUG"),
        (8, None),
        (-1, None),
    ],
)
def test_syslog_severity(severity: int, level: str | None) -> None:
    assert level_from_syslog_severity(severity) == level


def test_syslog_priority_uses_the_low_three_bits() -> None:
    assert level_from_syslog_priority(34) == "CRITICAL"  # auth.crit, RFC 5424's example
    assert level_from_syslog_priority(165) == "NOTICE"  # local4.notice
    assert level_from_syslog_priority(13) == "NOTICE"  # user.notice, logger(1)'s default
    assert level_from_syslog_priority(192) is None
