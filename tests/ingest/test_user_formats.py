"""`[[formats]]` in logchat.toml: validated at load with errors naming the key, tried before the
built-in formats, and parsed into events with their time, level, fields and multi-line rule."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from logchat.config import load_settings
from logchat.errors import ConfigError
from logchat.ingest.formats.user import set_user_formats

PAYMENTS = (
    "[[formats]]\n"
    'name = "payments"\n'
    r"pattern = '^(?P<ts>\d\d/\d\d/\d{4} \d\d:\d\d:\d\d\.\d{3}) \| (?P<level>[A-Z]) \| (?P<process>[\w.]+) "
    r"\| order=(?P<order>\d+) \| (?P<message>.*)'"
) + r"""
timestamp = "%d/%m/%Y %H:%M:%S.%f"
levels = { E = "ERROR", W = "WARNING", I = "INFO" }
example = "03/12/2026 13:16:15.120 | I | pay.gateway | order=8812 | charge accepted"

[[formats]]
name = "batch"
pattern = '^(?P<ts>\S+) (?P<level>\w+) (?P<message>.*)'
timestamp = "%Y-%m-%dT%H:%M:%S%z"
multiline = "none"
"""
PAY_LOG = """\
03/12/2026 13:16:15.120 | I | pay.gateway | order=8812 | charge accepted
03/12/2026 13:16:16.400 | E | pay.gateway | order=8813 | charge declined
  reason: insufficient funds
03/12/2026 13:16:17.000 | W | pay.retry | order=8813 | retrying in 5s
"""


@pytest.fixture(autouse=True)
def no_user_formats_left_behind():  # type: ignore[no-untyped-def]
    yield
    set_user_formats([])


def logchat(*args: str, config: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logchat", "--config", str(config), "--data-dir", str(data_dir),
                           *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("name = 'x'\npattern = '(?P<ts>[0-9'",
         "config key 'formats.0.pattern': Value error, not a regular expression"),
        ("name = 'x'\npattern = '.*'", "config key 'formats.0.pattern': Value error, the pattern needs named groups"),
        ("name = 'x'\npattern = '(?P<message>.*)'\ntimestamp = 'yyyy-mm-dd'",
         "config key 'formats.0.timestamp': Value error, a strptime pattern"),
        ("name = 'x'\npattern = '(?P<message>.*)'\nlevels = { E = 'bad' }",
         "config key 'formats.0.levels': Value error, 'E' maps to 'bad', which is not a level"),
        ("name = 'x'\npattern = '(?P<message>.*)'\nmultiline = 'sometimes'",
         "config key 'formats.0.multiline': Value error, one of continuation, none"),
        ("name = 'log4j'\npattern = '(?P<message>.*)'",
         "config key 'formats.0.name': Value error, 'log4j' is a built-in"),
        ("name = 'x'\npattern = '(?P<ts>\\d+) (?P<message>.*)'\nexample = 'no digits here'",
         "the example does not match the pattern of format 'x'"),
        ("name = 'x'\npatern = '(?P<message>.*)'", "config key 'formats.0.pattern': Field required"),
    ],
)
def test_bad_format_tables_are_refused_naming_the_key(tmp_path: Path, table: str, expected: str) -> None:
    config = tmp_path / "logchat.toml"
    config.write_text("[[formats]]\n" + table + "\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert expected in str(caught.value)
    assert str(config) in str(caught.value)


def test_user_format_is_detected_first_and_parsed_into_events(tmp_path: Path) -> None:
    config = tmp_path / "logchat.toml"
    config.write_text(PAYMENTS)
    log = tmp_path / "pay.log"
    log.write_text(PAY_LOG)
    data = tmp_path / "data"
    result = logchat("index", "--json", str(log), config=config, data_dir=data)
    assert result.returncode == 0, result.stderr
    source = json.loads(result.stdout)["sources"][0]
    assert (source["format"], source["new_events"], source["timestamp_share"]) == ("payments", 3, 1.0)

    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{data / 'logchat.db'}")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT ts, level, process, message, line_no, line_end FROM events ORDER BY id"))
        events = [tuple(row) for row in rows]
    engine.dispose()
    assert [(level, process, line_no, line_end) for _, level, process, _, line_no, line_end in events] == [
        ("INFO", "pay.gateway", 1, 1), ("ERROR", "pay.gateway", 2, 3), ("WARNING", "pay.retry", 4, 4)]
    assert events[1][3] == "charge declined order=8813\n  reason: insufficient funds"
    assert events[0][0] == 1_796_303_775_120_000  # 2026-12-03T13:16:15.120Z in epoch microseconds


def test_formats_lists_user_formats_first_and_detect_uses_them(tmp_path: Path) -> None:
    config = tmp_path / "logchat.toml"
    config.write_text(PAYMENTS)
    listed = json.loads(logchat("formats", "--json", config=config, data_dir=tmp_path).stdout)["formats"]
    assert [(entry["name"], entry["user_defined"]) for entry in listed[:3]] == [
        ("payments", True), ("batch", True), ("rfc5424", False)]
    log = tmp_path / "pay.log"
    log.write_text(PAY_LOG)
    detected = json.loads(logchat("detect", "--json", str(log), config=config, data_dir=tmp_path).stdout)
    assert detected["files"][0]["format"] == "payments"
    assert detected["files"][0]["with_level"] == 3


def test_multiline_none_keeps_every_line_an_event_and_offset_stamps_become_utc(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from logchat.ingest.events import RawLine
    from logchat.ingest.formats import make_parser
    from logchat.ingest.multiline import join_events
    from logchat.ingest.timestamps import TimeContext

    config = tmp_path / "logchat.toml"
    config.write_text(PAYMENTS)
    load_settings(config)
    text = ["2026-12-03T14:16:15+0100 error nightly export failed", "  see export.log", "unrelated banner line"]
    lines = [RawLine(number, 0, line) for number, line in enumerate(text, start=1)]
    events = list(join_events(lines, make_parser("batch", TimeContext())))
    assert [(e.line_no, e.ts, e.level) for e in events] == [
        (1, datetime(2026, 12, 3, 13, 16, 15, tzinfo=UTC), "ERROR"), (2, None, None), (3, None, None)]
