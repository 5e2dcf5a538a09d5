"""Fields no real log has (endless digit runs, nesting deeper than the stack): the parser declines the field or
the line, it never raises. Each case was found by tests/test_adversarial_inputs.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from logchat.ingest.formats import make_parser
from logchat.ingest.timestamps import TimeContext

REFERENCE = datetime(2026, 11, 4, tzinfo=UTC)


def parse(format_name: str, line: str):  # type: ignore[no-untyped-def]
    return make_parser(format_name, TimeContext(reference=REFERENCE)).parse(line)


@pytest.mark.parametrize("pid", ["9" * 19, "9" * 4400, "²"])
@pytest.mark.parametrize(
    ("format_name", "template"),
    [
        ("rfc3164", "Dec 10 07:51:15 LabSZ sshd[{pid}]: error: Received disconnect"),
        ("rfc5424", "<34>1 2003-10-11T22:14:15.003Z host su {pid} ID47 - failed"),
        ("nginx_error", "2023/01/01 12:00:00 [error] {pid}#0: *1 open() failed"),
        ("oslo", '2017-05-16 00:00:00.008 {pid} INFO nova.api [req-1] "GET /v2" status: 200'),
        ("hdfs", "081109 203615 {pid} INFO dfs.DataNode: terminating"),
        ("android", "03-17 16:13:38.811  {pid}  2395 D WindowManager: freezing"),
        ("pipe_delimited", "20171223-22:15:29:606|Step_LSC|{pid}|onStandStepChanged 3579"),
        ("json", '{{"msg": "boom", "pid": "{pid}"}}'),
    ],
)
def test_a_pid_too_long_for_a_bigint_is_dropped_not_raised(format_name: str, template: str, pid: str) -> None:
    # 19 digits overflowed the database's BIGINT at insert time; 4,400 digits made int() raise; "²" is a digit
    # to str.isdigit() but not to int().
    header = parse(format_name, template.format(pid=pid))
    assert header is None or header.pid is None


def test_ordinary_pids_are_still_read() -> None:
    assert parse("rfc3164", "Dec 10 07:51:15 LabSZ sshd[24324]: x").pid == 24324
    assert parse("json", '{"msg": "x", "pid": 42}').pid == 42
    assert parse("json", '{"msg": "x", "pid": "42"}').pid == 42


@pytest.mark.parametrize(
    "line",
    [
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        '{"msg":' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
    ids=["objects", "arrays"],
)
def test_json_nested_deeper_than_the_stack_is_not_a_json_header(line: str) -> None:
    assert parse("json", line) is None


@pytest.mark.parametrize(
    "line",
    [
        '{"msg": "x", "__REALTIME_TIMESTAMP": 1e999}',
        '{"msg": "x", "PRIORITY": 1e999}',
        '{"msg": "x", "time": {"seconds": 1, "nanos": "soon"}}',
        '{"msg": "x", "time": {"seconds": ' + "9" * 400 + ', "nanos": 5}}',
        '{"msg": "x", "time": "' + "²" * 10 + '"}',
    ],
)
def test_json_numbers_no_time_can_hold_leave_the_time_empty(line: str) -> None:
    header = parse("json", line)
    assert header is not None and header.ts is None and header.message.startswith("x")


def test_json_seconds_and_nanos_still_read() -> None:
    header = parse("json", '{"msg": "x", "time": {"seconds": 1700000000, "nanos": 500000000}}')
    assert header.ts == datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC)
