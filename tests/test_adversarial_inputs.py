"""Property-based tests: no text, number or time phrase makes a parser hang or raise anything but a LogchatError.

Covers the question parser, the time-phrase parser, --since/--until reading, format detection and every log
format parser. Hypothesis runs derandomized with no example database, so a run is the same on every machine;
whatever it once found is kept in tests/corpus/adversarial_inputs.json and replayed below.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from adversarial import NOW, REFERENCE, call_bounded, load_corpus
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from logchat.errors import InvalidTimeRange, LogchatError
from logchat.ingest.detect import detect_format
from logchat.ingest.events import ParsedHeader, RawLine
from logchat.ingest.formats import FORMAT_NAMES, make_parser
from logchat.ingest.multiline import join_events
from logchat.ingest.timestamps import TimeContext
from logchat.retrieval.question import QuestionFilters, parse_question
from logchat.retrieval.timerange import TimeRange, find_time_range, parse_time_point

FUZZ = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,  # the hang guard bounds a call; timing is not asserted
    # No "explain" phase: its line tracing slows dateparser tenfold, which only confuses the hang guard.
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ZONES = [UTC, ZoneInfo("Europe/Berlin"), ZoneInfo("Pacific/Kiritimati"), timezone(timedelta(hours=-12))]

# --- strategies -------------------------------------------------------------------------------------------

UNICODE_DIGITS = st.text(st.characters(categories=["Nd"]), min_size=1, max_size=12)
NUMBERS = st.one_of(
    st.sampled_from([
        "0", "00", "-0", "-1", "1.5", "0.0001", "24", "25", "60", "99", "2026", "10000", "9" * 12, "9" * 20,
        "9" * 400, "9" * 4400, "1e308", "nan", "inf", "٣", "١٢٣٤", "１２", "０", "²", "𝟗𝟗", "-" + "9" * 30,
    ]),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    UNICODE_DIGITS,
    # Digit runs past int64 and past int()'s 4,300-digit limit, in ASCII and other scripts.
    st.sampled_from(["9" * 19, "9" * 30, "9" * 4400, "٣" * 4400, "²" * 5]),
)
TIME_WORDS = [
    "last", "past", "previous", "in", "the", "since", "after", "before", "until", "till", "up to", "between",
    "and", "from", "to", "-", "through", "ago", "at", "on", "this", "so far", "during", "over", "within", "for",
    "yesterday", "today", "tonight", "the day before yesterday", "now", "night", "morning", "afternoon", "evening",
    "second", "seconds", "minutes", "min", "hour", "hours", "hrs", "day", "days", "week", "weeks", "month",
    "months", "year", "years", "yrs", "s", "m", "h", "d", "w", "a", "an", "few", "couple of", "twelve",
    "am", "pm", "a.m.", "noon", "midnight", "Nov", "February", "3rd", "29th", "of", "monday", "last sunday",
    "2026-11-03", "0001-01-01", "9999-12-31", "2026-11-03T10:00Z", "10:00", "23:59:59", "10am", "9pm", "12 pm",
    "errors", "on web-03", "sshd", "?", ",", "'s",
]
TIME_PHRASES = st.lists(st.one_of(st.sampled_from(TIME_WORDS), NUMBERS), max_size=9).map(" ".join)
# Text made of the characters parsers give meaning to: quotes, NUL (the quote placeholder), digits, separators.
SYNTAX_TEXT = st.lists(
    st.sampled_from([*"\x00\"'`0123456789 :.-/_=@[]{}|\\\t\n\r", "ago", "since", "e"]), max_size=60
).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=300), SYNTAX_TEXT)
# The question parser hides quoted phrases behind NUL-delimited numbers: text that imitates them.
QUOTE_TEXT = st.lists(
    st.sampled_from(["\x00", "\x000\x00", "0", "12", '"failed password"', "'root'", " ", "errors", "\\"]),
    max_size=12,
).map("".join)

SEED_LINES = [
    "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick",
    "<11>Jan  5 10:00:00.250000 host app: boom",
    '{"time": "2024-01-01T12:00:00Z", "level": "error", "msg": "boom", "pid": 12}',
    '{"ts": 1704110400123, "level": 50, "msg": "x", "hostname": "h"}',
    '{"@timestamp": 1704110400.5, "log.level": "warn", "message": "m", "status": 502}',
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "-" "curl/8" 0.123',
    "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
    "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 123:tid 456] [client 1.2.3.4:5678] AH00126: bad",
    "2023/01/01 12:00:00 [error] 123#0: *1 open() failed (2: No such file)",
    "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11 RAS KERNEL INFO ok",
    "- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: session closed",
    "134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component State Change: alt0 unavailable",
    "03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogsopening app wtoken",
    "03-17 16:13:38.811 D/WindowManager( 1702): freezing",
    "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_3886 terminating",
    "17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers",
    "[10.30 16:49:06] chrome.exe - proxy.example.org:5070 open through proxy proxy.example.org:5070 HTTPS",
    "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
    "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1.7601.23505",
    '2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server [req-38101a0b] "GET /v2" status: 200',
    "2024-01-01 12:00:00,123 - app.db - ERROR - slow query: 2.5 s",
    "2024-01-01 12:00:00.123 | ERROR    | app:main:12 - failed",
    "2015-10-18 18:01:47,978 ERROR [main] org.foo.Bar: request failed",
    "2024-01-01 12:00:00.123  INFO 12345 --- [           main] o.s.b.w.e.tomcat.TomcatWebServer: started",
    "Dec 10 07:51:15 LabSZ sshd[24324]: error: Received disconnect from 1.2.3.4",
    "2024-01-15T10:00:00+0100 web01 sshd[812]: Accepted publickey for deploy",
    "2024-01-01T12:00:00.5Z [INFO] started worker 3",
    "2009/11/10 23:00:00 listening on :8080",
    "\tat org.foo.Bar.handle(Bar.java:42)",
]


@st.composite
def mutated_lines(draw: st.DrawFn) -> str:
    """A real-shaped log line whose numbers are replaced by adversarial ones, with text spliced in."""
    parts = re.split(r"(\d+)", draw(st.sampled_from(SEED_LINES)))
    runs = list(range(1, len(parts), 2))
    # One or two numbers at a time, so the rest of the line keeps its format and the parser reads on.
    for index in draw(st.lists(st.sampled_from(runs), min_size=1, max_size=2)) if runs else ():
        parts[index] = draw(NUMBERS)
    line = "".join(parts)
    if draw(st.booleans()):
        at = draw(st.integers(min_value=0, max_value=len(line)))
        line = line[:at] + draw(st.text(max_size=12)) + line[at:]
    return line


LOG_LINES = st.one_of(mutated_lines(), mutated_lines(), ANY_TEXT)

@pytest.fixture(scope="module", autouse=True)
def _dateparser_loaded() -> None:
    # dateparser loads its language data on first use (seconds on a busy machine): not under the hang guard.
    find_time_range("errors on the 3rd of last month", now=NOW, tz=UTC)
    parse_time_point("a fortnight ago", now=NOW, tz=UTC)


# --- checks -----------------------------------------------------------------------------------------------


def check_time_range(found: TimeRange | None) -> None:
    if found is not None and found.since is not None and found.until is not None:
        assert found.since <= found.until, found
    for moment in (found.since, found.until) if found is not None else ():
        assert moment is None or moment.utcoffset() == timedelta(0)


def check_find_time_range(text: str, tz) -> None:  # type: ignore[no-untyped-def]
    result = call_bounded(find_time_range, text, now=NOW, tz=tz)
    if isinstance(result, LogchatError):
        assert isinstance(result, InvalidTimeRange), result
        return
    found, rest = result
    assert isinstance(rest, str)
    check_time_range(found)


def check_parse_time_point(text: str, tz) -> None:  # type: ignore[no-untyped-def]
    result = call_bounded(parse_time_point, text, now=NOW, tz=tz)
    assert isinstance(result, LogchatError | datetime), result


def check_question(text: str, tz) -> None:  # type: ignore[no-untyped-def]
    result = call_bounded(
        parse_question, text, now=NOW, tz=tz, known_hosts=["web-03"], known_sources=["auth.log"],
        known_processes=["sshd"],
    )
    if not isinstance(result, LogchatError):
        assert isinstance(result, QuestionFilters)
        check_time_range(result.time_range)


def check_every_parser(line: str, ctx: TimeContext | None = None) -> None:
    for name in FORMAT_NAMES:
        parser = make_parser(name, ctx.fresh() if ctx is not None else TimeContext(reference=REFERENCE))
        header = call_bounded(parser.parse, line)
        assert header is None or isinstance(header, ParsedHeader | LogchatError), (name, header)
        if isinstance(header, ParsedHeader) and header.ts is not None:
            assert header.ts.utcoffset() == timedelta(0), (name, line, header.ts)
        if isinstance(header, ParsedHeader) and header.pid is not None:
            assert 0 <= header.pid < 2**63, (name, line, header.pid)  # must fit the database's BIGINT


def check_file(lines: list[str]) -> None:
    """Detection, then the chosen parser and the multi-line joiner over the same lines, in order."""
    name = call_bounded(detect_format, lines, ctx=TimeContext(reference=REFERENCE))
    assert name in FORMAT_NAMES, name
    parser = make_parser(name, TimeContext(reference=REFERENCE))
    raw = [RawLine(number, number * 100, line) for number, line in enumerate(lines, start=1)]
    events = call_bounded(lambda: list(join_events(raw, parser, multiline=True, max_event_lines=50)))
    assert isinstance(events, list | LogchatError)


# --- properties -------------------------------------------------------------------------------------------


@FUZZ
@given(text=st.one_of(TIME_PHRASES, ANY_TEXT), zone=st.sampled_from(ZONES))
def test_time_phrases_give_a_range_or_an_invalid_time_range(text: str, zone) -> None:  # type: ignore[no-untyped-def]
    check_find_time_range(text, zone)


@FUZZ
@given(text=st.one_of(TIME_PHRASES, NUMBERS.map(lambda n: f"{n}d"), ANY_TEXT), zone=st.sampled_from(ZONES))
def test_since_until_values_give_a_moment_or_a_usage_error(text: str, zone) -> None:  # type: ignore[no-untyped-def]
    check_parse_time_point(text, zone)


@FUZZ
@given(
    text=st.one_of(TIME_PHRASES.map(lambda phrase: f"how many errors on web-03 {phrase}?"), QUOTE_TEXT, ANY_TEXT),
    zone=st.sampled_from(ZONES),
)
def test_questions_give_filters_or_a_logchat_error(text: str, zone) -> None:  # type: ignore[no-untyped-def]
    check_question(text, zone)


# Files whose mtime is at the calendar's edges, read in zones far from UTC.
CONTEXTS = st.builds(
    TimeContext,
    tz=st.sampled_from(ZONES),
    reference=st.sampled_from([
        REFERENCE, datetime(1, 3, 5, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC),
    ]),
)


@settings(FUZZ, max_examples=300)
@given(line=LOG_LINES, ctx=CONTEXTS)
def test_every_format_parser_reads_or_declines_any_line(line: str, ctx: TimeContext) -> None:
    check_every_parser(line, ctx)


@settings(FUZZ, max_examples=60)
@given(lines=st.lists(LOG_LINES, min_size=1, max_size=12))
def test_detection_and_joining_take_any_lines(lines: list[str]) -> None:
    check_file(lines)


HUGE_NUMBERS = ["9" * 19, "9" * 30, "9" * 4400, "٣" * 4400, "²", "0" * 40]


@pytest.mark.parametrize("seed", SEED_LINES, ids=range(len(SEED_LINES)))
def test_every_number_field_of_every_seed_line_takes_huge_numbers(seed: str) -> None:
    """Systematic sweep beside the random one: each digit run of each seed line, alone, replaced."""
    parts = re.split(r"(\d+)", seed)
    for index in range(1, len(parts), 2):
        for number in HUGE_NUMBERS:
            check_every_parser("".join(number if at == index else part for at, part in enumerate(parts)))


# --- the inputs that broke it, replayed -------------------------------------------------------------------

CORPUS = load_corpus()


@pytest.mark.parametrize("text", CORPUS["time_phrases"])
@pytest.mark.parametrize("zone", ZONES[:2], ids=["UTC", "Berlin"])
def test_corpus_time_phrase(text: str, zone) -> None:  # type: ignore[no-untyped-def]
    check_find_time_range(text, zone)
    check_question(text, zone)


@pytest.mark.parametrize("text", CORPUS["cli_times"])
def test_corpus_since_until_value(text: str) -> None:
    check_parse_time_point(text, ZONES[1])


@pytest.mark.parametrize("text", CORPUS["questions"])
def test_corpus_question(text: str) -> None:
    check_question(text, UTC)


@pytest.mark.parametrize("line", CORPUS["log_lines"])
def test_corpus_log_line(line: str) -> None:
    for reference in (REFERENCE, datetime(1, 3, 5, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)):
        for zone in ZONES:
            check_every_parser(line, TimeContext(tz=zone, reference=reference))
    check_file([line, line])
