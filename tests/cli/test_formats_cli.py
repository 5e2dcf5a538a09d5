"""`logchat formats` and `logchat detect`: seeing which format a file gets and why it has no times;
`index` reporting the share of events with a timestamp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from logchat.ingest.explain import EXAMPLES
from logchat.ingest.formats import FORMAT_NAMES, make_parser
from logchat.ingest.timestamps import TimeContext

# Formats whose lines carry no time at all.
UNTIMED_FORMATS = {"android_brief"}
CORPUS = Path(__file__).resolve().parents[1] / "ingest" / "corpus"


def logchat(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logchat", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=120)


def test_every_format_has_an_example_its_parser_reads() -> None:
    assert set(EXAMPLES) == set(FORMAT_NAMES)
    from logchat.ingest.events import RawLine
    from logchat.ingest.multiline import join_events

    for name in FORMAT_NAMES:
        parser = make_parser(name, TimeContext(reference=datetime(2026, 12, 3, 13, 20, tzinfo=UTC)))
        # Column formats show their header lines first; journal export shows a whole record.
        lines = [RawLine(number, 0, line) for number, line in enumerate(EXAMPLES[name].split("\n"), start=1)]
        events = list(join_events(lines, parser))
        assert len(events) == 1, name
        assert events[0].ts is not None or name in UNTIMED_FORMATS, name
        if name != "generic":
            header_first = name in ("journal_export", "apt_history")  # a record whose first line is the header
            assert parser.parse(lines[0].text if header_first else lines[-1].text) is not None, name


def test_formats_json_lists_every_format_with_its_example(tmp_path: Path) -> None:
    result = logchat("formats", "--json", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)["formats"]
    assert [entry["name"] for entry in listed] == list(FORMAT_NAMES)
    assert all(entry["example"] for entry in listed)
    text = logchat("formats", data_dir=tmp_path)
    assert text.returncode == 0 and "rfc3164" in text.stdout and "sshd[4120]" in text.stdout


def test_detect_shows_format_shares_and_the_lines_without_a_timestamp(tmp_path: Path) -> None:
    mixed = tmp_path / "app.log"
    mixed.write_text("Font directories:\n\t/usr/share/fonts\nfc-cache: succeeded\n"
                     "[2961] 2026/12/03 07:43:39.003770 [INF] Starting nats-server\n"
                     "[2961] 2026/12/03 07:43:40.003770 [ERR] authentication error\n")
    os.utime(mixed, (1_796_303_784, 1_796_303_784))
    result = logchat("detect", str(mixed), str(CORPUS / "mariadb_error.log"), "--json", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    app, mariadb = json.loads(result.stdout)["files"]
    assert app["format"] == "generic"
    assert (app["events"], app["with_timestamp"], app["with_level"]) == (4, 2, 2)
    assert app["timestamp_share"] == 0.5
    assert app["without_timestamp"] == [{"line": 1, "text": "Font directories:"},
                                        {"line": 3, "text": "fc-cache: succeeded"}]
    assert (mariadb["events"], mariadb["with_timestamp"], mariadb["with_level"]) == (7, 7, 7)
    assert not (tmp_path / "logchat.db").exists()  # nothing stored
    text = logchat("detect", str(mixed), "--lines", "3", data_dir=tmp_path)
    assert text.returncode == 0
    assert "generic, 2 events from 3 lines; 0% with a timestamp" in text.stdout
    assert "no timestamp, line 1: Font directories:" in text.stdout


def test_detect_names_a_missing_file_and_still_reports_the_others(tmp_path: Path) -> None:
    result = logchat("detect", str(tmp_path / "missing.log"), str(CORPUS / "redis.log"), data_dir=tmp_path)
    assert result.returncode == 1
    assert f"{tmp_path / 'missing.log'}: no such file" in result.stderr
    assert "redis.log: redis, 10 events from 10 lines; 100% with a timestamp" in result.stdout


def test_index_reports_timestamp_share_and_warns_below_ninety_percent(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = logchat("index", "--json", str(CORPUS / "no_timestamps.txt"), str(CORPUS / "nats_server.log"),
                     data_dir=data)
    assert result.returncode == 0, result.stderr
    shares = {Path(s["location"]).name: (s["with_timestamp"], s["timestamp_share"])
              for s in json.loads(result.stdout)["sources"]}
    assert shares == {"no_timestamps.txt": (0, 0.0), "nats_server.log": (9, 1.0)}
    assert "no_timestamps.txt: only 0% of 4 new events have a timestamp" in result.stderr
    assert "nats_server.log" not in result.stderr


def test_time_of_day_stamps_are_dated_from_the_file_modification_time(tmp_path: Path) -> None:
    trace = tmp_path / "strace.log"
    trace.write_text('23:59:59.900000 close(3)                = 0\n'
                     '00:00:00.100000 openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3\n')
    written = datetime(2026, 12, 3, 0, 5, tzinfo=UTC).timestamp()
    os.utime(trace, (written, written))
    data = tmp_path / "data"
    result = logchat("index", "--json", str(trace), data_dir=data)
    assert result.returncode == 0, result.stderr
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{data / 'logchat.db'}")
    with engine.connect() as connection:
        stamps = [row[0] for row in connection.execute(text("SELECT ts FROM events ORDER BY id"))]
    engine.dispose()
    as_utc = [datetime.fromtimestamp(us / 1e6, UTC) for us in stamps]
    assert as_utc == [datetime(2026, 12, 2, 23, 59, 59, 900000, tzinfo=UTC),
                      datetime(2026, 12, 3, 0, 0, 0, 100000, tzinfo=UTC)]


def test_detect_names_the_service_formats(tmp_path: Path) -> None:
    expected = {"aws_alb.log": "aws_alb", "aws_s3_access.log": "aws_s3", "uwsgi.log": "uwsgi", "redis.log": "redis",
                "sssd.log": "sssd", "strace.log": "strace", "mysql_general.log": "mysql_general",
                "mysql8_error.log": "mysql_error", "mariadb_error.log": "mysql_error", "apt_history.log": "apt_history",
                "kubernetes_cri_partial.log": "cri+log4j",
                "ruby_logger.log": "ruby_logger", "ruby_logger_progname.log": "ruby_logger",
                "laravel_monolog.log": "laravel", "laravel_channels.log": "laravel",
                "cups_error.log": "cups", "cups_access.log": "cups", "cups_page.log": "cups",
                "cups_access_errors.log": "cups", "go_stdlog.log": "go_log", "go_stdlog_flags.log": "go_log"}
    result = logchat("detect", "--json", *(str(CORPUS / name) for name in expected), data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    files = json.loads(result.stdout)["files"]
    assert {Path(entry["path"]).name: entry["format"] for entry in files} == expected
    assert all(entry["timestamp_share"] == 1.0 for entry in files)
