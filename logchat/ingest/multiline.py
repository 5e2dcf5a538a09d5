"""Turn raw lines into events: header lines start events, continuation lines join them.

This is the hot loop of ingestion, so it works on locals and builds each Event once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import chain

from logchat.ingest.events import Event, ParsedHeader, RawLine
from logchat.ingest.formats import Parser
from logchat.ingest.stamps import strip_ansi


def join_events(
    lines: Iterable[RawLine],
    parser: Parser,
    *,
    multiline: bool = True,
    max_event_lines: int = 1000,
) -> Iterator[Event]:
    """Group `lines` into events with `parser`.

    A line the parser gives a header for starts a new event. A line it returns None for (a stack
    trace "\\tat ...", "Caused by: ...", an indented or otherwise header-less line) is a
    continuation: it joins the event before it, extending `line_end`, and its text is appended to
    both `message` and `raw` after a "\\n". Parsers that accept every line (the generic one) expose
    `is_continuation(line)` instead, which marks indented, "at ...", "Caused by:" and "... N more"
    lines.

    Rules at the edges:
    - Continuation lines before the first header (a file that starts in the middle of a stack
      trace) form one event of their own with no timestamp, level, host or process.
    - Blank lines (empty or whitespace only) carry no text: they are kept inside an event only when
      a continuation line follows them in that same event (a blank line within a stack trace or a
      wrapped message); otherwise they belong to no event. Every non-blank line's text ends up in
      exactly one event, except the header lines of formats that say so (`is_metadata`).
    - An event never spans more than `max_event_lines` lines: the next continuation line starts a
      new event that inherits the time, level, host, process and pid of the one it continues.
    - With `multiline=False` every non-blank line is its own event; lines without a header get no
      timestamp.
    - A UTF-8 byte-order mark at the very start of the input is ignored.
    - Terminal colour codes (ANSI escapes) are removed from every line before it is parsed, and the
      event keeps the line without them.

    The last event is yielded when `lines` is exhausted (a continuation could still follow it).
    """
    if max_event_lines < 1:
        raise ValueError("max_event_lines must be at least 1")
    iterator = iter(lines)
    first = next(iterator, None)
    if first is None:
        return
    if first.text.startswith("\ufeff"):
        first = RawLine(first.line_no, first.offset, first.text[1:])
    source: Iterable[RawLine] = chain((first,), iterator)
    if not multiline:
        yield from _single_line_events(source, parser)
        return

    parse = parser.parse
    is_continuation = getattr(parser, "is_continuation", None)
    # A line the file's format rejects may still be a header of its own (an RFC 5424 line among
    # RFC 3164 ones, a timestamped line of another program): it then starts an event.
    own_header = None if is_continuation is not None else own_header_finder(parser)
    # Wrapped lines (docker compose, CRI, JSON envelopes) add their inner text to the message.
    inner_text = getattr(parser, "continuation_text", None)
    # Header lines of column formats (W3C "#Fields:", Zeek "#fields") are metadata, not events.
    is_metadata = getattr(parser, "is_metadata", None)
    # Formats whose header is spread over an event's lines (journal export) complete it at the end.
    finish = getattr(parser, "finish_event", None)
    messages: list[str] = []  # continuation texts for the message, when they differ from the raw ones
    event: Event | None = None
    extra: list[str] = []  # continuation texts of `event`, joined once when it is complete
    held_blanks: list[str] = []  # blank lines after `event` that may turn out to be inside it
    count = 0  # lines in `event`, blank ones included

    for raw in source:
        text = raw.text
        if not text or text.isspace():
            if event is not None:
                held_blanks.append(text)
            continue
        if "\x1b" in text:  # terminal colours would hide every header from the parsers
            text = strip_ansi(text)
        if is_metadata is not None and is_metadata(text):
            continue
        if event is not None and is_continuation is not None and is_continuation(text):
            header = None
        else:
            header = parse(text)
            if header is None and own_header is not None and text[0] not in _INDENT:
                header = own_header(text)

        if header is not None:
            if event is not None:
                if extra:
                    tail = "\n".join(extra)
                    event.message = f"{event.message}\n{_NEWLINE.join(messages) if inner_text else tail}"
                    event.raw = f"{event.raw}\n{tail}"
                    extra = []
                    messages = []
                if finish is not None:
                    finish(event)
                yield event
                if held_blanks:
                    held_blanks = []
            event = Event(
                raw.line_no,
                raw.line_no,
                raw.offset,
                header.ts,
                header.level,
                header.host,
                header.process,
                header.pid,
                header.message,
                text,
                record=header.record,
            )
            count = 1
        elif event is None:
            event = Event(raw.line_no, raw.line_no, raw.offset, None, None, None, None, None, text, text)
            count = 1
        elif count + len(held_blanks) >= max_event_lines:
            if extra:
                tail = "\n".join(extra)
                event.message = f"{event.message}\n{_NEWLINE.join(messages) if inner_text else tail}"
                event.raw = f"{event.raw}\n{tail}"
                extra = []
                messages = []
            if finish is not None:
                finish(event)
            yield event
            held_blanks = []
            event = Event(
                raw.line_no,
                raw.line_no,
                raw.offset,
                event.ts,
                event.level,
                event.host,
                event.process,
                event.pid,
                text,
                text,
            )
            count = 1
        else:
            if held_blanks:
                extra.extend(held_blanks)
                if inner_text:
                    messages.extend(held_blanks)
                count += len(held_blanks)
                held_blanks = []
            extra.append(text)
            if inner_text:
                messages.append(inner_text(text))
            event.line_end = raw.line_no
            count += 1

    if event is not None:
        if extra:
            tail = "\n".join(extra)
            event.message = f"{event.message}\n{_NEWLINE.join(messages) if inner_text else tail}"
            event.raw = f"{event.raw}\n{tail}"
        if finish is not None:
            finish(event)
        yield event


_INDENT = " \t"
_NEWLINE = "\n"
_NEVER_HEADER = frozenset("#.}])|/\\-*+=~!?:;,'\"")


def own_header_finder(parser: Parser) -> Callable[[str], ParsedHeader | None] | None:
    """For a parser of a named format: a check whether a line it rejected has a header of its own,
    as a line of another syslog flavour or a line that opens with a timestamp of any known shape."""
    ctx = getattr(parser, "ctx", None)
    if ctx is None:
        return None
    from logchat.ingest.formats.generic import GenericParser
    from logchat.ingest.formats.syslog import Rfc3164Parser, Rfc5424Parser

    own_name = getattr(parser, "name", "")
    syslog = None if own_name == "rfc3164" else Rfc3164Parser(ctx)
    rfc5424 = None if own_name == "rfc5424" else Rfc5424Parser(ctx)
    stamped = GenericParser(ctx).header_of_own

    def own_header(line: str) -> ParsedHeader | None:
        first = line[0]
        if first.islower() or first in _NEVER_HEADER:
            # Exception lines ("java.net.SocketTimeoutException: ...") and frames ("#0 ...", "at ..."):
            # the common continuations are let go before any pattern is tried.
            return None
        if first == "<" and rfc5424 is not None:
            header = rfc5424.parse(line)
            if header is not None:
                return header
        if syslog is not None and (first == "<" or first.isupper()):
            header = syslog.parse(line)
            if header is not None:
                return header
        return stamped(line)

    return own_header


def _single_line_events(lines: Iterable[RawLine], parser: Parser) -> Iterator[Event]:
    parse = parser.parse
    for raw in lines:
        text = raw.text
        if not text or text.isspace():
            continue
        if "\x1b" in text:
            text = strip_ansi(text)
        header = parse(text)
        if header is None:
            yield Event(raw.line_no, raw.line_no, raw.offset, None, None, None, None, None, text, text)
        else:
            yield Event(
                raw.line_no,
                raw.line_no,
                raw.offset,
                header.ts,
                header.level,
                header.host,
                header.process,
                header.pid,
                header.message,
                text,
                record=header.record,
            )
