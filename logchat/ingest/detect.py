"""Choose a file's log format from a sample of its lines, and tell text from binary data."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from logchat.ingest.formats import all_format_names, make_parser
from logchat.ingest.formats.apt import is_apt_log
from logchat.ingest.formats.generic import GenericParser
from logchat.ingest.stamps import StampFinder, strip_ansi
from logchat.ingest.timestamps import TimeContext
from logchat.ingest.wrappers import detect_wrapper

SAMPLE_LINES = 50
BINARY_SNIFF_BYTES = 8192
# A format must give a header to at least this share of the sample's header-shaped lines; below
# it, most lines would be glued to a few events as continuations and "generic" is the better bet.
MIN_ACCEPTED_SHARE = 0.5
# Control bytes that do occur in text files: tab, newline, vertical tab, form feed, carriage return, ESC.
_TEXT_CONTROLS = frozenset(b"\t\n\x0b\x0c\r\x1b")
_MAX_CONTROL_RATIO = 0.1


def detect_format(sample: Iterable[str], *, ctx: TimeContext | None = None) -> str:
    """The name of the format whose parser accepts most of the first 50 non-empty lines.

    Ties go to the more specific format (the order of FORMAT_NAMES). Lines shaped like
    continuations (indented, "at ...", "Caused by:") are not held against a format, so a log4j
    file that opens with a long stack trace is still log4j. "generic" when no format fits.
    """
    lines: list[str] = []
    for line in sample:
        line = line.rstrip("\r\n")
        if "\x1b" in line:
            line = strip_ansi(line)
        if not lines:
            line = line.lstrip("\ufeff")
        if line.strip():
            lines.append(line)
            if len(lines) >= SAMPLE_LINES:
                break
    if not lines:
        return "generic"
    base = ctx if ctx is not None else TimeContext()
    wrapped = detect_wrapper(lines, base.fresh())
    if wrapped is not None:
        kind, inner = wrapped
        inner_format = _detect_unwrapped([line for line in inner if line.strip()], base)
        if kind != "envelope" or inner_format != "generic" or _mostly_stamped(inner, base):
            return f"{kind}+{inner_format}"
    return _detect_unwrapped(lines, base)


def _mostly_stamped(lines: list[str], ctx: TimeContext) -> bool:
    finder = StampFinder(ctx.fresh())
    return sum(1 for line in lines if finder.find(line) is not None) >= MIN_ACCEPTED_SHARE * len(lines)


def _detect_unwrapped(lines: list[str], base: TimeContext) -> str:
    if not lines:
        return "generic"
    if _is_mysql_slow_log(lines):
        return "mysql_slow"
    if is_apt_log(lines):
        return "apt_history"
    if lines[0].startswith("__CURSOR=") and any(line.startswith("__REALTIME_TIMESTAMP=") for line in lines):
        return "journal_export"  # one header line per record of a dozen fields: no share would tell it
    header_shaped = sum(1 for line in lines if not GenericParser.is_continuation(line)) or len(lines)

    best_name, best_count, best_metadata = "generic", 0, 0
    for name in all_format_names():  # user formats first: they win ties
        if name == "generic":
            continue
        parser = make_parser(name, base.fresh())
        accepts = getattr(parser, "matches", None) or parser.parse
        is_metadata = getattr(parser, "is_metadata", None)
        count = metadata = 0
        for line in lines:
            if is_metadata is not None and is_metadata(line):
                metadata += 1  # header lines (W3C "#Fields:") are not events: not held against it
            elif accepts(line):
                count += 1
        if count > best_count:
            best_name, best_count, best_metadata = name, count, metadata
    if best_count < MIN_ACCEPTED_SHARE * (header_shaped - best_metadata):
        return "generic"
    return best_name


def _is_mysql_slow_log(lines: list[str]) -> bool:
    # Most lines of a slow log are statements and statistics, so no share of "header" lines would
    # tell it; its comment lines do.
    return any(line.startswith("# Query_time: ") for line in lines) and any(
        line.startswith("# User@Host: ") for line in lines)


def is_probably_binary(data: bytes) -> bool:
    """True for data that is not a text log: a NUL byte, or many control bytes, in the first 8 KiB.

    UTF-16 text counts as binary here (it is full of NULs); logs are read as UTF-8.
    """
    head = data[:BINARY_SNIFF_BYTES]
    if not head:
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if (byte < 32 or byte == 127) and byte not in _TEXT_CONTROLS)
    return controls > _MAX_CONTROL_RATIO * len(head)


def timestamp_parse_rate(path: Path, reference: datetime) -> tuple[str, float]:
    """(detected format, share of non-empty lines whose header has a timestamp) for one file.

    `reference` stands in for the file's mtime in year inference, so results do not depend on
    when the file was copied.
    """
    ctx = TimeContext(reference=reference)
    with path.open(encoding="utf-8", errors="replace") as handle:
        lines = [line.rstrip("\r\n") for line in handle]
    name = detect_format(lines[: SAMPLE_LINES * 4], ctx=ctx)
    parser = make_parser(name, ctx.fresh())
    total = stamped = 0
    for line in lines:
        if not line.strip():
            continue
        total += 1
        header = parser.parse(line)
        if header is not None and header.ts is not None:
            stamped += 1
    return name, (stamped / total if total else 0.0)
