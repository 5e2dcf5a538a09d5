"""Time phrases resolved against a fixed now (Wednesday 2026-11-04 09:30 UTC), in UTC and in Berlin (UTC+1)."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from adversarial import hang_guard

from logchat.errors import InvalidTimeRange, UsageError
from logchat.retrieval.timerange import TimeRange, find_time_range, parse_time_point

NOW = datetime(2026, 11, 4, 9, 30, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
REPO_ROOT = Path(__file__).resolve().parents[2]


def utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


# (question, zone, expected since, expected until, phrase removed) — times in UTC.
CASES = [
    # last night: previous evening 18:00 -> today 06:00 local
    ("why did sshd reject logins last night?", UTC, "2026-11-03T18:00", "2026-11-04T06:00", "last night"),
    ("why did sshd reject logins last night?", BERLIN, "2026-11-03T17:00", "2026-11-04T05:00", "last night"),
    ("errors yesterday", UTC, "2026-11-03T00:00", "2026-11-04T00:00", "yesterday"),
    ("errors yesterday", BERLIN, "2026-11-02T23:00", "2026-11-03T23:00", "yesterday"),
    # today and this morning stop at now
    ("errors today", UTC, "2026-11-04T00:00", "2026-11-04T09:30", "today"),
    ("today's errors", BERLIN, "2026-11-03T23:00", "2026-11-04T09:30", "today's"),
    ("what broke this morning", UTC, "2026-11-04T06:00", "2026-11-04T09:30", "this morning"),
    ("what broke this morning", BERLIN, "2026-11-04T05:00", "2026-11-04T09:30", "this morning"),
    ("yesterday afternoon", UTC, "2026-11-03T12:00", "2026-11-03T18:00", "yesterday afternoon"),
    # since 10:00: 10:00 UTC is still ahead of 09:30 UTC -> yesterday; 10:00 Berlin (09:00 UTC) has passed
    ("502s since 10:00?", UTC, "2026-11-03T10:00", "2026-11-04T09:30", "since 10:00"),
    ("502s since 10:00?", BERLIN, "2026-11-04T09:00", "2026-11-04T09:30", "since 10:00"),
    ("since 9am", UTC, "2026-11-04T09:00", "2026-11-04T09:30", "since 9am"),
    # between: today, or yesterday when still ahead; the second time may cross midnight
    ("between 2am and 3am", UTC, "2026-11-04T02:00", "2026-11-04T03:00", "between 2am and 3am"),
    ("between 2am and 3am", BERLIN, "2026-11-04T01:00", "2026-11-04T02:00", "between 2am and 3am"),
    ("between 11am and noon", BERLIN, "2026-11-03T10:00", "2026-11-03T11:00", "between 11am and noon"),
    ("between 11pm and 1am", UTC, "2026-11-03T23:00", "2026-11-04T01:00", "between 11pm and 1am"),
    ("on web-03 between 2am and 3am yesterday?", UTC, "2026-11-03T02:00", "2026-11-03T03:00",
     "between 2am and 3am yesterday"),
    ("on web-03 between 2am and 3am yesterday?", BERLIN, "2026-11-03T01:00", "2026-11-03T02:00",
     "between 2am and 3am yesterday"),
    ("yesterday between 2:30 and 3:15", UTC, "2026-11-03T02:30", "2026-11-03T03:15",
     "yesterday between 2:30 and 3:15"),
    # rolling windows end at now
    ("errors in the last 15 minutes", UTC, "2026-11-04T09:15", "2026-11-04T09:30", "in the last 15 minutes"),
    ("last 2 hours", BERLIN, "2026-11-04T07:30", "2026-11-04T09:30", "last 2 hours"),
    ("errors in the last hour", UTC, "2026-11-04T08:30", "2026-11-04T09:30", "in the last hour"),
    ("logins over the past week", UTC, "2026-10-28T09:30", "2026-11-04T09:30", "over the past week"),
    ("past 24h", UTC, "2026-11-03T09:30", "2026-11-04T09:30", "past 24h"),
    ("last month", UTC, "2026-10-04T09:30", "2026-11-04T09:30", "last month"),
    ("this week", UTC, "2026-11-02T00:00", "2026-11-04T09:30", "this week"),
    # whole days; a month and day without a year is the latest one not after now
    ("what happened on Nov 3", UTC, "2026-11-03T00:00", "2026-11-04T00:00", "on Nov 3"),
    ("what happened on Nov 3", BERLIN, "2026-11-02T23:00", "2026-11-03T23:00", "on Nov 3"),
    ("what happened on November 5th", UTC, "2025-11-05T00:00", "2025-11-06T00:00", "on November 5th"),
    ("on 3 Nov 2025", UTC, "2025-11-03T00:00", "2025-11-04T00:00", "on 3 Nov 2025"),
    ("on 2026-11-03", UTC, "2026-11-03T00:00", "2026-11-04T00:00", "on 2026-11-03"),
    ("on 2026-11-03", BERLIN, "2026-11-02T23:00", "2026-11-03T23:00", "on 2026-11-03"),
    ("on monday", UTC, "2026-11-02T00:00", "2026-11-03T00:00", "on monday"),
    ("3 days ago", UTC, "2026-11-01T00:00", "2026-11-02T00:00", "3 days ago"),
    ("in October", UTC, "2026-10-01T00:00", "2026-11-01T00:00", "in October"),
    # ISO datetimes: naive ones are local, explicit offsets are honoured
    ("since 2026-11-02T06:00:00Z", BERLIN, "2026-11-02T06:00", "2026-11-04T09:30", "since 2026-11-02T06:00:00Z"),
    ("since 2026-11-02 06:00", BERLIN, "2026-11-02T05:00", "2026-11-04T09:30", "since 2026-11-02 06:00"),
    ("after 2026-11-02T06:00+05:00", UTC, "2026-11-02T01:00", "2026-11-04T09:30", "after 2026-11-02T06:00+05:00"),
    # from .. to: a final day is included, a final clock time is not
    ("from 10:00 to 11:00", UTC, "2026-11-03T10:00", "2026-11-03T11:00", "from 10:00 to 11:00"),
    ("from Nov 1 to Nov 3", UTC, "2026-11-01T00:00", "2026-11-04T00:00", "from Nov 1 to Nov 3"),
    ("from 2026-11-03 10:00 to 12:00", BERLIN, "2026-11-03T09:00", "2026-11-03T11:00",
     "from 2026-11-03 10:00 to 12:00"),
    ("since yesterday 22:00 until 01:30", UTC, "2026-11-03T22:00", "2026-11-04T01:30",
     "since yesterday 22:00 until 01:30"),
    # open ends
    ("after Nov 2", UTC, "2026-11-03T00:00", "2026-11-04T09:30", "after Nov 2"),
    ("before 2026-11-03", UTC, None, "2026-11-03T00:00", "before 2026-11-03"),
    ("until Nov 3", UTC, None, "2026-11-04T00:00", "until Nov 3"),
    ("before 14:05", UTC, None, "2026-11-03T14:05", "before 14:05"),
    ("since yesterday", BERLIN, "2026-11-02T23:00", "2026-11-04T09:30", "since yesterday"),
    ("since last tuesday at noon", UTC, "2026-11-03T12:00", "2026-11-04T09:30", "since last tuesday at noon"),
    ("since 2 hours ago", UTC, "2026-11-04T07:30", "2026-11-04T09:30", "since 2 hours ago"),
    ("until 2 hours ago", BERLIN, None, "2026-11-04T07:30", "until 2 hours ago"),
    # at: that minute (or hour, or second)
    ("what happened at 14:05", UTC, "2026-11-03T14:05", "2026-11-03T14:06", "at 14:05"),
    ("what happened at 14:05", BERLIN, "2026-11-03T13:05", "2026-11-03T13:06", "at 14:05"),
    ("at 9:15", UTC, "2026-11-04T09:15", "2026-11-04T09:16", "at 9:15"),
    ("at 2pm", UTC, "2026-11-03T14:00", "2026-11-03T15:00", "at 2pm"),
    ("at 08:00:05 today", UTC, "2026-11-04T08:00:05", "2026-11-04T08:00:06", "at 08:00:05 today"),
    # phrasings only dateparser knows
    ("since a fortnight ago", UTC, "2026-10-21T09:30", "2026-11-04T09:30", "since a fortnight ago"),
    ("errors on 02/11/2026", UTC, "2026-02-11T00:00", "2026-02-12T00:00", "on 02/11/2026"),
]  # fmt: skip


@pytest.mark.parametrize(("question", "zone", "since", "until", "phrase"), CASES)
def test_find_time_range(question: str, zone, since: str | None, until: str | None, phrase: str) -> None:
    found, rest = find_time_range(question, now=NOW, tz=zone)
    assert found == TimeRange(since=utc(since), until=utc(until), phrase=phrase)
    assert phrase not in rest
    assert found.since is None or found.since.tzinfo is UTC


def test_phrase_is_removed_and_punctuation_kept() -> None:
    found, rest = find_time_range("what happened on web-03 between 2am and 3am yesterday?", now=NOW, tz=UTC)
    assert found is not None
    assert rest == "what happened on web-03?"


@pytest.mark.parametrize(
    "question",
    [
        "how many failed password attempts for root from 183.62.140.253?",
        "and which IPs were involved?",
        "why may logins fail for blk_-1608999687919862906",
        "errors since the deploy",
        "returned 502 from 10.0.0.1 port 2222 version 2.10.3",
        "last time the disk filled up",
    ],
)
def test_questions_without_time_are_left_alone(question: str) -> None:
    assert find_time_range(question, now=NOW, tz=BERLIN) == (None, question)


def test_days_follow_the_wall_clock_across_a_dst_change() -> None:
    # Berlin left summer time at 2026-10-25 03:00 local: that day lasts 25 hours.
    now = datetime(2026, 10, 25, 12, 0, tzinfo=UTC)
    yesterday, _ = find_time_range("yesterday", now=now, tz=BERLIN)
    today, _ = find_time_range("today", now=now, tz=BERLIN)
    night, _ = find_time_range("last night", now=now, tz=BERLIN)
    recent, _ = find_time_range("last 2 hours", now=now, tz=BERLIN)
    assert (yesterday.since, yesterday.until) == (utc("2026-10-23T22:00"), utc("2026-10-24T22:00"))
    assert (today.since, today.until) == (utc("2026-10-24T22:00"), now)
    assert (night.since, night.until) == (utc("2026-10-24T16:00"), utc("2026-10-25T05:00"))
    assert recent.since == utc("2026-10-25T10:00")


def test_feb_29_without_a_year_is_the_latest_leap_day() -> None:
    found, _ = find_time_range("on Feb 29", now=NOW, tz=UTC)
    assert found.since == utc("2024-02-29T00:00")


@pytest.mark.parametrize("question", ["on Feb 30 the disk filled", "errors since Feb 30"])
def test_impossible_date_is_not_a_range(question: str) -> None:
    assert find_time_range(question, now=NOW, tz=UTC) == (None, question)


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        find_time_range("yesterday", now=datetime(2026, 11, 4, 9, 30), tz=UTC)


POINTS = [
    ("2 hours ago", BERLIN, "2026-11-04T07:30"),
    ("2026-11-02 06:00", BERLIN, "2026-11-02T05:00"),
    ("2026-11-02T06:00Z", BERLIN, "2026-11-02T06:00"),
    ("2026-11-02T06:00:00.250+05:00", UTC, "2026-11-02T01:00:00.250"),
    ("2026-11-02", BERLIN, "2026-11-01T23:00"),
    ("yesterday", UTC, "2026-11-03T00:00"),
    ("yesterday", BERLIN, "2026-11-02T23:00"),
    ("last night", UTC, "2026-11-03T18:00"),
    ("10:00", UTC, "2026-11-03T10:00"),
    ("10:00", BERLIN, "2026-11-04T09:00"),
    ("Nov 3 14:00", UTC, "2026-11-03T14:00"),
    ("2h", UTC, "2026-11-04T07:30"),
    ("-3d", UTC, "2026-11-01T09:30"),
    ("90 min", UTC, "2026-11-04T08:00"),
    ("last 15 minutes", UTC, "2026-11-04T09:15"),
    ("1700000000", BERLIN, "2023-11-14T22:13:20"),
    ("now", BERLIN, "2026-11-04T09:30"),
    ("a fortnight ago", UTC, "2026-10-21T09:30"),
    ("last tuesday at noon", UTC, "2026-11-03T12:00"),
]


@pytest.mark.parametrize(("text", "zone", "expected"), POINTS)
def test_parse_time_point(text: str, zone, expected: str) -> None:
    moment = parse_time_point(text, now=NOW, tz=zone)
    assert moment == utc(expected)
    assert moment.tzinfo is UTC


@pytest.mark.parametrize("text", ["the deploy", "soonish", "", "   ", "Feb 30"])
def test_unreadable_time_point_is_a_usage_error_naming_it(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_time_point(text, now=NOW, tz=UTC)
    assert raised.value.exit_code == 2
    if text.strip():
        assert repr(text) in str(raised.value)


def test_common_phrases_do_not_load_dateparser() -> None:
    # The fast path matters for `logchat ask` start-up: dateparser and its language data stay unloaded.
    script = (
        "import sys\n"
        "from datetime import datetime, timezone\n"
        "from zoneinfo import ZoneInfo\n"
        "from logchat.retrieval.question import parse_question\n"
        "now = datetime(2026, 11, 4, 9, 30, tzinfo=timezone.utc)\n"
        "for q in ['why did sshd reject logins last night?', 'how many 502 since 10:00?',\n"
        "          'what happened on web-03 between 2am and 3am yesterday?', 'errors in the last hour',\n"
        "          'and which IPs were involved?', 'failed password for root from 183.62.140.253?',\n"
        "          'on Nov 3', 'since 2026-11-02T06:00Z', 'at 14:05']:\n"
        "    parse_question(q, now=now, tz=ZoneInfo('Europe/Berlin'))\n"
        "print('dateparser' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert result.stdout.strip() == "False"


# --- numbers no calendar holds, ranges that end before they start ----------------------------------------


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("errors in the last 2026 years", "in the last 2026 years"),  # used to loop forever
        ("since 3000 years ago", "since 3000 years ago"),
        ("in the last 24312 months", "in the last 24312 months"),
        ("in the last 99999999999 hours", "in the last 99999999999 hours"),  # used to raise OverflowError
        ("errors in the last 99999999 days", "in the last 99999999 days"),
        ("on 9999-12-31", "on 9999-12-31"),
    ],
)
@pytest.mark.parametrize("zone", [UTC, BERLIN], ids=["UTC", "Berlin"])
def test_ranges_beyond_the_calendar_are_an_invalid_time_range_naming_the_phrase(question: str, phrase: str,
                                                                                zone) -> None:
    with hang_guard(question), pytest.raises(InvalidTimeRange) as raised:
        find_time_range(question, now=NOW, tz=zone)
    assert repr(phrase) in str(raised.value)
    assert "years 1-9999" in str(raised.value)
    assert raised.value.exit_code == 2 and raised.value.http_status == 400


def test_the_longest_span_the_calendar_holds_still_works() -> None:
    found, _ = find_time_range("errors in the last 2025 years", now=NOW, tz=UTC)
    assert found.since == utc("0001-11-04T09:30") and found.until == NOW


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-03-31T12:00", "2026-02-28T12:00"),  # a month before the 31st is the month's last day
        ("2028-03-31T12:00", "2028-02-29T12:00"),
        ("2026-01-15T12:00", "2025-12-15T12:00"),
    ],
)
def test_calendar_months_back_land_on_a_real_day(now: str, expected: str) -> None:
    found, _ = find_time_range("in the last month", now=utc(now), tz=UTC)
    assert found.since == utc(expected)


def test_a_huge_fraction_of_a_unit_is_bounded_too() -> None:
    with pytest.raises(InvalidTimeRange):
        parse_time_point("9" * 90 + "d", now=NOW, tz=UTC)


@pytest.mark.parametrize("text", ["2026 years ago", "99999999999 hours ago", "99999999 days ago", "9999-12-31"])
def test_time_points_beyond_the_calendar_are_an_invalid_time_range(text: str) -> None:
    with hang_guard(text), pytest.raises(InvalidTimeRange, match=re.escape(repr(text))):
        parse_time_point(text, now=NOW, tz=BERLIN)


@pytest.mark.parametrize(
    ("question", "since", "until"),
    [
        # a clock range may cross midnight when that makes a night of at most 12 hours
        ("errors between 10pm and 2am", "2026-11-03T22:00", "2026-11-04T02:00"),
        ("errors between 6pm and 6am", "2026-11-03T18:00", "2026-11-04T06:00"),
        ("errors from 23:00 to 01:00 yesterday", "2026-11-02T23:00", "2026-11-03T01:00"),
    ],
)
def test_a_clock_range_crosses_midnight_up_to_twelve_hours(question: str, since: str, until: str) -> None:
    found, _ = find_time_range(question, now=NOW, tz=UTC)
    assert (found.since, found.until) == (utc(since), utc(until))


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("errors between 10am and 9am", "between 10am and 9am"),  # used to become 10:00 today until now
        ("errors between 14:00 and 10:00 yesterday", "between 14:00 and 10:00 yesterday"),
        ("errors from Nov 3 14:00 to 10:00", "from Nov 3 14:00 to 10:00"),
    ],
)
def test_a_longer_wrap_past_midnight_is_an_invalid_time_range(question: str, phrase: str) -> None:
    with pytest.raises(InvalidTimeRange, match="before it starts") as raised:
        find_time_range(question, now=NOW, tz=UTC)
    assert repr(phrase) in str(raised.value)


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("errors since 2026-11-03T10:00 until 2026-11-01", "since 2026-11-03T10:00 until 2026-11-01"),
        ("errors from Nov 3 to Nov 1", "from Nov 3 to Nov 1"),
        ("errors between 2026-11-03 12:00 and 2026-11-03 11:00", "between 2026-11-03 12:00 and 2026-11-03 11:00"),
        ("errors after today", "after today"),
    ],
)
def test_a_range_that_starts_after_it_ends_is_an_invalid_time_range(question: str, phrase: str) -> None:
    with pytest.raises(InvalidTimeRange, match="starts after it ends") as raised:
        find_time_range(question, now=NOW, tz=UTC)
    assert repr(phrase) in str(raised.value)


def test_free_form_date_search_is_bounded_on_long_questions() -> None:
    # "ago" and digits send a question to dateparser, which took seconds per thousand characters.
    question = "ago 3 " * 1500
    with hang_guard("ago 3 x1500"):
        assert find_time_range(question, now=NOW, tz=UTC) == (None, question.strip())


def test_a_time_value_longer_than_the_bound_is_a_usage_error() -> None:
    with hang_guard("between x250"), pytest.raises(UsageError, match="longer than 100 characters"):
        parse_time_point("between " * 250, now=NOW, tz=UTC)


def test_a_question_or_value_without_time_words_compiles_none_of_the_phrase_rules() -> None:
    # Compiling the rules costs tens of milliseconds of every `ask`: a question with no time word and an ISO
    # --now/--since value are read without them, with the same results as the rules give.
    probe = (
        "from datetime import UTC, datetime\n"
        "from logchat.retrieval import timerange as t\n"
        "now = datetime(2026, 11, 8, 12, tzinfo=UTC)\n"
        "q = 'how many failed password attempts for root from 183.62.140.253?'\n"
        "assert t.find_time_range(q, now=now, tz=UTC) == (None, q), 'a range found'\n"
        "assert t.parse_time_point('2026-11-08T00:00:00', now=now, tz=UTC) == datetime(2026, 11, 8, tzinfo=UTC)\n"
        "assert t.parse_time_point('2026-11-07', now=now, tz=UTC) == datetime(2026, 11, 7, tzinfo=UTC)\n"
        "rules = [rule for rule, _ in t._RULES]\n"
        "print(sum(rule._compiled is not None for rule in rules))\n"
        "t.find_time_range('errors since 10am', now=now, tz=UTC)\n"
        "print(sum(rule._compiled is not None for rule in rules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "7"]
