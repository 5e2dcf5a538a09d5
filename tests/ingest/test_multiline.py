"""Continuation lines join the event before them; no line's text is lost."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

import pytest

from logchat.ingest.events import Event, RawLine
from logchat.ingest.formats import make_parser
from logchat.ingest.multiline import join_events
from logchat.ingest.timestamps import TimeContext


def raw_lines(text: str) -> list[RawLine]:
    lines = []
    offset = 0
    for number, line in enumerate(text.split("\n"), start=1):
        lines.append(RawLine(number, offset, line))
        offset += len(line.encode()) + 1
    return lines


def events_of(text: str, format_name: str, *, multiline: bool = True, max_event_lines: int = 1000) -> list[Event]:
    parser = make_parser(format_name, TimeContext(reference=datetime(2024, 12, 1, tzinfo=UTC)))
    return list(join_events(raw_lines(text), parser, multiline=multiline, max_event_lines=max_event_lines))


JAVA = """\
2015-10-18 18:01:47,978 INFO [main] org.foo.App: starting
2015-10-18 18:01:48,100 ERROR [main] org.foo.Bar: request failed
java.lang.IllegalStateException: boom
\tat org.foo.Bar.handle(Bar.java:42)
\tat org.foo.App.main(App.java:7)
Caused by: java.io.IOException: connection closed
\tat org.foo.Net.read(Net.java:99)
\t... 2 more
2015-10-18 18:01:49,000 WARN [main] org.foo.App: retrying"""


def test_java_stack_trace_with_caused_by_is_one_event() -> None:
    events = events_of(JAVA, "log4j")
    assert [(event.line_no, event.line_end) for event in events] == [(1, 1), (2, 8), (9, 9)]
    failure = events[1]
    assert failure.level == "ERROR"
    assert failure.ts == datetime(2015, 10, 18, 18, 1, 48, 100000, tzinfo=UTC)
    assert failure.process == "org.foo.Bar"
    trace = JAVA.split("\n")[2:8]
    assert failure.message == "request failed\n" + "\n".join(trace)
    assert failure.raw == "\n".join(JAVA.split("\n")[1:8])
    assert failure.offset == len(JAVA.split("\n")[0]) + 1


def test_leading_continuation_lines_form_their_own_event() -> None:
    text = """\
\tat org.foo.Bar.handle(Bar.java:42)
\t... 3 more
2015-10-18 18:01:49,000 WARN [main] org.foo.App: retrying"""
    orphan, header = events_of(text, "log4j")
    assert (orphan.line_no, orphan.line_end, orphan.offset) == (1, 2, 0)
    assert (orphan.ts, orphan.level, orphan.host, orphan.process) == (None, None, None, None)
    assert orphan.message == orphan.raw == "\tat org.foo.Bar.handle(Bar.java:42)\n\t... 3 more"
    assert (header.line_no, header.level) == (3, "WARNING")


def test_generic_joins_indented_and_java_lines_only() -> None:
    text = """\
job started
  step 1 ok
  step 2 ok
ERROR job failed
Caused by: disk full
at Writer.flush
next job"""
    events = events_of(text, "generic")
    assert [(event.line_no, event.line_end) for event in events] == [(1, 3), (4, 6), (7, 7)]
    assert events[0].message == "job started\n  step 1 ok\n  step 2 ok"
    assert events[1].level == "ERROR"
    assert all(event.ts is None for event in events)


def test_generic_indented_first_line_is_an_event() -> None:
    events = events_of("  indented start\nplain", "generic")
    assert [(event.line_no, event.message) for event in events] == [(1, "  indented start"), (2, "plain")]


def test_max_event_lines_splits_and_the_rest_inherits_the_header() -> None:
    text = "\n".join(["Jun 14 15:16:01 combo app[1]: dump follows"] + [f"  row {n}" for n in range(1, 6)])
    events = events_of(text, "rfc3164", max_event_lines=3)
    assert [(event.line_no, event.line_end) for event in events] == [(1, 3), (4, 6)]
    first, rest = events
    assert first.message == "dump follows\n  row 1\n  row 2"
    assert rest.message == rest.raw == "  row 3\n  row 4\n  row 5"
    assert (rest.ts, rest.host, rest.process, rest.pid) == (first.ts, "combo", "app", 1)


def test_max_event_lines_of_one_keeps_every_line() -> None:
    events = events_of("Jun 14 15:16:01 h a: x\n  y\n  z", "rfc3164", max_event_lines=1)
    assert [event.raw for event in events] == ["Jun 14 15:16:01 h a: x", "  y", "  z"]


def test_blank_lines_inside_an_event_are_kept_and_trailing_ones_dropped() -> None:
    text = """\
2015-10-18 18:01:48,100 ERROR [main] org.foo.Bar: request failed
\tat org.foo.Bar.handle(Bar.java:42)

\tat org.foo.App.main(App.java:7)


2015-10-18 18:01:49,000 WARN [main] org.foo.App: retrying
"""
    first, second = events_of(text, "log4j")
    assert (first.line_no, first.line_end) == (1, 4)
    assert first.raw.split("\n") == text.split("\n")[:4]
    assert (second.line_no, second.line_end) == (7, 7)


def test_without_multiline_every_line_is_an_event() -> None:
    events = events_of(JAVA, "log4j", multiline=False)
    assert len(events) == 9
    assert [event.ts is None for event in events] == [False, False, True, True, True, True, True, True, False]
    assert events[2].message == "java.lang.IllegalStateException: boom"


def test_every_non_blank_line_lands_in_exactly_one_event() -> None:
    text = "\n".join(
        ["\tat orphan()", "", JAVA, "", "   ", "plain line without header", "2015-10-18 18:01:50,000 INFO [m] a.B: end"]
    )
    events = events_of(text, "log4j", max_event_lines=4)
    joined = [line for event in events for line in event.raw.split("\n") if line.strip()]
    assert joined == [line for line in text.split("\n") if line.strip()]
    spans = [(event.line_no, event.line_end) for event in events]
    assert all(start <= end for start, end in spans)
    assert all(end < start for (_, end), (start, _) in pairwise(spans))


def test_byte_order_mark_on_the_first_line_is_ignored() -> None:
    events = events_of("\ufeffJun 14 15:16:01 combo sshd[1]: hello", "rfc3164")
    assert events[0].process == "sshd" and events[0].raw == "Jun 14 15:16:01 combo sshd[1]: hello"


def test_empty_input_gives_no_events() -> None:
    parser = make_parser("generic", TimeContext())
    assert list(join_events([], parser)) == []
    assert events_of("\n\n", "generic") == []


def test_max_event_lines_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_event_lines"):
        events_of("x", "generic", max_event_lines=0)


def test_colour_codes_are_removed_before_a_named_format_reads_the_line() -> None:
    text = ("2026-12-03 13:16:02,400 \x1b[31mERROR\x1b[0m [exec-1] com.example.Orders: payment failed\n"
            "\x1b[2mjava.net.SocketTimeoutException: Read timed out\x1b[0m\n")
    for multiline in (True, False):
        events = list(join_events(raw_lines(text), make_parser("log4j", TimeContext()), multiline=multiline))
        assert events[0].level == "ERROR"
        assert all("\x1b" not in event.raw and "\x1b" not in event.message for event in events)
