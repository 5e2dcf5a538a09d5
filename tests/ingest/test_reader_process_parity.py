"""The forked reader hands over exactly the batches that reading in this process produces."""

from __future__ import annotations

import json
from pathlib import Path

from logchat.ingest.detect import detect_format
from logchat.ingest.formats import make_parser
from logchat.ingest.parallel import ReaderProcess
from logchat.ingest.pipeline import Batch, BatchPlan, produce_batches
from logchat.ingest.sources import LineReader, sample_lines
from logchat.ingest.templates import TemplateMiner
from logchat.ingest.timestamps import TimeContext


def _json_log(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(3_000):
            record = {"time": f"2026-11-03T10:{i // 60 % 60:02d}:{i % 60:02d}Z", "level": "error" if i % 7 else "info",
                      "msg": f"payment {i} refused for user café-{i % 13} password=hunter{i}", "latency_ms": i % 250,
                      "big": 2**70 + i, "ratio": i / 7}  # fmt: skip
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.write("a line of no format at all, 𝄞 and \x00 in it\n")
    return path


def _batches(path: Path, *, forked: bool) -> tuple[list[Batch], bytes | None]:
    plan = BatchPlan(source_id=3, generation=1, first_id=101, batch_size=700, multiline=True, fields=True)
    with path.open("rb") as handle:
        parser = make_parser(detect_format(sample_lines(handle.read(8192))), TimeContext())
        handle.seek(0)
        reader = LineReader(handle, start_line=0, start_offset=0, max_line_bytes=65536)
        miner = TemplateMiner()
        if not forked:
            return list(produce_batches(reader, parser, miner, plan)), miner.dump_state()
        process = ReaderProcess(reader, parser, miner, plan)
        return list(process), process.miner_state


def test_the_reader_process_hands_over_the_same_batches(tmp_path: Path) -> None:
    log = _json_log(tmp_path / "app.jsonl")
    here, here_state = _batches(log, forked=False)
    there, there_state = _batches(log, forked=True)
    assert len(here) == len(there) == 5
    for mine, theirs in zip(here, there, strict=True):
        assert theirs.rows == mine.rows
        assert [type(value) for row in theirs.rows for value in row] == [
            type(value) for row in mine.rows for value in row
        ]
        assert (theirs.rollup, theirs.end_offset, theirs.end_line, theirs.changed_templates, theirs.error) == (
            mine.rollup, mine.end_offset, mine.end_line, mine.changed_templates, mine.error
        )  # fmt: skip
        assert theirs.fields.rows() == mine.fields.rows()
    assert there_state == here_state
    rows = [row for batch in there for row in batch.rows]
    assert [row[0] for row in rows] == list(range(101, 101 + 3_000))
    assert any(row[14] for row in rows)  # fields were read and crossed the pipe
    assert "𝄞" in rows[-1][13]  # the last line of no format joined the event before it
