"""Format detection from a sample of lines, and telling text from binary data."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from logchat.ingest.detect import detect_format, is_probably_binary, timestamp_parse_rate
from logchat.ingest.formats import make_parser
from logchat.ingest.timestamps import TimeContext

SAMPLES: dict[str, list[str]] = {
    "rfc5424": [
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick",
        '<165>1 2003-10-11T22:14:15.003-07:00 web01 evntslog 1234 ID47 [ex@32473 iut="3"] An event',
        "<14>1 2003-10-11T22:14:16Z web01 cron 99 - - job done",
    ],
    "rfc3164": [
        "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
        "Dec 10 06:55:46 LabSZ sshd[24200]: input_userauth_request: invalid user webmaster [preauth]",
        "Dec 10 06:55:48 LabSZ kernel: eth0: link up",
        "Dec 10 07:02:47 LabSZ CRON[24206]: pam_unix(cron:session): session opened for user root",
    ],
    "json": [
        '{"time": "2024-01-01T12:00:00Z", "level": "info", "msg": "listening", "port": 8080}',
        '{"time": "2024-01-01T12:00:01Z", "level": "error", "msg": "db timeout", "retry": 1}',
        '{"ts": 1704110402000, "level": "warn", "msg": "slow"}',
    ],
    "access": [
        '203.0.113.9 - - [10/Oct/2023:13:55:36 -0700] "GET / HTTP/1.1" 200 612 "-" "curl/8.0"',
        '203.0.113.9 - - [10/Oct/2023:13:55:37 -0700] "GET /api HTTP/1.1" 502 157 "-" "curl/8.0"',
        '198.51.100.4 - bob [10/Oct/2023:13:55:38 -0700] "POST /login HTTP/1.1" 401 12',
    ],
    "apache_error": [
        "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties",
        "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 123:tid 456] AH00124: Request exceeded the limit",
    ],
    "nginx_error": [
        '2023/01/01 12:00:00 [error] 123#0: *1 open() "/usr/share/nginx/html/x" failed (2: No such file)',
        "2023/01/01 12:00:05 [warn] 123#0: *2 an upstream response is buffered to a temporary file",
        "2023/01/01 12:01:00 [notice] 1#1: signal process started",
    ],
    "log4j": [
        "2015-10-18 18:01:48,100 ERROR [main] org.foo.Bar: request failed",
        "java.lang.IllegalStateException: boom",
        "\tat org.foo.Bar.handle(Bar.java:42)",
        "\tat org.foo.App.main(App.java:7)",
        "Caused by: java.io.IOException: connection closed",
        "\tat org.foo.Net.read(Net.java:99)",
        "\tat org.foo.Net.read(Net.java:98)",
        "\tat org.foo.Net.read(Net.java:97)",
        "\t... 2 more",
        "2015-10-18 18:01:49,000 WARN [main] org.foo.App: retrying",
    ],
    "python": [
        "2024-01-01 12:00:00,123 - app.db - INFO - connected",
        "2024-01-01 12:00:01,456 - app.db - ERROR - query failed",
        "Traceback (most recent call last):",
        '  File "app.py", line 3, in <module>',
        "ValueError: bad value",
        "2024-01-01 12:00:02,000 - app.web - WARNING - slow request",
    ],
    "iso8601": [
        "2024-01-01T12:00:00.5Z [INFO] started worker 3",
        "2024-01-01T12:00:01.0Z [ERROR] worker 3 crashed",
        "2024-01-01T12:00:02.0Z restarting",
    ],
    "generic": [
        "Backup report",
        "All volumes were copied.",
        "ERROR volume /srv could not be read",
        "Finished.",
    ],
}


@pytest.mark.parametrize("expected", list(SAMPLES))
def test_detects_each_standard_format(expected: str) -> None:
    assert detect_format(SAMPLES[expected]) == expected


def test_python_default_layout_without_times() -> None:
    lines = ["INFO:root:starting", "WARNING:app.cache:miss rate high", "ERROR:root:giving up"]
    assert detect_format(lines) == "python"


def test_journalctl_short_iso_is_syslog() -> None:
    lines = [
        "2024-01-15T10:00:00+0100 web01 sshd[812]: Accepted publickey for deploy",
        "2024-01-15T10:00:01+0100 web01 systemd[1]: Started Session 4 of user deploy.",
    ]
    assert detect_format(lines) == "rfc3164"


def test_ties_go_to_the_more_specific_format() -> None:
    # Every log4j line is also an ISO-8601 line.
    lines = ["2015-10-18 18:01:47,978 INFO [main] org.foo.App: up", "2015-10-18 18:01:48,000 INFO [main] a.B: ok"]
    iso = make_parser("iso8601", TimeContext())
    assert all(iso.parse(line) is not None for line in lines)
    assert detect_format(lines) == "log4j"


def test_a_few_matching_lines_among_many_others_is_generic() -> None:
    lines = ["2024-01-01T12:00:00Z one dated line"] + [f"free text {n}" for n in range(20)]
    assert detect_format(lines) == "generic"


def test_only_the_first_fifty_non_empty_lines_count() -> None:
    lines = [""] * 10 + SAMPLES["rfc3164"] * 13 + ["free text"] * 200
    assert detect_format(lines) == "rfc3164"


def test_empty_sample_is_generic() -> None:
    assert detect_format([]) == "generic"
    assert detect_format(["", "   "]) == "generic"


def test_sample_lines_may_keep_their_line_ends_and_a_byte_order_mark() -> None:
    lines = ["\ufeff" + SAMPLES["access"][0] + "\r\n"] + [line + "\n" for line in SAMPLES["access"][1:]]
    assert detect_format(lines) == "access"


def test_binary_detection() -> None:
    assert is_probably_binary(b"\x7fELF\x02\x01\x01\x00\x00\x00")
    assert is_probably_binary(os.urandom(4096).replace(b"\x00", b"\x01") + b"\x00")
    assert is_probably_binary(bytes(range(1, 32)) * 100)
    assert is_probably_binary("log line\n".encode("utf-16"))
    assert not is_probably_binary(b"")
    assert not is_probably_binary(b"Jun 14 15:16:01 combo sshd[1]: ok\r\n" * 300)
    assert not is_probably_binary("caf\u00e9 \u2014 \x1b[31mred\x1b[0m\tok\n".encode() * 100)
    # Only the first 8 KiB are looked at.
    assert not is_probably_binary(b"text line\n" * 1000 + b"\x00")


def test_timestamp_parse_rate_on_a_file(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("\n".join(SAMPLES["log4j"]) + "\n\n", encoding="utf-8")
    name, rate = timestamp_parse_rate(log, datetime(2024, 1, 1, tzinfo=UTC))
    assert name == "log4j"
    assert rate == pytest.approx(2 / 10)
