"""Find a timestamp near the start of a line of unknown format, in any of the shapes people's logs use.

The fallback parser (and the check for a line of another format inside a file) call `StampFinder.find`
once per line, so the shapes are compiled into a handful of regexes and only the ones that can start
with the character at hand are tried, at the start of each of the first few tokens of the line:

- ISO 8601 and its relatives: `2024-05-16T19:31:19.123456789Z`, `2024-05-16 19:31:19,123 +0200`,
  `2026-12-03  7:43:57` (MariaDB), Go's `2024/05/16 19:31:19`, day-of-year `2012-025T10:22:40`,
  compact `20120702.102240,672` and `20260327 11:34:21.908`;
- day-first with a month name: `29 Aug 2023 13:47:38.984`, CLF `10/Feb/2012:16:42:07 -0500`,
  RFC 2822 `Tue, 31 Mar 2015 06:03:46 +0000`, `3 déc. 2026 13:16:15`;
- month-first: ctime `Wed May 19 08:00:01 EST 2021`, syslog `Mar 18 21:41:15`, `Mar-18 21:41:15.684`,
  `Dec 3, 2026 1:16:13 PM`;
- numeric day and month: `06/09/2014 02:49:59:447 PM UTC` (slashes: month first unless the first
  number is over 12), `03.12.2026 13:16:15` (dots and dashes: day first);
- at the very start only (elsewhere they are too easily something else): epoch seconds, milliseconds,
  microseconds or nanoseconds told apart by magnitude, TAI64N `@4000000068…`, and a time of day alone
  (`13:16:15.123456`), which is dated from the file's modification time.

Month names are English, French, German, Spanish, Italian, Portuguese and Dutch. ANSI colour codes are
removed before looking.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from logchat.ingest.timestamps import TimeContext, epoch_to_utc, fraction_to_micros

# Where a timestamp may start: in the first few tokens, not far into the line.
MAX_TOKENS = 5
MAX_START = 64
_HEAD = 160
_MAX_BRACKETS = 3

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")

_MONTH_WORDS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "jan january janv janvier januar jän jänner ene enero gen gennaio janeiro januari",
        "feb february févr février fevr fevrier februar febrero febbraio fev fevereiro februari",
        "mar march mars märz maerz mär marzo março marco mrt maart",
        "apr april avr avril abr abril aprile",
        "may mai mayo mag maggio maio mei maj",
        "jun june juin juni junio giu giugno junho",
        "jul july juil juillet juli julio lug luglio julho",
        "aug august août aout ago agosto augustus",
        "sep sept september septembre septiembre set settembre setembro setiembre",
        "oct october octobre okt oktober octubre ott ottobre out outubro",
        "nov november novembre noviembre novembro",
        "dec december déc décembre dez dezember dic diciembre dicembre dezembro",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTH_WORDS[_name] = _number
del _number, _names, _name


def month_number(word: str) -> int | None:
    """'Dec', 'décembre', 'Dez.', 'MAR' -> month number; None for anything else."""
    return _MONTH_WORDS.get(word.rstrip(".").lower())


# Zone names that appear in logs; ambiguous ones (IST, CST) take their most common meaning in logs.
_ZONE_MINUTES: dict[str, int] = {
    "Z": 0, "UTC": 0, "GMT": 0, "UT": 0,
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420,
    "AKST": -540, "AKDT": -480, "HST": -600,
    "WET": 0, "WEST": 60, "BST": 60, "CET": 60, "CEST": 120, "MET": 60, "MEST": 120, "EET": 120, "EEST": 180,
    "MSK": 180, "IST": 330, "SGT": 480, "HKT": 480, "JST": 540, "KST": 540,
    "AEST": 600, "AEDT": 660, "ACST": 570, "AWST": 480, "NZST": 720, "NZDT": 780,
}
_ZONE_NAMES = "|".join(sorted((name for name in _ZONE_MINUTES if name != "Z"), key=len, reverse=True))

_FRACTION = r"(?:[.,:](?P<f>\d{1,9}))?"
_TAIL = (
    r"(?: ?(?P<ampm>[AaPp]\.?[Mm]\.?)(?![A-Za-z]))?"
    r"(?:(?P<zsep> ?)(?P<z>Z(?![A-Za-z])|[+-]\d\d(?::?\d\d)?(?![\d:])|(?:" + _ZONE_NAMES + r")(?![A-Za-z])))?"
)
_CLOCK = r"(?P<H>\d{1,2}):(?P<M>\d\d)(?::(?P<S>\d\d))?" + _FRACTION
_MONTH_WORD = r"(?P<mon>[A-Za-zÀ-ÿ]{3,9}\.?)"

# 2024-05-16T19:31:19Z, 2024/05/16 19:31:19, 2026-12-03  7:43:57, 2012-025T10:22:40
_ISO_LIKE = re.compile(
    r"(?P<y>\d{4})(?:(?P<sep>[-/.])(?P<mo>\d{1,2})(?P=sep)(?P<d>\d{1,2})|-(?P<doy>\d{3}))"
    r"(?:[T_]| +|:)" + _CLOCK + _TAIL
)
# 20120702.102240,672  20260327 11:34:21.908  20240516T193119Z
_COMPACT = re.compile(
    r"(?P<y>\d{4})(?P<mo>\d\d)(?P<d>\d\d)(?:[T .-](?P<H>\d\d):?(?P<M>\d\d):?(?P<S>\d\d))" + _FRACTION + _TAIL
    + r"(?![\d])"
)
# 06/09/2014 02:49:59:447 PM UTC, 03.12.2026 13:16:15, 03-12-2026 13:16
_NUMERIC_DMY = re.compile(
    r"(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})(?:[T ]+|, ?|:)" + _CLOCK + _TAIL
)
# 29 Aug 2023 13:47:38.984, 10/Feb/2012:16:42:07 -0500, 03-Dec-2026 13:16:15, 3. Dezember 2026 13:16
_DAY_MONTH = re.compile(
    r"(?P<d>\d{1,2})\.?(?P<sep>[ /-])" + _MONTH_WORD + r"(?P=sep)(?P<y>\d{4})(?:[ T:]+|, )" + _CLOCK + _TAIL
)
# Wed May 19 08:00:01 EST 2021, Tue, 31 Mar 2015 06:03:46 +0000, Mar-18 21:41:15.684, Dec 3, 2026 1:16:13 PM
_ALPHA = re.compile(
    r"(?:[A-Za-zÀ-ÿ]{2,10}\.?,? +)?"  # a weekday in any language, when present
    r"(?:(?P<d1>\d{1,2})\.? +" + _MONTH_WORD.replace("mon", "mon1") + r" +(?P<y1>\d{4})"
    r"|" + _MONTH_WORD + r"[ -]+(?P<d>\d{1,2})(?:,? +(?P<y>\d{4}))?),?[ T]+" + _CLOCK + _TAIL
    + r"(?: (?P<y2>\d{4})(?!\d))?"
)
# Only at the very start of a line.
_EPOCH = re.compile(r"(?P<int>\d{9,19})(?:\.(?P<frac>\d{1,9}))?(?![\d/-])")
_TAI64N = re.compile(r"@(?P<hex>4000[0-9a-fA-F]{20})")
_TIME_ONLY = re.compile(_CLOCK + r"(?![\d/-])" + _TAIL)

_OPENERS = "[(<{\"'"
_TOKEN_GAP = re.compile(r"[\s\[(<{\"'=|]+")
_TAI64_BASE = 2**62 + 10  # TAI64 labels count from 2^62; TAI runs ahead of UTC (tai64nlocal's 10 s)
_LOW_YEAR, _HIGH_YEAR = 1990, 2100  # epoch numbers outside this are counters, not times

_DIGITS = frozenset("0123456789")


class Found:
    """A timestamp found in a line: the UTC time and where its text starts and ends."""

    __slots__ = ("end", "start", "ts")

    def __init__(self, ts: datetime, start: int, end: int) -> None:
        self.ts = ts
        self.start = start
        self.end = end


class StampFinder:
    """Finds timestamps for one file: yearless and time-only stamps use the file's TimeContext."""

    __slots__ = ("_hint", "_last_text", "_last_ts", "ctx")

    def __init__(self, ctx: TimeContext) -> None:
        self.ctx = ctx
        self._last_text = ""
        self._last_ts: datetime | None = None
        # (pattern, converter, position) of the last stamp found: the lines of one file share a layout,
        # so trying it first usually finds the next stamp with one regex match.
        self._hint: tuple[re.Pattern[str], Any, int] | None = None

    def find(self, line: str, *, leading_only: bool = False) -> Found | None:
        """The first timestamp among the first few tokens of `line` (ANSI codes already removed).

        With `leading_only`, the stamp must open the line (after brackets): the test for "this
        line starts an event of its own".
        """
        head = line[:_HEAD]
        hint = self._hint
        if hint is not None and (not leading_only or hint[2] <= 1):
            found = self._try(hint[0], head, hint[2], hint[1], remember=False)
            if found is not None:
                return found
        pos, size, token = 0, len(head), 0
        while token < MAX_TOKENS and pos < size and pos <= MAX_START:
            while pos < size and head[pos] in _OPENERS:
                pos += 1
            if pos >= size:
                return None
            found = self._at(head, pos, token == 0)
            if found is not None:
                return found
            if leading_only:
                return None
            gap = _TOKEN_GAP.search(head, pos + 1)
            if gap is None:
                break
            pos = gap.end()
            token += 1
        if leading_only:
            return None
        # The first bracketed fields, however far in: S3 access logs put a 64-character id first, uWSGI
        # "[pid: 812|app: 0|req: 1/1] 10.0.0.7 () {34 vars in 512 bytes} [Thu Dec  3 13:16:01 2026]".
        bracket = head.find("[", pos)
        for _ in range(_MAX_BRACKETS):
            if bracket == -1 or bracket + 1 >= len(head):
                return None
            found = self._at(head, bracket + 1, False)
            if found is not None:
                return found
            bracket = head.find("[", bracket + 1)
        return None

    def _at(self, head: str, pos: int, first: bool) -> Found | None:
        char = head[pos]
        if char in _DIGITS:
            # Which numeric shapes can start here, told by where the first non-digit is.
            end = pos
            size = len(head)
            while end < size and head[end] in _DIGITS:
                end += 1
            run = end - pos
            if run == 4:
                return self._try(_ISO_LIKE, head, pos, self._iso_fields)
            if run <= 2:
                found = self._try(_DAY_MONTH, head, pos, self._day_month_fields)
                if found is None:
                    found = self._try(_NUMERIC_DMY, head, pos, self._numeric_fields)
                if found is None:
                    found = self._try(_ALPHA, head, pos, self._alpha_fields)
                if found is None and first:
                    found = self._try(_TIME_ONLY, head, pos, self._time_only_fields)
                return found
            if run == 8:
                return self._try(_COMPACT, head, pos, self._iso_fields)
            if first and run >= 9:
                return self._epoch(head, pos)
            return None
        if char == "@":
            return self._tai64n(head, pos) if first else None
        if char.isalpha():
            return self._try(_ALPHA, head, pos, self._alpha_fields)
        return None

    def _try(
        self, pattern: re.Pattern[str], head: str, pos: int, convert: Any, *, remember: bool = True
    ) -> Found | None:
        match = pattern.match(head, pos)
        if match is None:
            return None
        if remember:
            self._hint = (pattern, convert, pos)
        text = match.group()
        if text == self._last_text:
            ts = self._last_ts
        else:
            ts = convert(match)
            if ts is None:
                return None
            self._last_text = text
            self._last_ts = ts
        assert ts is not None
        return Found(ts, pos, match.end())

    # -- shapes -> UTC ----------------------------------------------------------------------------

    def _finish(self, match: re.Match[str], year: int, month: int, day: int) -> datetime | None:
        hour = int(match["H"])
        minute = int(match["M"])
        second = int(match["S"] or 0)
        micros = fraction_to_micros(match["f"])
        ampm = match["ampm"]
        if ampm:
            if hour > 12 or hour == 0:
                return None
            if ampm[0] in "Pp":
                hour = hour % 12 + 12
            else:
                hour %= 12
        if second == 60:  # a leap second: the last second of the minute is the best a datetime holds
            second, micros = 59, 999_999
        zone = match["z"]
        if zone is None:
            return self.ctx.local(year, month, day, hour, minute, second, micros)
        minutes = _ZONE_MINUTES.get(zone)
        if minutes is None:  # "+05", "+0530", "-05:00"
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            minutes = sign * (int(digits[:2]) * 60 + int(digits[2:4] or 0))
        return self.ctx.with_offset(year, month, day, hour, minute, second, micros, minutes)

    def _iso_fields(self, match: re.Match[str]) -> datetime | None:
        year = int(match["y"])
        doy = match["doy"] if match.re is _ISO_LIKE else None
        if doy:
            try:
                day_of_year = date(year, 1, 1) + timedelta(days=int(doy) - 1)
            except (ValueError, OverflowError):
                return None
            if day_of_year.year != year:
                return None
            return self._finish(match, year, day_of_year.month, day_of_year.day)
        return self._finish(match, year, int(match["mo"]), int(match["d"]))

    def _numeric_fields(self, match: re.Match[str]) -> datetime | None:
        first, second = int(match["a"]), int(match["b"])
        if match["sep"] == "/" and first <= 12:
            month, day = first, second  # US order, as "06/09/2014 02:49:59:447 PM" writes it
        else:
            day, month = first, second
        return self._finish(match, int(match["y"]), month, day)

    def _day_month_fields(self, match: re.Match[str]) -> datetime | None:
        month = month_number(match["mon"])
        if month is None:
            return None
        return self._finish(match, int(match["y"]), month, int(match["d"]))

    def _alpha_fields(self, match: re.Match[str]) -> datetime | None:
        if match["mon1"] is not None:
            month = month_number(match["mon1"])
            day, year_text = int(match["d1"]), match["y1"]
        else:
            month = month_number(match["mon"])
            day, year_text = int(match["d"]), match["y"] or match["y2"]
        if month is None:
            return None
        if year_text is not None:
            return self._finish(match, int(year_text), month, day)
        year = self.ctx.year_for(month, day)
        return None if year is None else self._finish(match, year, month, day)

    def _time_only_fields(self, match: re.Match[str]) -> datetime | None:
        return self.ctx.time_of_day(lambda y, mo, d: self._finish(match, y, mo, d))

    def _epoch(self, head: str, pos: int) -> Found | None:
        match = _EPOCH.match(head, pos)
        if match is None:
            return None
        whole, fraction = match["int"], match["frac"]
        value = epoch_to_utc(int(whole))
        if value is None or not _LOW_YEAR <= value.year <= _HIGH_YEAR:
            return None
        if fraction and len(whole) <= 10:
            value += timedelta(microseconds=fraction_to_micros(fraction))
        return Found(value, pos, match.end())

    def _tai64n(self, head: str, pos: int) -> Found | None:
        match = _TAI64N.match(head, pos)
        if match is None:
            return None
        label = match["hex"]
        seconds = int(label[:16], 16) - _TAI64_BASE
        nanos = int(label[16:], 16)
        try:
            value = datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=nanos // 1000)
        except (OverflowError, ValueError, OSError):
            return None
        return Found(value, pos, match.end())


def strip_ansi(line: str) -> str:
    """The line without terminal colour and cursor codes (cheap when there are none)."""
    return ANSI_ESCAPE.sub("", line) if "\x1b" in line else line
