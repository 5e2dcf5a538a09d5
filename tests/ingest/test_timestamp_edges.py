"""Timestamps at the edges of the calendar: a parser declines them, it never hangs or raises."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from adversarial import hang_guard

from logchat.ingest.formats import make_parser
from logchat.ingest.timestamps import TimeContext

REFERENCE = datetime(2026, 11, 4, tzinfo=UTC)


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"])
def test_iso_text_no_utc_datetime_can_hold_is_no_timestamp(text: str) -> None:
    # Found by the property tests: the offset pushed the moment past year 9999 or before year 1.
    assert TimeContext(reference=REFERENCE).iso(text) is None


@pytest.mark.parametrize(
    ("format_name", "line"),
    [
        ("json", '{"time": "9999-12-31T23:59:59-14:00", "msg": "x"}'),
        ("json", '{"time": "0001-01-01T00:00:00+14:00", "msg": "x"}'),
        ("rfc3164", "9999-12-31T23:59:59-12:00 web01 sshd[1]: x"),
    ],
)
def test_lines_with_such_stamps_parse_without_a_time(format_name: str, line: str) -> None:
    header = make_parser(format_name, TimeContext(reference=REFERENCE)).parse(line)
    assert header is None or header.ts is None


def test_a_leap_day_with_no_leap_year_left_is_declined_not_searched_for_forever() -> None:
    # A file dated in year 1 (a zeroed or forged mtime): the search for an earlier Feb 29 used to never end.
    parser = make_parser("rfc3164", TimeContext(reference=datetime(1, 3, 5, tzinfo=UTC)))
    with hang_guard("Feb 29 with reference year 1"):
        header = parser.parse("Feb 29 10:00:00 host app: leap")
    assert header is not None and header.ts is None
    assert parser.parse("Jan  1 10:00:00 host app: first").ts == datetime(1, 1, 1, 10, tzinfo=UTC)


def test_a_leap_day_still_goes_to_the_latest_leap_year() -> None:
    parser = make_parser("rfc3164", TimeContext(reference=datetime(2026, 11, 4, tzinfo=UTC)))
    assert parser.parse("Feb 29 10:00:00 host app: leap").ts == datetime(2024, 2, 29, 10, tzinfo=UTC)
