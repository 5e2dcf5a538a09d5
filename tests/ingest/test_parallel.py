"""The forked reader process (ingest/parallel.py) on a real loghub log: its batches are the batches the
same reader gives in this process, and a reader process that fails or is killed is one clear error
rather than a wait for batches that never come."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from logchat.errors import SourceUnreadable
from logchat.ingest.formats import make_parser
from logchat.ingest.parallel import ReaderProcess, can_fork
from logchat.ingest.pipeline import BatchPlan, produce_batches
from logchat.ingest.sources import LineReader
from logchat.ingest.templates import TemplateMiner
from logchat.ingest.timestamps import TimeContext


def _parts(handle: BinaryIO) -> tuple[LineReader, Any, TemplateMiner, BatchPlan]:
    reader = LineReader(handle, start_line=0, start_offset=0, max_line_bytes=1 << 16)
    parser = make_parser("rfc3164", TimeContext(tz=UTC, reference=datetime(2026, 12, 31, tzinfo=UTC)))
    plan = BatchPlan(source_id=1, generation=1, first_id=1, batch_size=300, multiline=True, first_batch_size=30)
    return reader, parser, TemplateMiner(), plan


def _rows(batches: Any) -> list[tuple[Any, ...]]:
    return [(tuple(row), batch.end_offset, batch.end_line) for batch in batches for row in batch.rows]


@pytest.fixture
def openssh_log(loghub: Path) -> Path:
    return loghub / "OpenSSH" / "OpenSSH_2k.log"


def test_the_reader_process_gives_the_batches_and_templates_of_reading_in_process(openssh_log: Path) -> None:
    assert can_fork()
    with openssh_log.open("rb") as handle:
        reader, parser, miner, plan = _parts(handle)
        in_process = _rows(produce_batches(reader, parser, miner, plan))
    with openssh_log.open("rb") as handle:
        reader, parser, forked_miner, plan = _parts(handle)
        process = ReaderProcess(reader, parser, forked_miner, plan)
        forked = _rows(process)
    assert forked == in_process
    assert len(forked) == 2000 and forked[-1][2] == 2000  # every line of the file, up to its last line
    # The templates the reader process mined come back as its miner's state: the same templates.
    assert process.miner_state is not None
    carried_on = TemplateMiner(process.miner_state)
    assert carried_on.dump_state() == miner.dump_state()
    # This process's copy of the miner was not touched: the reader mined on its own.
    assert TemplateMiner(forked_miner.dump_state()).dump_state() == TemplateMiner().dump_state()


def test_a_reader_process_that_fails_while_reading_is_said_with_its_error(openssh_log: Path) -> None:
    with openssh_log.open("rb") as handle:
        reader, parser, miner, plan = _parts(handle)
        # The reader's copy of the file is gone before it reads (closed in the child only).
        process = ReaderProcess(reader, parser, miner, plan, in_child=handle.close)
        with pytest.raises(SourceUnreadable, match=r"the reader process failed: ValueError: .*closed file"):
            list(process)
        assert not handle.closed and handle.read(4) == openssh_log.read_bytes()[:4]  # the parent's is intact
    assert process.miner_state is None


def test_a_reader_process_killed_is_said_with_its_exit_status(openssh_log: Path) -> None:
    with openssh_log.open("rb") as handle:
        reader, parser, miner, plan = _parts(handle)
        # As the kernel's OOM killer would end it: SIGKILL, no chance to say anything.
        process = ReaderProcess(reader, parser, miner, plan, in_child=lambda: os.kill(os.getpid(), signal.SIGKILL))
        with pytest.raises(SourceUnreadable, match=r"the reader process ended unexpectedly \(killed by SIGKILL\)"):
            list(process)


def test_a_reader_process_that_exits_on_its_own_is_said_with_its_exit_code(openssh_log: Path) -> None:
    with openssh_log.open("rb") as handle:
        reader, parser, miner, plan = _parts(handle)
        process = ReaderProcess(reader, parser, miner, plan, in_child=lambda: os._exit(3))
        with pytest.raises(SourceUnreadable, match=r"the reader process ended unexpectedly \(exit 3\)"):
            list(process)


def test_a_reader_process_left_before_its_end_is_ended_and_leaves_no_process_behind(openssh_log: Path) -> None:
    import multiprocessing

    with openssh_log.open("rb") as handle:
        reader, parser, miner, plan = _parts(handle)
        batches = iter(ReaderProcess(reader, parser, miner, plan))
        first = next(batches)
        assert len(first.rows) == 30  # the short first batch
        assert len(multiprocessing.active_children()) == 1
        batches.close()  # as a run asked to stop between batches does
    assert multiprocessing.active_children() == []
