"""The records that flow through ingestion: raw lines from a source, parsed events out of a parser."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from logchat.vocabulary import LEVEL_RANK, LEVELS

__all__ = ["LEVELS", "LEVEL_RANK", "Event", "ParsedHeader", "RawLine"]


@dataclass(slots=True)
class RawLine:
    """One physical line as read from a source (newline stripped)."""

    line_no: int  # 1-based, within the source generation
    offset: int  # byte offset of the line's first byte
    text: str


@dataclass(slots=True)
class ParsedHeader:
    """What a parser extracts from the first line of an event."""

    ts: datetime | None  # timezone-aware UTC, or None when the line carries no time
    level: str | None  # one of LEVELS, or None
    host: str | None
    process: str | None  # program / component / logger name
    pid: int | None
    message: str  # the free text after the header fields
    # What a parser of structured lines already decoded, so that fields need not decode it again: the
    # JSON object of a JSON line; (client, user, request, status, size, rest) of an access log line.
    record: Any = None


@dataclass(slots=True)
class Event:
    """One logical event: a header line plus any continuation lines joined to it."""

    line_no: int  # first line
    line_end: int  # last line (== line_no for single-line events)
    offset: int  # byte offset of the first line
    ts: datetime | None
    level: str | None
    host: str | None
    process: str | None
    pid: int | None
    message: str  # header message plus continuation lines, joined with "\n"
    raw: str  # the original text of all lines, joined with "\n"
    template_id: int | None = None
    record: Any = None  # ParsedHeader.record of the event's first line
