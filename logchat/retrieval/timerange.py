"""Time ranges from the words people use: "last night", "since 10:00", "between 2am and 3am yesterday".

Everything is resolved against an explicit ``now`` (timezone-aware) and a default zone ``tz`` (a ZoneInfo or a
fixed offset; pytz zones are not supported) in which clock phrases are read: "10:00" means 10:00 on the user's
wall clock. Results are UTC-aware; ``until`` is exclusive.

Common phrases are matched by the regular expressions below, which keeps ``logchat ask`` fast: dateparser
(imported lazily) is only consulted for phrasings the rules do not know, and only when the text contains
something date-like, because its free-text search also finds dates in IP addresses and numbers.

Conventions, so that answers are predictable:

- A day ("yesterday", "on Nov 3", "2026-11-03") covers 00:00 to the next 00:00 in ``tz``.
- A clock time without a day ("since 10:00", "at 14:05", "between 2am and 3am") means today, or yesterday
  when that moment is still in the future.
- "at 14:05" covers that minute, "at 2pm" that hour, "14:05:30" that second.
- Parts of a day: night 18:00 -> 06:00 next day, morning 06:00 -> 12:00, afternoon 12:00 -> 18:00,
  evening 18:00 -> 24:00.
- A month and day without a year ("Nov 3") is the most recent such day not after ``now``.
- Open ends: "since X" / "in the last 2 hours" run until ``now``; "before X" has no lower bound.
  A range that contains ``now`` stops at ``now`` ("today" is today 00:00 -> now).
- "after X" / "until X" include X when X is a whole day ("until Nov 3" ends at Nov 4 00:00); "before X"
  never does. "from X to Y" includes Y when Y is a day, and stops at Y when Y is a clock time.
- A range whose end clock time comes before its start crosses midnight when that makes it at most 12 hours
  long ("between 10pm and 2am"); a longer wrap ("between 10am and 9am") is an InvalidTimeRange.
- A range that starts after it ends, or that reaches outside the years 1-9999, is an InvalidTimeRange naming
  the phrase. Every number is bounded before any datetime arithmetic, so no phrase can loop or overflow.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import islice
from typing import Any

from logchat.errors import InvalidTimeRange, UsageError

__all__ = ["TimeRange", "check_range_order", "find_time_range", "parse_time_point"]


@dataclass(frozen=True)
class TimeRange:
    """A half-open interval [since, until) in UTC; either end may be open (None)."""

    since: datetime | None
    until: datetime | None
    phrase: str | None  # the words the range came from, as the user wrote them


# --- vocabulary -------------------------------------------------------------------------------------------

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty-five": 45, "few": 3, "couple": 2, "couple of": 2,
}  # fmt: skip
# Part of day -> (start hour, length in hours), on the day it starts.
_DAY_PARTS = {"morning": (6, 6), "afternoon": (12, 6), "evening": (18, 6), "night": (18, 12)}

_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ORDINAL = r"(?:st|nd|rd|th)?"
_MONTH_DAY_RE = (
    rf"(?:{_MONTH_RE}\s+\d{{1,2}}{_ORDINAL}(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}{_ORDINAL}\s+(?:of\s+)?{_MONTH_RE}(?:,?\s+\d{{4}})?)"
)
_ISO_DATE_RE = r"\d{4}-\d{2}-\d{2}"
_ISO_DATETIME_RE = r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?(?:Z|UTC|[+-]\d{2}(?::?\d{2})?))?"
_WEEKDAY_RE = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_DAY_RE = (
    rf"(?:the\s+day\s+before\s+yesterday|today|yesterday|(?:last\s+|this\s+|past\s+)?{_WEEKDAY_RE}"
    rf"|{_MONTH_DAY_RE}|{_ISO_DATE_RE})"
)
_AMPM_RE = r"\s?[ap]\.?m\b\.?"
_CLOCK_RE = rf"(?:(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?:{_AMPM_RE})?|(?:1[0-2]|0?[1-9]){_AMPM_RE}|noon|midnight)"
_PART_RE = r"(?:morning|afternoon|evening|night)"
_PERIOD_RE = rf"(?:last\s+night|tonight|this\s+{_PART_RE}|{_DAY_RE}\s+{_PART_RE})"
_COUNT_RE = r"(?:\d+(?:\.\d+)?\s*|(?:an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_COUNT_RE += r"|fifteen|twenty|thirty|forty-five|few|couple(?:\s+of)?)\s+)"
_UNIT_RE = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|months?|years?|yrs?|[smhdw])"
_AGO_RE = rf"(?:{_COUNT_RE}{_UNIT_RE}\s+ago)"

# One moment or stretch of time in the rules' own grammar. Order matters: longer forms first.
_POINT_RE = (
    rf"(?:{_ISO_DATETIME_RE}|{_PERIOD_RE}|{_AGO_RE}|{_DAY_RE}(?:\s*,?\s+(?:at\s+)?{_CLOCK_RE})?"
    rf"|{_CLOCK_RE}(?:\s*,?\s+(?:on\s+)?{_DAY_RE})?|now)"
)
# Do not start inside an identifier (10.0.0.1, blk_-12, 2026-11-03T...), do not stop inside one.
_BEFORE = r"(?<![\w.:/-])"
_AFTER = r"(?![\w:/]|[.-]\d)"

_FLAGS = re.IGNORECASE


class LazyRegex:
    """A pattern compiled on first use: the rules here take ~40 ms to compile, which importing should not cost."""

    __slots__ = ("_compiled", "_flags", "_pattern")

    def __init__(self, pattern: str, flags: int = _FLAGS) -> None:
        self._pattern = pattern
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._pattern, self._flags)
        return self._compiled

    def search(self, text: str) -> re.Match[str] | None:
        return self.compiled().search(text)

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self.compiled().fullmatch(text)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.compiled().finditer(text)

    def sub(self, replacement: str | Callable[[re.Match[str]], str], text: str, count: int = 0) -> str:
        return self.compiled().sub(replacement, text, count)


def _rx(pattern: str) -> LazyRegex:
    return LazyRegex(_BEFORE + pattern + _AFTER)


_RANGE_RX = _rx(
    rf"(?:(?:on\s+)?(?P<lead>{_DAY_RE})\s*,?\s+)?(?:between|from|since)\s+(?P<a>{_POINT_RE})"
    rf"\s*(?:and|to|until|till|through|-)\s*(?P<b>{_POINT_RE})(?:\s*,?\s+(?:on\s+)?(?P<trail>{_DAY_RE}))?"
)
_SINCE_RX = _rx(rf"(?P<kw>since|after|from|starting(?:\s+(?:at|from|on))?|as\s+of)\s+(?P<a>{_POINT_RE})")
_UNTIL_RX = _rx(rf"(?P<kw>before|until|till|up\s+to|up\s+until|prior\s+to)\s+(?P<a>{_POINT_RE})")
_LAST_RX = _rx(
    r"(?:(?:in|during|over|within|for)\s+)?(?:the\s+)?(?:last|past|previous)\s+"
    rf"(?P<count>{_COUNT_RE})?(?P<unit>{_UNIT_RE})"
)
_THIS_RX = _rx(r"(?:(?:in|during|for)\s+)?this\s+(?P<unit>week|month|year)(?:\s+so\s+far)?")
_MONTH_RX = _rx(rf"(?:in|during)\s+(?P<month>{_MONTH_RE})(?:\s+(?P<year>\d{{4}}))?")
_ALONE_RX = _rx(rf"(?:(?:on|at|during|for|from|in)\s+)?(?P<a>{_POINT_RE})(?:'s)?")

# Words that make a phrase worth handing to dateparser when the rules found nothing.
_DATEISH_RX = LazyRegex(
    rf"\b(?:{_MONTH_RE}|{_WEEKDAY_RE}|fortnight|o'clock|noon|midnight|ago|yesterday|today|tomorrow)\b"
    r"|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b|\b\d{1,2}(?:st|nd|rd|th)\b|\d:\d\d",
)
_IDENTIFIERISH_RX = LazyRegex(r"\d+\.\d+\.\d+|[_=@]")
# A date given to dateparser must carry a number or a day word: a bare "may" or "march" is a verb, and
# dateparser reads a bare "Feb" as today's day of February.
_FOUND_DATE_RX = LazyRegex(rf"\d|\b(?:{_WEEKDAY_RE}|yesterday|today|tomorrow|noon|midnight|fortnight)\b")
_DATEPARSER_KEYWORD_RX = LazyRegex(
    r"(?<![\w-])(?P<kw>since|after|before|until|till)\s+(?P<rest>[^?!,;()\"]{1,80})", _FLAGS
)
_MAX_DATEPARSER_WORDS = 6
# dateparser costs milliseconds per candidate word: bound its work so no question can stall `ask`.
_MAX_DATEPARSER_KEYWORDS = 3  # "since/before ..." phrases tried per question
_MAX_DATEPARSER_SEARCH_CHARS = 150  # longer questions are not searched for free-form dates
_MAX_TIME_POINT_CHARS = 100  # a --since/--until value longer than this is no time

# Fullmatch forms used to read a point found by _POINT_RE.
_ISO_DATETIME_FULL = LazyRegex(_ISO_DATETIME_RE)
_ISO_FULL = LazyRegex(rf"{_ISO_DATETIME_RE}|{_ISO_DATE_RE}")
_PERIOD_FULL = LazyRegex(
    rf"(?:(?P<lastnight>last\s+night)|(?P<tonight>tonight)|this\s+(?P<thispart>{_PART_RE})"
    rf"|(?P<day>{_DAY_RE})\s+(?P<part>{_PART_RE}))",
)
_AGO_FULL = LazyRegex(rf"(?P<count>{_COUNT_RE})(?P<unit>{_UNIT_RE})\s+ago")
_DAY_CLOCK_FULL = LazyRegex(rf"(?P<day>{_DAY_RE})(?:\s*,?\s+(?:at\s+)?(?P<clock>{_CLOCK_RE}))?")
_CLOCK_DAY_FULL = LazyRegex(rf"(?P<clock>{_CLOCK_RE})(?:\s*,?\s+(?:on\s+)?(?P<day>{_DAY_RE}))?")
_CLOCK_PARTS = LazyRegex(r"(?P<h>\d{1,2})(?::(?P<m>\d{2})(?::(?P<s>\d{2}))?)?\s?(?:(?P<ap>[ap])\.?m\.?)?")
_ISO_CLOCK = LazyRegex(r"[T ]\d{1,2}:\d{2}(?P<second>:\d{2}(?P<fraction>[.,]\d+)?)?")
_MONTH_DAY_PARTS = LazyRegex(
    rf"(?:(?P<mon1>{_MONTH_RE})\s+(?P<d1>\d{{1,2}}){_ORDINAL}|(?P<d2>\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?"
    rf"(?P<mon2>{_MONTH_RE}))(?:,?\s+(?P<y>\d{{4}}))?",
)
_WEEKDAY_PARTS = LazyRegex(rf"(?:(?P<mod>last|this|past)\s+)?(?P<wd>{_WEEKDAY_RE})")
_BARE_DURATION_FULL = LazyRegex(rf"-?(?P<count>\d+(?:\.\d+)?)\s*(?P<unit>{_UNIT_RE})")
_EPOCH_FULL = LazyRegex(r"\d{9,10}(?:\.\d+)?")


# The widest step back any phrase may take: a little more than the calendar holds (years 1-9999).
_MAX_SPAN_SECONDS = 10_000 * 366 * 86400
_MAX_MONTHS = 10_000 * 12
# A clock range that wraps past midnight longer than this is read as a mistake, not as a night.
_MAX_MIDNIGHT_WRAP = timedelta(hours=12)


_OUTSIDE = "reaches outside the years 1-9999 that dates can hold"


class _BadRange(Exception):
    """Why a phrase names no usable range; turned into InvalidTimeRange where the phrase is known."""


def _invalid(phrase: str, reason: str) -> InvalidTimeRange:
    shown = phrase if len(phrase) <= 80 else f"{phrase[:60]}…{phrase[-15:]}"
    if reason == _OUTSIDE:
        hint = "leave the time out to cover everything, or name a start such as 2020-01-01"
    else:
        hint = "write the range with its start first, e.g. 'between 10:00 and 11:00'"
    return InvalidTimeRange(f"time {shown!r} {reason}", hint=hint)


# --- points -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Point:
    """A moment as the user wrote it: where it starts, how far it reaches, and what was left implicit."""

    start: datetime  # aware, in tz
    end: datetime  # exclusive; == start for an instant
    whole_day: bool  # a day or longer: "until X" then includes X
    day: date | None  # the day written or inferred
    clock: time | None  # time of day when one was written
    clock_only: bool  # a time of day with no day written: the day was inferred


@dataclass(frozen=True)
class _Context:
    now: datetime  # aware, in tz
    tz: tzinfo

    @property
    def today(self) -> date:
        return self.now.date()

    def at(self, day: date, clock: time = time()) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.tz)


def _number(text: str) -> float:
    text = " ".join(text.lower().split())
    return float(text) if text[0].isdigit() else float(_NUMBER_WORDS[text])


def _unit_delta(unit: str, count: float) -> tuple[timedelta | None, int]:
    """A fixed length for seconds..weeks; months and years are calendar steps, returned as a month count.

    _BadRange when the count reaches beyond the calendar: checked on floats, before timedelta or round() can
    overflow.
    """
    unit = unit.lower()
    if not math.isfinite(count):
        raise _BadRange(_OUTSIDE)
    if unit.startswith("month") or unit.startswith("y"):
        months = count if unit.startswith("month") else count * 12
        if months > _MAX_MONTHS:
            raise _BadRange(_OUTSIDE)
        return None, round(months)
    seconds = 60 if unit.startswith("mi") or unit == "m" else {"s": 1, "h": 3600, "d": 86400, "w": 7 * 86400}[unit[0]]
    if count * seconds > _MAX_SPAN_SECONDS:
        raise _BadRange(_OUTSIDE)
    return timedelta(seconds=seconds * count), 0


def _months_before(moment: datetime, months: int) -> datetime:
    """The same day `months` calendar months earlier, or that month's last day ("a month before Mar 31")."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise _BadRange(_OUTSIDE)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _go_back(moment: datetime, count_text: str, unit: str) -> datetime:
    count = _number(count_text)
    delta, months = _unit_delta(unit, count)
    if delta is not None:
        # Durations are absolute: subtract in UTC so a DST change does not stretch "the last 2 hours".
        try:
            return (moment.astimezone(UTC) - delta).astimezone(moment.tzinfo)
        except OverflowError:
            raise _BadRange(_OUTSIDE) from None
    return _months_before(moment, months)


def _parse_clock(text: str) -> tuple[time, timedelta]:
    """A time of day and its resolution (hour, minute or second)."""
    lowered = text.lower().strip()
    if lowered == "noon":
        return time(12), timedelta(hours=1)
    if lowered == "midnight":
        return time(0), timedelta(hours=1)
    match = _CLOCK_PARTS.fullmatch(lowered)
    if match is None:
        raise ValueError(text)
    hour = int(match["h"])
    if match["ap"] and hour <= 12:
        hour = hour % 12 + (12 if match["ap"] == "p" else 0)
    minute = int(match["m"] or 0)
    second = int(match["s"] or 0)
    if match["s"]:
        resolution = timedelta(seconds=1)
    elif match["m"]:
        resolution = timedelta(minutes=1)
    else:
        resolution = timedelta(hours=1)
    return time(hour, minute, second), resolution


def _latest_month_day(month: int, day: int, today: date) -> date:
    """The most recent <month> <day> not after today (Feb 29 walks back to a leap year)."""
    for year in range(today.year, today.year - 9, -1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate
    raise ValueError(f"no such day: {month}-{day}")


def _parse_day(text: str, ctx: _Context) -> date:
    lowered = " ".join(text.lower().split())
    if lowered == "today":
        return ctx.today
    if lowered == "yesterday":
        return ctx.today - timedelta(days=1)
    if lowered == "the day before yesterday":
        return ctx.today - timedelta(days=2)
    if re.fullmatch(_ISO_DATE_RE, lowered):
        return date.fromisoformat(lowered)
    weekday = _WEEKDAY_PARTS.fullmatch(lowered)
    if weekday is not None:
        back = (ctx.today.weekday() - _WEEKDAYS.index(weekday["wd"])) % 7
        if back == 0 and weekday["mod"] in ("last", "past"):
            back = 7
        return ctx.today - timedelta(days=back)
    month_day = _MONTH_DAY_PARTS.fullmatch(lowered)
    if month_day is not None:
        month = _MONTHS[(month_day["mon1"] or month_day["mon2"])[:3]]
        day = int(month_day["d1"] or month_day["d2"])
        if month_day["y"]:
            return date(int(month_day["y"]), month, day)
        return _latest_month_day(month, day, ctx.today)
    raise ValueError(text)


def _whole_day(day: date, ctx: _Context) -> _Point:
    return _Point(ctx.at(day), ctx.at(day + timedelta(days=1)), True, day, None, False)


def _parse_iso_datetime(text: str, ctx: _Context) -> datetime:
    cleaned = text.strip().replace(",", ".")
    cleaned = re.sub(r"\s?(?:Z|UTC)$", "+00:00", cleaned, flags=re.IGNORECASE)
    cleaned = re.sub(r"\s([+-]\d{2})", r"\1", cleaned)
    cleaned = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", cleaned)
    cleaned = re.sub(r"([+-]\d{2})$", r"\1:00", cleaned)
    cleaned = re.sub(r"([T ])(\d):", r"\g<1>0\2:", cleaned)
    moment = datetime.fromisoformat(cleaned)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=ctx.tz)
    return moment.astimezone(ctx.tz)


def _parse_point(text: str, ctx: _Context) -> _Point:
    """Read one phrase matched by _POINT_RE; ValueError for impossible dates such as Feb 30."""
    text = " ".join(text.split())
    if _ISO_DATETIME_FULL.fullmatch(text):
        start = _parse_iso_datetime(text, ctx)
        clock = _ISO_CLOCK.search(text)
        assert clock is not None
        if clock["fraction"]:
            end = start
        else:
            end = start + (timedelta(seconds=1) if clock["second"] else timedelta(minutes=1))
        return _Point(start, end, False, start.date(), start.time(), False)
    if text.lower() == "now":
        return _Point(ctx.now, ctx.now, False, ctx.today, None, False)
    period = _PERIOD_FULL.fullmatch(text)
    if period is not None:
        if period["lastnight"]:
            day, part = ctx.today - timedelta(days=1), "night"
        elif period["tonight"]:
            day, part = ctx.today, "night"
        elif period["thispart"]:
            day, part = ctx.today, period["thispart"].lower()
        else:
            day, part = _parse_day(period["day"], ctx), period["part"].lower()
        start_hour, hours = _DAY_PARTS[part]
        end_days, end_hour = divmod(start_hour + hours, 24)
        # Built from wall-clock times, so a night across a DST change still ends at 06:00.
        start = ctx.at(day, time(start_hour))
        end = ctx.at(day + timedelta(days=end_days), time(end_hour))
        return _Point(start, end, False, day, None, False)
    ago = _AGO_FULL.fullmatch(text)
    if ago is not None:
        start = _go_back(ctx.now, ago["count"], ago["unit"])
        return _Point(start, start, False, start.date(), None, False)
    day_clock = _DAY_CLOCK_FULL.fullmatch(text)
    if day_clock is not None:
        day = _parse_day(day_clock["day"], ctx)
        if not day_clock["clock"]:
            return _whole_day(day, ctx)
        clock, resolution = _parse_clock(day_clock["clock"])
        start = ctx.at(day, clock)
        return _Point(start, start + resolution, False, day, clock, False)
    clock_day = _CLOCK_DAY_FULL.fullmatch(text)
    if clock_day is not None:
        clock, resolution = _parse_clock(clock_day["clock"])
        if clock_day["day"]:
            day = _parse_day(clock_day["day"], ctx)
            start = ctx.at(day, clock)
            return _Point(start, start + resolution, False, day, clock, False)
        day = ctx.today
        start = ctx.at(day, clock)
        if start > ctx.now:
            day -= timedelta(days=1)
            start = ctx.at(day, clock)
        return _Point(start, start + resolution, False, day, clock, True)
    raise ValueError(text)


def _range_end(point: _Point) -> datetime:
    """Where a range ending at `point` stops: after a whole day, at a clock time."""
    return point.end if point.whole_day else point.start


# --- rules ------------------------------------------------------------------------------------------------

_Interval = tuple[datetime | None, datetime | None]


def _resolve_range(match: re.Match[str], ctx: _Context) -> _Interval:
    first = _parse_point(match["a"], ctx)
    second = _parse_point(match["b"], ctx)
    shared_day_text = match["lead"] or match["trail"]
    if first.clock_only and second.clock_only:
        if shared_day_text:
            day = _parse_day(shared_day_text, ctx)
        else:
            day = first.day
        assert first.clock is not None and second.clock is not None
        start = ctx.at(day, first.clock)
        end = ctx.at(day, second.clock)
        if end <= start:
            end = _wrap_past_midnight(start, ctx.at(day + timedelta(days=1), second.clock))
        return start, end
    if first.clock_only and second.day is not None:
        assert first.clock is not None
        start = ctx.at(second.day, first.clock)
        if start > second.start:
            start = ctx.at(second.day - timedelta(days=1), first.clock)
            _wrap_past_midnight(start, second.start)
        return start, _range_end(second)
    if second.clock_only and first.day is not None:
        assert second.clock is not None
        end = ctx.at(first.day, second.clock)
        if end <= first.start:
            end = _wrap_past_midnight(first.start, ctx.at(first.day + timedelta(days=1), second.clock))
        return first.start, end
    return first.start, _range_end(second)


def _wrap_past_midnight(start: datetime, end: datetime) -> datetime:
    """`end`, the day after `start`'s day; a wrap longer than a night is more likely a slip than a 23-hour range."""
    if end - start > _MAX_MIDNIGHT_WRAP:
        raise _BadRange(
            f"ends at {end:%H:%M}, before it starts at {start:%H:%M}; a range crosses midnight only when that "
            "makes it at most 12 hours long"
        )
    return end


def _resolve_since(match: re.Match[str], ctx: _Context) -> _Interval:
    point = _parse_point(match["a"], ctx)
    start = point.end if match["kw"].lower() == "after" and point.whole_day else point.start
    return start, ctx.now


def _resolve_until(match: re.Match[str], ctx: _Context) -> _Interval:
    point = _parse_point(match["a"], ctx)
    return None, point.start if match["kw"].lower() == "before" else _range_end(point)


def _resolve_last(match: re.Match[str], ctx: _Context) -> _Interval:
    return _go_back(ctx.now, match["count"] or "1", match["unit"]), ctx.now


def _resolve_this(match: re.Match[str], ctx: _Context) -> _Interval:
    unit = match["unit"].lower()
    today = ctx.today
    if unit == "week":
        first_day = today - timedelta(days=today.weekday())
    elif unit == "month":
        first_day = today.replace(day=1)
    else:
        first_day = today.replace(month=1, day=1)
    return ctx.at(first_day), ctx.now


def _resolve_alone(match: re.Match[str], ctx: _Context) -> _Interval:
    text = match["a"]
    if text.lower() == "now":
        raise ValueError("'now' alone is not a range")
    point = _parse_point(text, ctx)
    ago = _AGO_FULL.fullmatch(" ".join(text.split()))
    if ago is not None:
        # "3 days ago" is that calendar day; "2 hours ago" the hour that started then.
        delta, _ = _unit_delta(ago["unit"], 1)
        if delta is None or delta >= timedelta(days=1):
            day = _whole_day(point.start.date(), ctx)
            return day.start, day.end
        return point.start, point.start + delta
    return point.start, point.end


def _resolve_month(match: re.Match[str], ctx: _Context) -> _Interval:
    month = _MONTHS[match["month"].lower()[:3]]
    year = int(match["year"]) if match["year"] else ctx.today.year
    if not match["year"] and month > ctx.today.month:
        year -= 1
    first_day = date(year, month, 1)
    next_first = date(year + month // 12, month % 12 + 1, 1)
    return ctx.at(first_day), ctx.at(next_first)


_Rule = tuple[LazyRegex, Callable[[re.Match[str], _Context], _Interval]]
_RULES: tuple[_Rule, ...] = (
    (_RANGE_RX, _resolve_range),
    (_SINCE_RX, _resolve_since),
    (_UNTIL_RX, _resolve_until),
    (_LAST_RX, _resolve_last),
    (_THIS_RX, _resolve_this),
    (_MONTH_RX, _resolve_month),
    (_ALONE_RX, _resolve_alone),
)
# Every phrase the rules match holds one of these: a point of time (an ISO date, a clock, a day, a part of
# the day, "ago", "now") or the word that leads "last 2 hours", "this week", "in May". A question without
# any has no phrase for the rules, and does not pay for compiling them (~40 ms).
_TIME_WORD_RX = LazyRegex(
    rf"\d-\d|\d:\d|\d\s?[ap]\.?m|\b(?:ago|now|noon|midnight|today|tonight|yesterday|{_PART_RE}|last|past|previous|this"
    rf"|{_WEEKDAY_RE}|{_MONTH_RE})"
)


def _context(now: datetime, tz: tzinfo) -> _Context:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return _Context(now.astimezone(tz), tz)


def _to_range(interval: _Interval, ctx: _Context, phrase: str) -> TimeRange:
    since, until = interval
    if until is not None and (since is None or since < ctx.now) and until > ctx.now:
        until = ctx.now
    try:
        found = TimeRange(
            since=since.astimezone(UTC) if since is not None else None,
            until=until.astimezone(UTC) if until is not None else None,
            phrase=phrase,
        )
    except OverflowError:  # year 1 or 9999 shifted out of the calendar by the zone offset
        raise _invalid(phrase, _OUTSIDE) from None
    check_range_order(found.since, found.until, phrase=phrase)
    return found


def check_range_order(since: datetime | None, until: datetime | None, *, phrase: str) -> None:
    """InvalidTimeRange when the range starts after it ends: such a range selects nothing, silently."""
    if since is not None and until is not None and since > until:
        raise _invalid(
            phrase, f"starts after it ends ({since.astimezone(UTC):%Y-%m-%d %H:%M} is after "
            f"{until.astimezone(UTC):%Y-%m-%d %H:%M} UTC)",
        )


def _remove_span(text: str, start: int, end: int) -> str:
    rest = f"{text[:start]} {text[end:]}"
    rest = re.sub(r"\s+", " ", rest)
    rest = re.sub(r"\s+([?.!,;:])", r"\1", rest)
    return rest.strip()


def _find_by_rules(question: str, ctx: _Context) -> tuple[TimeRange, str] | None:
    if not _TIME_WORD_RX.search(question):
        return None
    candidates: list[tuple[int, int, re.Match[str], Callable[[re.Match[str], _Context], _Interval]]] = []
    for rank, (pattern, resolve) in enumerate(_RULES):
        for match in pattern.finditer(question):
            candidates.append((match.start() - match.end(), match.start() * 10 + rank, match, resolve))
    # The longest phrase wins ("between 2am and 3am yesterday" over "yesterday"), then the earliest.
    candidates.sort(key=lambda candidate: candidate[:2])
    for _, _, match, resolve in candidates:
        phrase = match.group(0).strip()
        try:
            interval = resolve(match, ctx)
        except (ValueError, KeyError):  # Feb 30, "now" alone: not a usable range
            continue
        except _BadRange as bad:
            raise _invalid(phrase, str(bad)) from None
        except OverflowError:  # a day next to year 1 or 9999 moved past the calendar's edge
            raise _invalid(phrase, _OUTSIDE) from None
        return _to_range(interval, ctx, phrase), _remove_span(question, match.start(), match.end())
    return None


# --- dateparser -------------------------------------------------------------------------------------------


def _dateparser_timezone(ctx: _Context) -> str:
    key = getattr(ctx.tz, "key", None)
    if isinstance(key, str):
        return key
    offset = ctx.now.utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _dateparser_settings(ctx: _Context) -> dict[str, Any]:
    return {
        # dateparser reads a naive base as wall-clock time in TIMEZONE.
        "RELATIVE_BASE": ctx.now.replace(tzinfo=None),
        "RETURN_AS_TIMEZONE_AWARE": True,
        "TIMEZONE": _dateparser_timezone(ctx),
        "PREFER_DATES_FROM": "past",
    }


def _dateparser_parse(text: str, ctx: _Context) -> datetime | None:
    import dateparser  # slow to import and first call loads language data: only when the rules gave up

    try:
        found = dateparser.parse(text, languages=["en"], settings=_dateparser_settings(ctx))
    except (ValueError, OverflowError, TypeError):  # dateparser's own edge cases: the text is simply not a time
        return None
    if found is None:
        return None
    if found.tzinfo is None:
        found = found.replace(tzinfo=ctx.tz)
    try:
        return found.astimezone(ctx.tz)
    except OverflowError:  # a date at the calendar's edge: no range can hold it
        return None


def _looks_dateish(text: str) -> bool:
    return (
        bool(_DATEISH_RX.search(text))
        and bool(_FOUND_DATE_RX.search(text))
        and not _IDENTIFIERISH_RX.search(text.split()[0])
    )


def _find_by_dateparser(question: str, ctx: _Context) -> tuple[TimeRange, str] | None:
    # "since/before <something>": try the longest word prefix dateparser can read.
    for match in islice(_DATEPARSER_KEYWORD_RX.finditer(question), _MAX_DATEPARSER_KEYWORDS):
        words = list(re.finditer(r"\S+", match["rest"]))[:_MAX_DATEPARSER_WORDS]
        for count in range(len(words), 0, -1):
            candidate = match["rest"][: words[count - 1].end()]
            if not _looks_dateish(candidate):
                continue
            moment = _dateparser_parse(candidate, ctx)
            if moment is None:
                continue
            keyword = match["kw"].lower()
            interval: _Interval = (moment, ctx.now) if keyword in ("since", "after") else (None, moment)
            end = match.start("rest") + words[count - 1].end()
            phrase = question[match.start() : end]
            return _to_range(interval, ctx, phrase), _remove_span(question, match.start(), end)
    if (
        len(question) > _MAX_DATEPARSER_SEARCH_CHARS
        or not _DATEISH_RX.search(question)
        or not _FOUND_DATE_RX.search(question)
    ):
        return None
    from dateparser.search import search_dates

    try:
        hits = search_dates(question, languages=["en"], settings=_dateparser_settings(ctx)) or []
    except (ValueError, OverflowError, TypeError):  # dateparser's own edge cases: no date found
        return None
    for found_text, moment in hits:
        start = question.find(found_text)
        if start < 0 or not _looks_dateish(found_text):
            continue  # search_dates also "finds" dates in words such as "on" or "may"
        try:
            interval = _dateparser_interval(found_text, moment, ctx)
        except OverflowError:
            raise _invalid(found_text.strip(), _OUTSIDE) from None
        return _to_range(interval, ctx, found_text.strip()), _remove_span(question, start, start + len(found_text))
    return None


def _dateparser_interval(found_text: str, moment: datetime, ctx: _Context) -> _Interval:
    local = moment.astimezone(ctx.tz) if moment.tzinfo else moment.replace(tzinfo=ctx.tz)
    if re.search(r"\d:\d\d|\d\s?[ap]\.?m|noon|midnight|o'clock", found_text, _FLAGS):
        return local, local + timedelta(minutes=1)
    day = _whole_day(local.date(), ctx)
    return day.start, day.end


# --- public -----------------------------------------------------------------------------------------------


def find_time_range(question: str, *, now: datetime, tz: tzinfo) -> tuple[TimeRange | None, str]:
    """Find the time phrase in a question; return its range and the question without it.

    "last night" is the previous evening 18:00 to today 06:00 in ``tz``; see the module docstring for the
    other conventions. Only the longest phrase is used; a question without one gives ``(None, question)``.
    """
    ctx = _context(now, tz)
    found = _find_by_rules(question, ctx) or _find_by_dateparser(question, ctx)
    if found is None:
        return None, question.strip()
    return found


def parse_time_point(text: str, *, now: datetime, tz: tzinfo) -> datetime:
    """Read a ``--since``/``--until`` value as one UTC moment.

    Accepts ISO 8601 ("2026-11-02T06:00Z", "2026-11-02 06:00", "2026-11-02"; naive means ``tz``), phrases
    ("2 hours ago", "yesterday", "last night", "10:00", "Nov 3 14:00"), short durations meaning that long
    ago ("2h", "15m", "-3d") and Unix timestamps. A day or part of a day gives its start. Anything else
    that dateparser understands is accepted too.
    """
    ctx = _context(now, tz)
    cleaned = " ".join(text.split())
    if not cleaned:
        raise UsageError("empty time: expected e.g. '2 hours ago' or 2026-11-02T06:00")
    if len(cleaned) > _MAX_TIME_POINT_CHARS:
        raise UsageError(f"cannot read time {text[:40]!r}…: longer than {_MAX_TIME_POINT_CHARS} characters")
    try:
        moment = _read_time_point(cleaned, ctx)
        if moment is not None:
            return moment.astimezone(UTC)
    except _BadRange as bad:
        raise _invalid(text, str(bad)) from None
    except OverflowError:
        raise _invalid(text, _OUTSIDE) from None
    except ValueError as error:
        raise UsageError(f"cannot read time {text!r}: {error}") from None
    raise UsageError(
        f"cannot read time {text!r}",
        hint="use ISO 8601 such as 2026-11-02T06:00 or a phrase such as '2 hours ago' or 'yesterday'",
    )


def _read_time_point(cleaned: str, ctx: _Context) -> datetime | None:
    if _ISO_FULL.fullmatch(cleaned):  # the common --now/--since value, read without compiling the phrases
        return _parse_point(cleaned, ctx).start
    if _EPOCH_FULL.fullmatch(cleaned):
        return datetime.fromtimestamp(float(cleaned), tz=UTC)
    if duration := _BARE_DURATION_FULL.fullmatch(cleaned):
        return _go_back(ctx.now, duration["count"], duration["unit"])
    if last := _LAST_RX.fullmatch(cleaned):
        return _resolve_last(last, ctx)[0]
    if re.fullmatch(_POINT_RE, cleaned, _FLAGS):
        return _parse_point(cleaned, ctx).start
    return _dateparser_parse(cleaned, ctx)
