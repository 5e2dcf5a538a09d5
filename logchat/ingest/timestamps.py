"""Fast timestamp helpers for parsers: everything they return is a timezone-aware UTC datetime.

Parsers cut timestamps with their own compiled regexes and hand integer fields to a per-file
`TimeContext`, which turns local wall-clock times into UTC (caching the zone offset per hour) and
infers the year of yearless stamps such as syslog's "Jun 14 15:16:01". `datetime.strptime` is
avoided on purpose: at ~5 µs a call it would cost more than the rest of the parse.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO = timedelta(0)

# Zone keys whose offset is always zero, so conversion can be skipped entirely.
_UTC_KEYS = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"})

# A yearless stamp this many days before the previous one means the log crossed a year end
# (Dec -> Jan, or Proxifier's Oct -> Jul): real logs do not jump back by a month otherwise.
YEAR_ROLL_BACKWARD_DAYS = 30
# A stamp more than this many days after the reference time must belong to the previous year.
FUTURE_TOLERANCE_DAYS = 1
# A time-of-day-only stamp up to this long after the file's mtime is still the mtime's day (clock skew).
_TIME_OF_DAY_TOLERANCE = timedelta(minutes=5)

_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS: dict[str, int] = {}
for _n, _abbr in enumerate(_MONTH_ABBR, start=1):
    MONTHS[_abbr] = _n
    MONTHS[_abbr.upper()] = _n
    MONTHS[_abbr.lower()] = _n
del _n, _abbr


def fraction_to_micros(digits: str | None) -> int:
    """'978' -> 978000, '003' -> 3000, '123456789' -> 123456 (truncated, as fromisoformat does)."""
    if not digits:
        return 0
    n = len(digits)
    if n == 6:
        return int(digits)
    if n < 6:
        return int(digits) * (10 ** (6 - n))
    return int(digits[:6])


def epoch_to_utc(value: float | int) -> datetime | None:
    """Epoch seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude) -> UTC.

    Integers are converted exactly; None for values no datetime can hold.
    """
    try:
        magnitude = abs(value)
        if isinstance(value, int):
            if magnitude >= 10**17:
                return _EPOCH + timedelta(microseconds=value // 1000)
            if magnitude >= 10**14:
                return _EPOCH + timedelta(microseconds=value)
            if magnitude >= 10**11:
                return _EPOCH + timedelta(milliseconds=value)
            return _EPOCH + timedelta(seconds=value)
        if magnitude >= 1e17:
            value = value / 1e9
        elif magnitude >= 1e14:
            value = value / 1e6
        elif magnitude >= 1e11:
            value = value / 1e3
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _is_utc(tz: tzinfo) -> bool:
    if tz is UTC:
        return True
    key = getattr(tz, "key", None)
    return key in _UTC_KEYS


class TimeContext:
    """Per-file time state: the zone naive stamps are in, and the year of yearless stamps.

    `tz` is the zone of timestamps that carry no offset (a ZoneInfo, default UTC). `reference` is
    the time the file was last written (its mtime; default now): yearless stamps get its year,
    or the year before when that would put them more than a day after it.

    Year inference is stateful so that lines of one file stay consistent: the year is carried from
    line to line, rolled forward when a stamp is more than 30 days earlier than the previous one
    (the log crossed a year end), and never allowed to put a stamp in the future. Use one context
    per file, read in order; `fresh()` gives an independent one with the same settings.
    """

    __slots__ = (
        "_fixed_offset",
        "_last_day",
        "_last_month",
        "_last_ordinal",
        "_limit_ordinal",
        "_offsets",
        "_year",
        "reference",
        "tz",
    )

    def __init__(self, tz: tzinfo | None = None, reference: datetime | None = None) -> None:
        self.tz: tzinfo = tz if tz is not None else UTC
        if reference is None:
            reference = datetime.now(UTC)
        elif reference.tzinfo is None:
            reference = reference.replace(tzinfo=self.tz)
        self.reference: datetime = reference.astimezone(UTC)
        # A constant offset (UTC or a fixed timezone) needs no per-hour lookup.
        self._fixed_offset: timedelta | None = None
        if _is_utc(self.tz):
            self._fixed_offset = _ZERO
        elif isinstance(self.tz, timezone):
            self._fixed_offset = self.tz.utcoffset(None) or _ZERO
        self._offsets: dict[tuple[int, int, int, int], timedelta] = {}
        reference_local = self.reference.astimezone(self.tz)
        self._limit_ordinal = reference_local.toordinal() + FUTURE_TOLERANCE_DAYS
        self._year = reference_local.year
        self._last_ordinal: int | None = None
        self._last_month = 0
        self._last_day = 0

    def fresh(self) -> TimeContext:
        """A new context with the same zone and reference but no year state."""
        return TimeContext(self.tz, self.reference)

    # -- local wall-clock time -> UTC -------------------------------------------------------------

    def _offset_of_hour(self, key: tuple[int, int, int, int]) -> timedelta:
        # Zone transitions happen on hour boundaries (or are treated as if they did), so one
        # offset per local hour is exact enough and makes the lookup a dict hit. fold=0 picks
        # the first of repeated times and the pre-transition offset for skipped ones.
        year, month, day, hour = key
        offset = datetime(year, month, day, hour, tzinfo=self.tz).utcoffset() or _ZERO
        if len(self._offsets) > 100_000:
            self._offsets.clear()
        self._offsets[key] = offset
        return offset

    def local(
        self, year: int, month: int, day: int, hour: int, minute: int, second: int, micros: int = 0
    ) -> datetime | None:
        """Wall-clock time in the context's zone -> UTC; None if the fields form no valid time."""
        try:
            if self._fixed_offset is not None:
                stamp = datetime(year, month, day, hour, minute, second, micros, UTC)
                return stamp if self._fixed_offset is _ZERO else stamp - self._fixed_offset
            key = (year, month, day, hour)
            offset = self._offsets.get(key)
            if offset is None:
                offset = self._offset_of_hour(key)
            return datetime(year, month, day, hour, minute, second, micros, UTC) - offset
        except (ValueError, OverflowError):
            return None

    def localize(self, naive: datetime) -> datetime | None:
        """A naive datetime in the context's zone -> UTC."""
        # Field-wise construction: datetime.replace(tzinfo=...) costs four times as much.
        return self.local(naive.year, naive.month, naive.day, naive.hour, naive.minute, naive.second, naive.microsecond)

    def with_offset(
        self,
        year: int,
        month: int,
        day: int,
        hour: int,
        minute: int,
        second: int,
        micros: int,
        offset_minutes: int,
    ) -> datetime | None:
        """A time with an explicit UTC offset (minutes east of UTC) -> UTC."""
        try:
            stamp = datetime(year, month, day, hour, minute, second, micros, UTC)
            return stamp - timedelta(minutes=offset_minutes) if offset_minutes else stamp
        except (ValueError, OverflowError):
            return None

    def iso(self, text: str) -> datetime | None:
        """ISO-8601 text ('2024-01-01T12:00:00.5Z', '2015-10-18 18:01:47,978', ...) -> UTC.

        Naive stamps are read in the context's zone. None when the text is not ISO-8601.
        """
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        zone = parsed.tzinfo
        if zone is None:
            if self._fixed_offset is _ZERO and len(text) > 10:
                # Re-parsing with an offset is the cheapest way to an aware UTC datetime
                # (a date alone would drop the offset, hence the length check).
                try:
                    return datetime.fromisoformat(text + "+00:00")
                except ValueError:
                    pass
            return self.localize(parsed)
        if zone is UTC:
            return parsed
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # "9999-12-31T23:59:59-12:00" is a valid ISO text no datetime can hold in UTC
            return None

    # -- yearless stamps --------------------------------------------------------------------------

    def _infer_year(self, month: int, day: int) -> int | None:
        try:
            year, ordinal = self._candidate_year(month, day)
        except ValueError:  # no such day, or none left in years 1-9999
            return None
        self._year = year
        self._last_ordinal = ordinal
        self._last_month = month
        self._last_day = day
        return year

    def _candidate_year(self, month: int, day: int) -> tuple[int, int]:
        year = self._year
        try:
            ordinal = date(year, month, day).toordinal()
        except ValueError:
            if not (month == 2 and day == 29):
                raise
            year, ordinal = _previous_leap_day(year)
        last = self._last_ordinal
        if last is not None and ordinal < last - YEAR_ROLL_BACKWARD_DAYS:
            year, ordinal = _same_day_in(year + 1, month, day)
        if ordinal > self._limit_ordinal:
            year, ordinal = _same_day_in(year - 1, month, day)
        return year, ordinal

    def year_for(self, month: int, day: int) -> int | None:
        """The inferred year of a yearless month/day (see the class doc); None for no such day."""
        if month == self._last_month and day == self._last_day:
            return self._year
        return self._infer_year(month, day)

    def time_of_day(self, build: Callable[[int, int, int], datetime | None]) -> datetime | None:
        """A stamp with a time of day but no date, dated as a person would: the day the file was last
        written, or the day before when that would put the time after the file's last write (a log
        that crossed midnight). `build(year, month, day)` makes the UTC time for a given date."""
        day = self.reference.astimezone(self.tz).date()
        stamp = build(day.year, day.month, day.day)
        if stamp is not None and stamp > self.reference + _TIME_OF_DAY_TOLERANCE:
            before = day - timedelta(days=1)
            stamp = build(before.year, before.month, before.day)
        return stamp

    def yearless(self, month: int, day: int, hour: int, minute: int, second: int, micros: int = 0) -> datetime | None:
        """A stamp without a year (syslog, logcat, Proxifier) -> UTC, year inferred (see class doc)."""
        if month == self._last_month and day == self._last_day:
            year = self._year
        else:
            inferred = self._infer_year(month, day)
            if inferred is None:
                return None
            year = inferred
        return self.local(year, month, day, hour, minute, second, micros)


def _previous_leap_day(year: int) -> tuple[int, int]:
    """(year, ordinal) of the last Feb 29 before `year`; ValueError when none is left above year 1."""
    # Leap years are at most 8 years apart (1896 -> 1904): a bounded search, never a loop below year 1.
    for candidate in range(min(year - 1, 9999), max(year - 9, 0), -1):
        try:
            return candidate, date(candidate, 2, 29).toordinal()
        except ValueError:
            continue
    raise ValueError(f"no Feb 29 in the 8 years before {year}")


def _same_day_in(year: int, month: int, day: int) -> tuple[int, int]:
    """(year, ordinal) of month/day in `year`, or in the nearest earlier year that has it (Feb 29)."""
    try:
        return year, date(year, month, day).toordinal()
    except ValueError:
        return _previous_leap_day(year)
