"""Read a loghub system's structured CSV into lines with a UTC time and the template's parameters.

The CSV (`<System>_2k.log_structured.csv`) is the ground truth: each row has the line number
(LineId), the header fields (date/time columns differ per system), the message (Content) and its
template (EventTemplate, `<*>` for each variable). Aligning the template with the content gives the
line's parameter values. Nothing here uses logchat: the question set must not depend on the code
it measures.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

MONTHS = {name: number for number, name in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1)}

# Yearless logs: the evaluation sets the indexed copy's modification time to this reference, so the
# year logchat infers (the file's year, or the year before when a stamp would be after it) is this
# year for every line of these logs (none of them crosses a year end).
YEARLESS_REFERENCE = {
    "OpenSSH": "2015-12-31T23:59:59+00:00",
    "Linux": "2005-12-31T23:59:59+00:00",
    "Mac": "2017-12-31T23:59:59+00:00",
    "Android": "2017-12-31T23:59:59+00:00",
}


@dataclass(frozen=True)
class Line:
    line: int  # 1-based line number in the raw .log file (LineId)
    ts: datetime | None  # UTC
    event: str  # EventId
    template: str
    content: str
    params: tuple[str, ...]  # one value per <*>, or () when the template does not align with the content
    fields: dict[str, str]


def _year(system: str) -> int:
    return datetime.fromisoformat(YEARLESS_REFERENCE[system]).year


def _hms(text: str) -> tuple[int, int, int, int]:
    """'18:01:47,978', '00:00:00.008' or '16:13:38.811' -> hour, minute, second, microsecond."""
    main, _, fraction = text.replace(",", ".").partition(".")
    hour, minute, second = (int(part) for part in main.split(":"))
    micros = int((fraction + "000000")[:6]) if fraction else 0
    return hour, minute, second, micros


def _stamp(year: int, month: int, day: int, clock: str) -> datetime:
    hour, minute, second, micros = _hms(clock)
    return datetime(year, month, day, hour, minute, second, micros, UTC)


def _epoch(value: str) -> datetime:
    return datetime.fromtimestamp(int(value), UTC)


def _healthapp(value: str) -> datetime:
    # 20171224-1:2:35:789: the clock parts are not zero-padded, the last part is milliseconds.
    day, clock = value.split("-", 1)
    hour, minute, second, millis = (int(part) for part in clock.split(":"))
    return datetime(int(day[:4]), int(day[4:6]), int(day[6:8]), hour, minute, second, millis * 1000, UTC)


# The time columns differ per system (read from each CSV's header). Systems whose raw line carries an
# epoch (BGL, Thunderbird, HPC) are read from it: it is the one unambiguous UTC time on those lines.
TIME_OF: dict[str, Callable[[dict[str, str]], datetime | None]] = {
    "OpenSSH": lambda r: _stamp(_year("OpenSSH"), MONTHS[r["Date"]], int(r["Day"]), r["Time"]),
    "Linux": lambda r: _stamp(_year("Linux"), MONTHS[r["Month"]], int(r["Date"]), r["Time"]),
    "Mac": lambda r: _stamp(_year("Mac"), MONTHS[r["Month"]], int(r["Date"]), r["Time"]),
    "Android": lambda r: _stamp(_year("Android"), int(r["Date"][:2]), int(r["Date"][3:5]), r["Time"]),
    "HDFS": lambda r: _stamp(2000 + int(r["Date"][:2]), int(r["Date"][2:4]), int(r["Date"][4:6]),
                             f"{r['Time'][:2]}:{r['Time'][2:4]}:{r['Time'][4:6]}"),
    "Hadoop": lambda r: _stamp(*(int(p) for p in r["Date"].split("-")), r["Time"]),
    "Zookeeper": lambda r: _stamp(*(int(p) for p in r["Date"].split("-")), r["Time"]),
    "OpenStack": lambda r: _stamp(*(int(p) for p in r["Date"].split("-")), r["Time"]),
    "Windows": lambda r: _stamp(*(int(p) for p in r["Date"].split("-")), r["Time"]),
    "Spark": lambda r: _stamp(2000 + int(r["Date"][:2]), int(r["Date"][3:5]), int(r["Date"][6:8]), r["Time"]),
    "Apache": lambda r: datetime.strptime(r["Time"], "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC),
    "HealthApp": lambda r: _healthapp(r["Time"]),
    "BGL": lambda r: _epoch(r["Timestamp"]),
    "Thunderbird": lambda r: _epoch(r["Timestamp"]),
    "HPC": lambda r: _epoch(r["Time"]),
    "Proxifier": lambda r: None,  # MM.DD with no year, and the 2k sample wraps a year end: not used for times
}


@lru_cache(maxsize=512)
def template_pattern(template: str) -> re.Pattern[str]:
    """The template as a regular expression: literal text verbatim, each <*> a lazy group."""
    parts = [re.escape(piece) for piece in template.split("<*>")]
    return re.compile("(.*?)".join(parts), re.DOTALL)


def align(template: str, content: str) -> tuple[str, ...]:
    """The values that fill the template's <*> in this content; () when they do not line up."""
    for text in (content, content.strip()):
        match = template_pattern(template).fullmatch(text)
        if match:
            return match.groups()
    return ()


def structured_csv(loghub: Path, system: str) -> Path:
    return loghub / system / f"{system}_2k.log_structured.csv"


def log_file(system: str) -> str:
    """The raw log, relative to the loghub folder."""
    return f"{system}/{system}_2k.log"


@lru_cache(maxsize=32)
def read_lines(loghub: Path, system: str) -> tuple[Line, ...]:
    rows = []
    with structured_csv(loghub, system).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows.append(Line(
                line=int(row["LineId"]), ts=TIME_OF[system](row), event=row["EventId"], template=row["EventTemplate"],
                content=row["Content"], params=align(row["EventTemplate"], row["Content"]), fields=dict(row),
            ))  # fmt: skip
    return tuple(rows)
