"""A level written in capitals as logs print it ("how many SEVERE events?") means the lines that print that
word, and that level only: BGL prints ERROR and SEVERE (both stored as ERROR) and FATAL (CRITICAL). In lower
case, "errors" still means error or worse. A log that prints its levels otherwise (Android's "W") is counted
by the level, with a notice. Counts are checked against the raw loghub samples, read here with regular
expressions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from logchat.ingest.levels import normalize_level
from logchat.retrieval.question import _PRINTED_LEVELS
from logchat.services.ask import AskRequest, ask
from tests.services.loghub_stores import indexed_samples, raw_lines

# BGL: "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11 RAS KERNEL INFO"
BGL_LEVEL = r"^\S+ \d+ \S+ \S+ \S+ \S+ \S+ \S+ {} "
# Android: "03-17 16:13:38.811  1702  2395 D WindowManager: ..."
ANDROID_LEVEL = r"^\S+ \S+\s+\d+\s+\d+ {} "


@pytest.fixture
def bgl_and_android(settings: Any, loghub: Path) -> Any:
    with indexed_samples(settings, loghub, ("BGL", "Android")) as store:
        yield store, settings


def _ask(stores: Any, question: str, source: str) -> dict[str, Any]:
    store, settings = stores
    return ask(store, settings, AskRequest(question, use_llm=False, sources=[source])).to_json()


def test_a_printed_level_counts_the_lines_that_print_it(bgl_and_android: Any, loghub: Path) -> None:
    severe = raw_lines(loghub, "BGL", BGL_LEVEL.format("SEVERE"))
    error = raw_lines(loghub, "BGL", BGL_LEVEL.format("ERROR"))
    fatal = raw_lines(loghub, "BGL", BGL_LEVEL.format("FATAL"))
    assert severe and error and fatal
    result = _ask(bgl_and_android, "how many SEVERE events were there?", "BGL")
    assert result["matched"] == len(severe)
    assert result["plan"]["filters"]["levels"] == ["ERROR"]
    assert result["plan"]["filters"]["level_words"] == ["SEVERE"]
    assert result["answer"].startswith(f"There were {len(severe)} matching events")
    assert _ask(bgl_and_android, "how many ERROR events?", "BGL")["matched"] == len(error)
    assert _ask(bgl_and_android, "how many FATAL events?", "BGL")["matched"] == len(fatal)


def test_the_first_printed_level_is_the_first_line_that_prints_it(bgl_and_android: Any, loghub: Path) -> None:
    first = raw_lines(loghub, "BGL", BGL_LEVEL.format("SEVERE"))[0]
    result = _ask(bgl_and_android, "when was the first SEVERE event?", "BGL")
    assert result["evidence"][0]["text"] == first.strip()


def test_errors_in_lower_case_are_still_error_or_worse(bgl_and_android: Any, loghub: Path) -> None:
    worse = [line for word in ("ERROR", "SEVERE", "FATAL", "FAILURE")
             for line in raw_lines(loghub, "BGL", BGL_LEVEL.format(word))]  # fmt: skip
    result = _ask(bgl_and_android, "how many errors?", "BGL")
    assert result["matched"] == len(worse)
    assert result["plan"]["filters"]["level_words"] == []


def test_a_log_that_prints_the_level_otherwise_is_counted_by_the_level(bgl_and_android: Any, loghub: Path) -> None:
    warnings = raw_lines(loghub, "Android", ANDROID_LEVEL.format("W"))
    assert warnings
    result = _ask(bgl_and_android, "how many WARNING events?", "Android")
    assert result["matched"] == len(warnings)
    assert any("prints WARNING" in notice for notice in result["notices"])


def test_printed_levels_are_stored_as_ingest_normalises_them() -> None:
    for word, level in _PRINTED_LEVELS.items():
        assert normalize_level(word) == level, word
