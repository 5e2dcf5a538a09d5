"""Each standard format's parser on hand-written lines, and the time rules parsers rely on."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from logchat.errors import UsageError
from logchat.ingest.formats import FORMAT_NAMES, UnknownFormat, make_parser
from logchat.ingest.timestamps import TimeContext, epoch_to_utc

REFERENCE = datetime(2024, 12, 1, tzinfo=UTC)


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


def parse(format_name: str, line: str, ctx: TimeContext | None = None):
    return make_parser(format_name, ctx or TimeContext(reference=REFERENCE)).parse(line)


# -- syslog ---------------------------------------------------------------------------------------


def test_rfc5424_priority_gives_level_and_nil_fields_are_none() -> None:
    header = parse(
        "rfc5424",
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick",
    )
    assert header is not None
    assert header.ts == utc(2003, 10, 11, 22, 14, 15, 3000)
    assert header.level == "CRITICAL"  # 34 = auth (4) * 8 + crit (2)
    assert (header.host, header.process, header.pid) == ("mymachine.example.com", "su", None)
    assert header.message == "'su root' failed for lonvick"


def test_rfc5424_offset_pid_and_structured_data() -> None:
    header = parse(
        "rfc5424",
        '<165>1 2003-10-11T22:14:15.003-07:00 web01 evntslog 1234 ID47 [exampleSDID@32473 iut="3" '
        'eventSource="Application"][meta note="a \\] b"] An application event',
    )
    assert header is not None
    assert header.ts == utc(2003, 10, 12, 5, 14, 15, 3000)
    assert header.level == "NOTICE"  # 165 = local4 (20) * 8 + notice (5)
    assert (header.host, header.process, header.pid) == ("web01", "evntslog", 1234)
    assert header.message == (
        '[exampleSDID@32473 iut="3" eventSource="Application"][meta note="a \\] b"] An application event'
    )


def test_rfc5424_nil_timestamp() -> None:
    header = parse("rfc5424", "<14>1 - - cron - - - job done")
    assert header is not None
    assert (header.ts, header.host, header.process, header.message) == (None, None, "cron", "job done")


def test_rfc3164_classic_line() -> None:
    header = parse("rfc3164", "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown")
    assert header is not None
    assert header.ts == utc(2024, 6, 14, 15, 16, 1)
    assert (header.host, header.process, header.pid) == ("combo", "sshd(pam_unix)", 19939)
    assert header.message == "check pass; user unknown"
    assert header.level is None


def test_rfc3164_priority_prefix_fraction_and_space_padded_day() -> None:
    header = parse("rfc3164", "<11>Jan  5 10:00:00.250000 host app: boom")
    assert header is not None
    assert header.ts == utc(2024, 1, 5, 10, 0, 0, 250000)
    assert header.level == "ERROR"  # 11 = user (1) * 8 + err (3)
    assert (header.process, header.pid, header.message) == ("app", None, "boom")


def test_rfc3164_openssh_error_prefix_sets_level() -> None:
    header = parse("rfc3164", "Dec 10 07:51:15 LabSZ sshd[24324]: error: Received disconnect from 1.2.3.4")
    assert header is not None and header.level == "ERROR"


def test_rfc3164_tag_variants() -> None:
    word = parse("rfc3164", "Jul  4 23:22:09 mac Microsoft Word[14463]: Cocoa scripting error")
    assert word is not None and (word.process, word.pid) == ("Microsoft Word", 14463)
    sandbox = parse("rfc3164", "Jul  1 09:29:02 mac sandboxd[129] ([31211]): deny network-outbound")
    assert sandbox is not None and (sandbox.process, sandbox.pid) == ("sandboxd", 129)
    assert sandbox.message == "deny network-outbound"
    no_tag = parse("rfc3164", "Jun 14 15:16:01 combo last message repeated 3 times")
    assert no_tag is not None and (no_tag.process, no_tag.message) == (None, "last message repeated 3 times")


def test_rfc3164_iso_variant_of_journalctl_short_iso() -> None:
    header = parse("rfc3164", "2024-01-15T10:00:00+0100 web01 sshd[812]: Accepted publickey for deploy")
    assert header is not None
    assert header.ts == utc(2024, 1, 15, 9, 0, 0)
    assert (header.host, header.process, header.pid) == ("web01", "sshd", 812)
    assert header.message == "Accepted publickey for deploy"
    precise = parse("rfc3164", "2024-01-15T10:00:00.123456+00:00 web01 kernel: eth0 up")
    assert precise is not None and precise.ts == utc(2024, 1, 15, 10, 0, 0, 123456)


# -- year inference and zones (through the syslog parser, which uses them most) -------------------


def test_yearless_stamp_takes_the_reference_year_or_the_one_before() -> None:
    reference = datetime(2024, 6, 13, 12, 0, tzinfo=UTC)
    tomorrow = parse("rfc3164", "Jun 14 08:00:00 h a: x", TimeContext(reference=reference))
    assert tomorrow is not None and tomorrow.ts == utc(2024, 6, 14, 8, 0, 0)  # within a day: same year
    later = parse("rfc3164", "Jun 16 08:00:00 h a: x", TimeContext(reference=reference))
    assert later is not None and later.ts == utc(2023, 6, 16, 8, 0, 0)  # would be future: year before


def test_year_rolls_forward_when_the_log_crosses_new_year() -> None:
    parser = make_parser("rfc3164", TimeContext(reference=datetime(2024, 1, 10, tzinfo=UTC)))
    lines = ["Dec 30 10:00:00 h a: x", "Dec 31 23:59:58 h a: x", "Jan  1 00:00:01 h a: x", "Jan  9 10:00:00 h a: x"]
    stamps = [parser.parse(line).ts for line in lines]
    assert stamps == [
        utc(2023, 12, 30, 10, 0, 0),
        utc(2023, 12, 31, 23, 59, 58),
        utc(2024, 1, 1, 0, 0, 1),
        utc(2024, 1, 9, 10, 0, 0),
    ]


def test_small_backward_steps_keep_the_year() -> None:
    parser = make_parser("rfc3164", TimeContext(reference=REFERENCE))
    first = parser.parse("Mar  5 10:00:00 h a: x")
    earlier = parser.parse("Mar  1 09:00:00 h a: x")  # out of order by days, not a new year
    assert first is not None and earlier is not None
    assert (first.ts.year, earlier.ts.year) == (2024, 2024)


def test_yearless_leap_day_goes_to_the_last_leap_year() -> None:
    header = parse("rfc3164", "Feb 29 12:00:00 h a: x", TimeContext(reference=datetime(2025, 6, 1, tzinfo=UTC)))
    assert header is not None and header.ts == utc(2024, 2, 29, 12, 0, 0)


def test_local_times_convert_to_utc_across_a_dst_change() -> None:
    ctx = TimeContext(tz=ZoneInfo("Europe/Berlin"), reference=REFERENCE)
    parser = make_parser("rfc3164", ctx)
    before = parser.parse("Mar 31 01:59:59 h a: x")  # CET, +01:00
    after = parser.parse("Mar 31 03:00:00 h a: x")  # CEST, +02:00
    summer = parser.parse("Jul  1 12:00:00 h a: x")
    assert before is not None and after is not None and summer is not None
    assert before.ts == utc(2024, 3, 31, 0, 59, 59)
    assert after.ts == utc(2024, 3, 31, 1, 0, 0)
    assert summer.ts == utc(2024, 7, 1, 10, 0, 0)


def test_iso_text_with_and_without_offset() -> None:
    ctx = TimeContext(tz=ZoneInfo("America/New_York"), reference=REFERENCE)
    assert ctx.iso("2024-07-01 12:00:00") == utc(2024, 7, 1, 16, 0, 0)
    assert ctx.iso("2024-07-01T12:00:00+02:00") == utc(2024, 7, 1, 10, 0, 0)
    assert ctx.iso("2015-10-18 18:01:47,978") == utc(2015, 10, 18, 22, 1, 47, 978000)
    assert TimeContext().iso("2024-01-01") == utc(2024, 1, 1)
    assert ctx.iso("not a time") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1700000000, utc(2023, 11, 14, 22, 13, 20)),
        (1700000000123, utc(2023, 11, 14, 22, 13, 20, 123000)),
        (1700000000123456, utc(2023, 11, 14, 22, 13, 20, 123456)),
        (1700000000123456789, utc(2023, 11, 14, 22, 13, 20, 123456)),
        (1700000000.5, utc(2023, 11, 14, 22, 13, 20, 500000)),
    ],
)
def test_epoch_units_are_told_apart_by_magnitude(value: float, expected: datetime) -> None:
    assert epoch_to_utc(value) == expected


# -- JSON lines -----------------------------------------------------------------------------------


def test_json_with_epoch_milliseconds() -> None:
    header = parse(
        "json",
        '{"ts": 1700000000123, "level": "error", "msg": "db timeout", "host": "api-1", '
        '"logger": "app.db", "pid": 42, "retry": 3}',
    )
    assert header is not None
    assert header.ts == utc(2023, 11, 14, 22, 13, 20, 123000)
    assert header.level == "ERROR"
    assert (header.host, header.process, header.pid) == ("api-1", "app.db", 42)
    assert header.message == "db timeout retry=3"


def test_json_common_dialects() -> None:
    ecs = parse("json", '{"@timestamp": "2024-01-01T12:00:00.000Z", "log.level": "warn", "message": "disk 91%"}')
    assert ecs is not None and (ecs.ts, ecs.level, ecs.message) == (utc(2024, 1, 1, 12), "WARNING", "disk 91%")
    pino = parse("json", '{"level": 50, "time": 1700000000000, "pid": 7, "hostname": "h1", "msg": "boom"}')
    assert pino is not None and (pino.level, pino.host, pino.pid) == ("ERROR", "h1", 7)
    seconds = parse("json", '{"time": 1700000000.5, "severity": "INFO", "message": "ok"}')
    assert seconds is not None and seconds.ts == utc(2023, 11, 14, 22, 13, 20, 500000)
    docker = parse("json", '{"log": "listening on :80\\n", "stream": "stdout", "time": "2024-01-01T00:00:00Z"}')
    assert docker is not None and docker.message == "listening on :80 stream=stdout"
    journald = parse(
        "json",
        '{"__REALTIME_TIMESTAMP": "1700000000123456", "PRIORITY": "3", "MESSAGE": "unit failed", '
        '"_HOSTNAME": "web01", "SYSLOG_IDENTIFIER": "systemd", "_PID": "1", "_BOOT_ID": "abc"}',
    )
    assert journald is not None
    assert (journald.ts, journald.level, journald.host, journald.process, journald.pid, journald.message) == (
        utc(2023, 11, 14, 22, 13, 20, 123456),
        "ERROR",
        "web01",
        "systemd",
        1,
        "unit failed",
    )


@pytest.mark.parametrize("line", ["[1, 2, 3]", '{"unterminated": ', "plain text", '"a string"'])
def test_json_rejects_non_objects(line: str) -> None:
    assert parse("json", line) is None


def test_json_without_time_or_message_keeps_the_fields() -> None:
    header = parse("json", '{"event": "login", "user": "ann"}')
    assert header is not None and (header.ts, header.message) == (None, "login user=ann")


# -- web servers ----------------------------------------------------------------------------------


def test_nginx_combined_502_is_an_error() -> None:
    header = parse(
        "access",
        '203.0.113.9 - - [10/Oct/2023:13:55:36 -0700] "GET /api/items HTTP/1.1" 502 157 "-" "curl/8.0"',
    )
    assert header is not None
    assert header.ts == utc(2023, 10, 10, 20, 55, 36)
    assert header.level == "ERROR"
    assert (header.host, header.process, header.pid) == (None, "access", None)
    assert header.message == 'Bad Gateway (502) "GET /api/items HTTP/1.1" 203.0.113.9 157 "-" "curl/8.0"'


@pytest.mark.parametrize(("status", "level"), [("200", "INFO"), ("304", "INFO"), ("404", "WARNING"), ("503", "ERROR")])
def test_access_level_follows_status(status: str, level: str) -> None:
    header = parse("access", f'127.0.0.1 - frank [10/Oct/2000:13:55:36 +0530] "GET /a.gif HTTP/1.0" {status} 2326')
    assert header is not None
    assert header.level == level
    assert header.ts == utc(2000, 10, 10, 8, 25, 36)
    from http import HTTPStatus

    assert header.message == f'{HTTPStatus(int(status)).phrase} ({status}) "GET /a.gif HTTP/1.0" 127.0.0.1 frank 2326'


def test_apache_error_22_and_24_styles() -> None:
    old = parse("apache_error", "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6")
    assert old is not None
    assert (old.ts, old.level, old.process, old.message) == (
        utc(2005, 12, 4, 4, 47, 44),
        "ERROR",
        None,
        "mod_jk child workerEnv in error state 6",
    )
    new = parse(
        "apache_error",
        "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 123:tid 456] [client 1.2.3.4:5678] "
        "AH00124: Request exceeded the limit",
    )
    assert new is not None
    assert (new.ts, new.level, new.process, new.pid) == (utc(2000, 10, 11, 14, 32, 52, 123456), "ERROR", "core", 123)
    assert new.message == "[client 1.2.3.4:5678] AH00124: Request exceeded the limit"
    assert parse("apache_error", "[Sun Dec 04 04:47:44 2005] [bogus] not a level") is None


def test_nginx_error_log() -> None:
    header = parse(
        "nginx_error", '2023/01/01 12:00:00 [error] 123#0: *1 open() "/x" failed (2: No such file or directory)'
    )
    assert header is not None
    assert (header.ts, header.level, header.process, header.pid) == (utc(2023, 1, 1, 12), "ERROR", "nginx", 123)
    assert header.message == '*1 open() "/x" failed (2: No such file or directory)'


# -- Java -----------------------------------------------------------------------------------------


def test_log4j_header_and_its_stack_trace_lines() -> None:
    parser = make_parser("log4j", TimeContext(reference=REFERENCE))
    header = parser.parse("2015-10-18 18:01:47,978 ERROR [main] org.foo.Bar: request failed")
    assert header is not None
    assert (header.ts, header.level, header.process, header.message) == (
        utc(2015, 10, 18, 18, 1, 47, 978000),
        "ERROR",
        "org.foo.Bar",
        "request failed",
    )
    for continuation in [
        "java.lang.IllegalStateException: boom",
        "\tat org.foo.Bar.handle(Bar.java:42)",
        "Caused by: java.io.IOException: closed",
        "\t... 12 more",
    ]:
        assert parser.parse(continuation) is None


def test_log4j_layout_variants() -> None:
    thread_first = parse("log4j", "2024-01-01 12:00:00,123 [main] WARN  org.foo.Bar - careful now")
    assert thread_first is not None
    assert (thread_first.level, thread_first.process, thread_first.message) == ("WARNING", "org.foo.Bar", "careful now")
    spring = parse(
        "log4j",
        "2024-01-01 12:00:00.123  INFO 12345 --- [           main] o.s.b.w.e.tomcat.TomcatWebServer"
        "         : Tomcat started on port(s): 8080 (http)",
    )
    assert spring is not None
    assert (spring.level, spring.pid, spring.process) == ("INFO", 12345, "o.s.b.w.e.tomcat.TomcatWebServer")
    assert spring.message == "Tomcat started on port(s): 8080 (http)"
    iso_t = parse("log4j", "2024-01-01T12:00:00.5+02:00 DEBUG com.acme.Job: tick")
    assert iso_t is not None and (iso_t.ts, iso_t.level) == (utc(2024, 1, 1, 10, 0, 0, 500000), "DEBUG")
    assert parse("log4j", "2024-01-01 12:00:00,123 HELLO world") is None


# -- Python logging -------------------------------------------------------------------------------


def test_python_logging_default_and_timed_layouts() -> None:
    default = parse("python", "WARNING:urllib3.connectionpool:Retrying (Retry(total=2)) after connection broken")
    assert default is not None
    assert (default.ts, default.level, default.process) == (None, "WARNING", "urllib3.connectionpool")
    assert default.message == "Retrying (Retry(total=2)) after connection broken"
    root = parse("python", "INFO:root:msg")
    assert root is not None and (root.level, root.process, root.message) == ("INFO", "root", "msg")
    timed = parse("python", "2024-01-01 12:00:00,123 - app.db - ERROR - slow query: 2.5 s")
    assert timed is not None
    assert (timed.ts, timed.level, timed.process, timed.message) == (
        utc(2024, 1, 1, 12, 0, 0, 123000),
        "ERROR",
        "app.db",
        "slow query: 2.5 s",
    )
    assert parse("python", "Traceback (most recent call last):") is None


# -- fallbacks ------------------------------------------------------------------------------------


def test_iso8601_lines_with_level_words_near_the_start() -> None:
    bracketed = parse("iso8601", "2024-01-01T12:00:00.5Z [INFO] started worker 3")
    assert bracketed is not None
    assert (bracketed.ts, bracketed.level, bracketed.message) == (
        utc(2024, 1, 1, 12, 0, 0, 500000),
        "INFO",
        "[INFO] started worker 3",
    )
    loguru = parse("iso8601", "2024-01-01 12:00:00.123 | ERROR    | app:main:12 - failed")
    assert loguru is not None and loguru.level == "ERROR"
    go = parse("iso8601", "2009/11/10 23:00:00 listening on :8080")
    assert go is not None and (go.ts, go.level) == (utc(2009, 11, 10, 23), None)
    assert parse("iso8601", "no time here") is None


def test_generic_accepts_every_non_empty_line() -> None:
    parser = make_parser("generic", TimeContext())
    error = parser.parse("ERROR: disk full on /var")
    assert error is not None and (error.ts, error.level, error.message) == (None, "ERROR", "ERROR: disk full on /var")
    prose = parser.parse("I think the backup ran")  # "I" is not taken for Android's INFO letter
    assert prose is not None and prose.level is None
    assert parser.parse("") is None
    assert parser.is_continuation("    at org.foo.Bar.run(Bar.java:1)")
    assert parser.is_continuation("Caused by: java.io.IOException")
    assert not parser.is_continuation("next message")


# -- registry -------------------------------------------------------------------------------------


def test_every_format_name_makes_a_parser_that_rejects_stack_trace_lines() -> None:
    for name in FORMAT_NAMES:
        parser = make_parser(name, TimeContext())
        assert parser.name == name
        if name != "generic":
            assert parser.parse("\tat org.foo.Bar.run(Bar.java:1)") is None, name


def test_unknown_format_name_is_a_usage_error() -> None:
    with pytest.raises(UnknownFormat, match="unknown log format 'klingon'") as caught:
        make_parser("klingon", TimeContext())
    assert isinstance(caught.value, UsageError)


def test_json_records_of_one_shape_read_each_their_own_values() -> None:
    # Records with the same keys share what is worked out from the keys; what they hold still decides.
    parser = make_parser("json", TimeContext())
    lines = [
        '{"time": "2024-05-01T10:00:00Z", "created_at": "2024-05-02T10:00:00Z", "level": "warn", "msg": "a", "n": 1}',
        '{"time": "", "created_at": "2024-05-02T10:00:00Z", "level": "", "msg": "b", "n": 2.5}',
        '{"time": null, "created_at": "2024-05-02T10:00:00Z", "level": null, "msg": null, "n": true}',
        '{"time": "2024-05-01T10:00:00Z", "created_at": "2024-05-02T10:00:00Z", "level": "error", "msg": "",'
        ' "n": 1e400}',
    ]
    first, second, third, fourth = (parser.parse(line) for line in lines)
    assert first is not None and second is not None and third is not None and fourth is not None
    assert first.ts == datetime(2024, 5, 1, 10, tzinfo=UTC) and first.level == "WARNING"
    assert first.message == "a created_at=2024-05-02T10:00:00Z n=1"
    # An empty or null time key gives way to a key named like a time ("created_at").
    assert second.ts == datetime(2024, 5, 2, 10, tzinfo=UTC) and second.level is None
    assert second.message == 'b time= level= n=2.5'
    assert third.ts == datetime(2024, 5, 2, 10, tzinfo=UTC)
    assert third.message == "n=true"
    assert fourth.level == "ERROR" and fourth.message == "created_at=2024-05-02T10:00:00Z msg= n=Infinity"
