"""Formats whose header lines name the columns: W3C extended logs (IIS, `#Fields: date time ...`) and
Zeek/Bro TSV logs (`#separator \\x09`, `#fields ts uid ...`). Header and comment lines are metadata, not
events; each data line is one event, its time from the time columns and its other columns kept as
`name=value` fields."""

from __future__ import annotations

from datetime import datetime
from typing import BinaryIO

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase
from logchat.ingest.formats.web import status_level
from logchat.ingest.timestamps import TimeContext, epoch_to_utc

_HEAD_SCAN_BYTES = 1 << 16


def _status_level(status: str | None) -> str | None:
    # IIS writes "-" or nothing when a request had no status; the rest follows the access-log rule.
    return status_level(status) if status and status.isdecimal() else None


class _ColumnsParser(ParserBase):
    __slots__ = ("_fields", "_separator")

    def __init__(self, ctx: TimeContext) -> None:
        super().__init__(ctx)
        self._fields: list[str] | None = None
        self._separator: str | None = None

    def is_metadata(self, line: str) -> bool:
        """Header and comment lines: read for the column names, never stored as events."""
        if line[:1] != "#":
            return False
        self._header(line)
        return True

    def _header(self, line: str) -> None:  # pragma: no cover - each format reads its own
        raise NotImplementedError

    def prime(self, head: BinaryIO, offset: int) -> None:
        """Read the header lines before `offset` (a run that resumes in the middle of the file)."""
        head.seek(0)
        data = head.read(min(offset, _HEAD_SCAN_BYTES))
        for raw in data.decode("utf-8", errors="replace").splitlines():
            if raw.startswith("#"):
                self._header(raw)
        head.seek(offset)

    def _row(self, line: str) -> dict[str, str] | None:
        if self._fields is None or line[:1] == "#":
            if line[:1] == "#":
                self._header(line)
            return None
        values = line.split(self._separator)
        if len(values) != len(self._fields):
            return None
        return dict(zip(self._fields, values, strict=True))


class W3cParser(_ColumnsParser):
    """W3C extended log format (IIS, some proxies and CDNs). Times are UTC as the standard says."""

    name = "w3c"
    __slots__ = ()

    def _header(self, line: str) -> None:
        if line.startswith("#Fields:"):
            self._fields = line[len("#Fields:"):].split()
            self._separator = None  # any run of spaces

    def parse(self, line: str) -> ParsedHeader | None:
        row = self._row(line)
        if row is None:
            return None
        date, clock = row.get("date"), row.get("time")
        ts = None
        if date and clock:
            stamp = f"{date}T{clock}"
            if stamp == self._last_stamp:
                ts = self._last_ts
            else:
                ts = self.ctx.iso(stamp + "+00:00")
                self._last_stamp, self._last_ts = stamp, ts
        host = row.get("s-computername") or row.get("s-sitename") or None
        message = " ".join(f"{name}={value}" for name, value in row.items() if name not in ("date", "time"))
        return ParsedHeader(ts, _status_level(row.get("sc-status")), host, row.get("s-sitename") or "w3c", None,
                            message)


class ZeekParser(_ColumnsParser):
    """Zeek (Bro) TSV logs: conn.log, dns.log, http.log ...; `ts` is epoch seconds."""

    name = "zeek"
    __slots__ = ("_path",)

    def __init__(self, ctx: TimeContext) -> None:
        super().__init__(ctx)
        self._separator = "\t"
        self._path: str | None = None

    def _header(self, line: str) -> None:
        if line.startswith("#separator"):
            value = line.split(" ", 1)[1].strip() if " " in line else "\\x09"
            self._separator = value.encode().decode("unicode_escape") if value.startswith("\\x") else value
        elif line.startswith("#fields"):
            self._fields = line.split(self._separator or "\t")[1:]
        elif line.startswith("#path"):
            self._path = line.split(self._separator or "\t")[-1]

    def parse(self, line: str) -> ParsedHeader | None:
        row = self._row(line)
        if row is None:
            return None
        stamp = row.get("ts", "")
        ts: datetime | None = None
        if stamp and stamp != "-":
            try:
                ts = epoch_to_utc(float(stamp))
            except ValueError:
                ts = None
        message = " ".join(f"{name}={value}" for name, value in row.items() if name != "ts" and value != "-")
        return ParsedHeader(ts, None, None, f"zeek/{self._path}" if self._path else "zeek", None, message)
