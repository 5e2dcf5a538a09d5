"""While ingest runs, the collector's young generation is large (logchat.ingest.young_generation), in the writing
process and in the reader processes it forks; the thresholds are what they were once it ends, however it ends."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from logchat.ingest.formats import make_parser
from logchat.ingest.parallel import ReaderProcess, can_fork
from logchat.ingest.pipeline import BatchPlan
from logchat.ingest.sources import LineReader
from logchat.ingest.templates import TemplateMiner
from logchat.ingest.timestamps import TimeContext
from logchat.ingest.young_generation import INGEST_YOUNG_THRESHOLD, collecting_less_often
from logchat.services.ingest import Progress, SourceReport, index_inputs


class _Watching(Progress):
    """Notes the collector's thresholds each time a batch is committed."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int, int]] = []

    def advance(self, report: SourceReport, bytes_done: int, lines_done: int) -> None:
        self.seen.append(gc.get_threshold())


class _NotingParser:
    """A real parser that writes the collector's thresholds of the process parsing to a file, once."""

    def __init__(self, inner: Any, note: Path) -> None:
        self._inner, self._note = inner, note

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def parse(self, line: str) -> Any:
        if not self._note.exists():
            self._note.write_text(" ".join(map(str, gc.get_threshold())))
        return self._inner.parse(line)


def test_an_ingest_runs_with_a_large_young_generation_and_gives_the_thresholds_back(  # type: ignore[no-untyped-def]
    store, settings, loghub: Path
) -> None:
    before = gc.get_threshold()
    progress = _Watching()
    report = index_inputs(store, settings, [str(loghub / "OpenSSH" / "OpenSSH_2k.log")], progress=progress)
    assert not report.failed and report.sources[0].new_events == 2000
    assert progress.seen and all(young >= INGEST_YOUNG_THRESHOLD for young, _, _ in progress.seen)
    assert all(seen[1:] == before[1:] for seen in progress.seen)
    assert gc.get_threshold() == before


def test_the_thresholds_come_back_when_the_block_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError, match="store gone"), collecting_less_often():
        assert gc.get_threshold()[0] >= INGEST_YOUNG_THRESHOLD
        raise RuntimeError("store gone")
    assert gc.get_threshold() == before


def test_overlapping_blocks_keep_the_large_generation_until_the_last_one_ends() -> None:
    # Two ingests in threads of one process (two stores): they may end in either order.
    before = gc.get_threshold()
    first, second = collecting_less_often(), collecting_less_often()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] >= INGEST_YOUNG_THRESHOLD
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before


def test_the_reader_process_inherits_the_large_young_generation(loghub: Path, tmp_path: Path) -> None:
    assert can_fork()
    note = tmp_path / "thresholds"
    stamps = TimeContext(tz=UTC, reference=datetime(2026, 12, 31, tzinfo=UTC))
    parser = _NotingParser(make_parser("rfc3164", stamps), note)
    plan = BatchPlan(source_id=1, generation=1, first_id=1, batch_size=500, multiline=True)
    with (loghub / "OpenSSH" / "OpenSSH_2k.log").open("rb") as handle, collecting_less_often():
        reader = LineReader(handle, start_line=0, start_offset=0, max_line_bytes=1 << 16)
        events = sum(len(batch.rows) for batch in ReaderProcess(reader, parser, TemplateMiner(), plan))
    assert events == 2000
    assert int(note.read_text().split()[0]) >= INGEST_YOUNG_THRESHOLD
