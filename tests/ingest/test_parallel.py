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
from logchat.ingest.parallel import PIPE_BYTES, ReaderProcess, can_fork
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
    assert _receiving_threads() == []


def _receiving_threads() -> list[str]:
    import threading

    return [thread.name for thread in threading.enumerate() if thread.name == "logchat-batch-receive"]


def test_batches_larger_than_the_pipe_arrive_whole_once_and_in_order(tmp_path: Path) -> None:
    # Batches of megabytes, past the pipe's buffer: received by the writer's receiving thread in pieces, while
    # the reader goes on with the next one.
    log = tmp_path / "big.log"
    lines = [
        f"Dec {1 + index // 20000:2d} 10:{index // 600 % 60:02d}:{index // 10 % 60:02d} host sshd[{index}]: "
        f"Accepted publickey for user{index % 97} from 10.0.{index % 250}.{index % 7} port {40000 + index} ssh2"
        for index in range(60_000)
    ]
    log.write_text("\n".join(lines) + "\n")
    with log.open("rb") as handle:
        reader, parser, miner, plan = _parts(handle)
        plan.batch_size, plan.first_batch_size, plan.fields = 25_000, 2_500, True
        in_process = _rows(produce_batches(reader, parser, miner, plan))
    with log.open("rb") as handle:
        reader, parser, forked_miner, plan = _parts(handle)
        plan.batch_size, plan.first_batch_size, plan.fields = 25_000, 2_500, True
        process = ReaderProcess(reader, parser, forked_miner, plan)
        batches = list(process)
    assert [len(batch.rows) for batch in batches] == [2_500, 25_000, 25_000, 7_500]
    assert len(_encoded(batches[1])) > 2 * PIPE_BYTES  # each full batch is several pipes' worth
    assert _rows(batches) == in_process
    assert _receiving_threads() == []


def _encoded(batch: Any) -> bytes:
    import pickle

    return pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)


def test_the_pipe_to_the_reader_process_holds_a_mebibyte(openssh_log: Path) -> None:
    import fcntl

    with openssh_log.open("rb") as handle:
        reader, parser, miner, plan = _parts(handle)
        process = ReaderProcess(reader, parser, miner, plan)
        process.start()
        assert process._started is not None
        receiver = process._started[0]
        assert fcntl.fcntl(receiver.fileno(), fcntl.F_GETPIPE_SZ) == PIPE_BYTES
        assert len(_rows(process)) == 2000


class _Stalling:
    """A parser that stops for a minute at the line that says STALL, as a reader stuck on a slow disk would."""

    def __init__(self, parser: Any) -> None:
        self._parser = parser
        self.name = parser.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)

    def parse(self, line: str) -> Any:
        if "STALL" in line:
            import time

            time.sleep(60)
        return self._parser.parse(line)


@pytest.fixture
def stalling_log(openssh_log: Path, tmp_path: Path) -> Path:
    """The OpenSSH log with a line that _Stalling stops at, in the reader's second batch (lines 31-330)."""
    lines = openssh_log.read_bytes().splitlines(keepends=True)
    stalling = tmp_path / "stalling.log"
    stalling.write_bytes(b"".join(lines[:100]) + b"Dec 10 06:55:46 LabSZ sshd[1]: STALL\n" + b"".join(lines[100:]))
    return stalling


def test_a_reader_stopped_from_another_thread_while_the_writer_waits_is_one_error_and_leaves_nothing_behind(
    stalling_log: Path,
) -> None:
    import multiprocessing
    import threading

    # The writer waits for the reader's second batch, which a stalled read holds up for a minute, until the run
    # is stopped (as the daemon's shutdown does, from another thread).
    with stalling_log.open("rb") as handle:
        reader, parser, miner, plan = _parts(handle)
        process = ReaderProcess(reader, _Stalling(parser), miner, plan)
        batches = iter(process)
        assert len(next(batches).rows) == 30
        assert _receiving_threads() == ["logchat-batch-receive"]
        threading.Timer(0.3, process.stop).start()
        with pytest.raises(SourceUnreadable, match=r"ended unexpectedly \(killed by SIGTERM\)"):
            next(batches)  # not the second batch, a minute later
    assert multiprocessing.active_children() == []
    assert _receiving_threads() == []


def test_a_reader_deaf_to_sigterm_left_before_its_end_is_killed_and_leaves_no_thread_behind(
    stalling_log: Path,
) -> None:
    import multiprocessing

    # A reader that ignores SIGTERM, stalled in its second batch: the writer leaves it (a run asked to stop), and
    # the thread receiving its batches ends only when its pipe does, after the reader is killed.
    with stalling_log.open("rb") as handle:
        reader, parser, miner, plan = _parts(handle)
        process = ReaderProcess(reader, _Stalling(parser), miner, plan,
                                in_child=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN))
        batches = iter(process)
        assert len(next(batches).rows) == 30
        batches.close()
    assert process._started is not None
    assert process._started[1].exitcode == -signal.SIGKILL
    assert multiprocessing.active_children() == []
    assert _receiving_threads() == []
