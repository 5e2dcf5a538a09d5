"""Every file of tests/ingest/corpus parses into the events its sidecar lists.

Each `NAME` has a sidecar `NAME.json`: the format detection must choose, optionally the reference
time standing in for the file's modification time (default 2026-12-03T13:20:00Z), and each event as
[first line, last line, UTC timestamp or null, level or null].
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from logchat.ingest.detect import detect_format
from logchat.ingest.formats import make_parser
from logchat.ingest.multiline import join_events
from logchat.ingest.sources import LineReader, sample_lines
from logchat.ingest.timestamps import TimeContext

CORPUS = Path(__file__).parent / "corpus"
DEFAULT_REFERENCE = "2026-12-03T13:20:00+00:00"
FILES = sorted(path for path in CORPUS.iterdir() if path.is_file() and path.suffix != ".json")


def parse_file(path: Path, reference: datetime) -> tuple[str, list[list[object]]]:
    with path.open("rb") as handle:
        fmt = detect_format(sample_lines(handle.read(8192)), ctx=TimeContext(reference=reference))
        handle.seek(0)
        reader = LineReader(handle, start_line=0, start_offset=0, max_line_bytes=65536)
        events = list(join_events(reader, make_parser(fmt, TimeContext(reference=reference))))
    return fmt, [
        [event.line_no, event.line_end, event.ts.isoformat().replace("+00:00", "Z") if event.ts else None, event.level]
        for event in events
    ]


def test_the_corpus_is_large_enough_and_every_file_has_a_sidecar() -> None:
    assert len(FILES) >= 30
    missing = [path.name for path in FILES if not path.with_name(path.name + ".json").is_file()]
    assert missing == []


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_file_parses_into_the_expected_events(path: Path) -> None:
    expected = json.loads(path.with_name(path.name + ".json").read_text())
    reference = datetime.fromisoformat(expected.get("reference", DEFAULT_REFERENCE))
    fmt, events = parse_file(path, reference)
    assert fmt == expected["format"]
    assert len(events) == len(expected["events"])
    assert events == expected["events"]
