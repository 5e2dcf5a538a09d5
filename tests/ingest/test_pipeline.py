"""From lines to batches: epoch microseconds, the hourly rollup and where batches end."""

from __future__ import annotations

import calendar
import io
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from logchat.ingest.formats import make_parser
from logchat.ingest.pipeline import HOUR_US, Batch, BatchPlan, micros, produce_batches
from logchat.ingest.sources import LineReader
from logchat.ingest.templates import TemplateMiner
from logchat.ingest.timestamps import TimeContext


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 1, 3, 4, 5, 123456, tzinfo=UTC),
        datetime(2026, 11, 1, 3, 4, 5, 999999, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
        datetime(1960, 1, 1, tzinfo=timezone(timedelta(hours=-3))),
        datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")),
    ],
)
def test_micros_is_the_exact_epoch_microsecond(value: datetime) -> None:
    utc = value.astimezone(UTC)
    assert micros(value) == calendar.timegm(utc.timetuple()) * 1_000_000 + utc.microsecond


def _row(event_id: int, level: str | None, host: str | None, template_id: int) -> tuple[object, ...]:
    return (event_id, 1, 0, event_id, event_id, 0, None, level, host, "app", None, template_id, "m", "m", None)


def test_batch_rollup_keeps_counts_and_bounds_per_hour_and_untimed_events_apart() -> None:
    batch = Batch()
    hour = 1_793_502_000 * 1_000_000 // HOUR_US * HOUR_US
    stamps = [hour + 50, hour + 10, None, hour + 90, hour + HOUR_US + 5, None, hour + 30]
    for event_id, ts in enumerate(stamps, start=1):
        batch.add(_row(event_id, "INFO", None, 7), ts)
    assert batch.timestamped == 5
    assert batch.rollup == {
        (hour, 1, "INFO", "", "app", 7): [4, hour + 10, hour + 90],
        (hour + HOUR_US, 1, "INFO", "", "app", 7): [1, hour + HOUR_US + 5, hour + HOUR_US + 5],
        (-1, 1, "INFO", "", "app", 7): [2, None, None],
    }
    assert batch.template_stats() == {7: [7, hour + 10, hour + HOUR_US + 5]}


def test_rollup_hours_of_times_before_1970_round_down() -> None:
    batch = Batch()
    batch.add(_row(1, None, "h", 1), -1)
    assert batch.rollup == {(-HOUR_US, 1, "", "h", "app", 1): [1, -1, -1]}


def _batches(lines: list[str], plan: BatchPlan) -> list[Batch]:
    data = "".join(line + "\n" for line in lines).encode()
    reader = LineReader(io.BytesIO(data), start_line=0, start_offset=0, max_line_bytes=65536)
    return list(produce_batches(reader, make_parser("rfc3164", TimeContext()), TemplateMiner(), plan))


def test_a_short_first_batch_then_full_ones_each_ending_where_the_next_starts() -> None:
    lines = [f"Nov  1 10:{i // 60 % 60:02d}:{i % 60:02d} web-01 sshd[{i}]: session {i} opened" for i in range(95)]
    plan = BatchPlan(source_id=1, generation=0, first_id=1, batch_size=30, multiline=True, first_batch_size=3)
    batches = _batches(lines, plan)
    assert [len(batch.rows) for batch in batches] == [3, 30, 30, 30, 2]
    assert [row[0] for batch in batches for row in batch.rows] == list(range(1, 96))
    assert [batch.end_line for batch in batches] == [3, 33, 63, 93, 95]
    offsets = [0, *(batch.end_offset for batch in batches)]
    assert all(batch.rows[0][5] == offsets[i] for i, batch in enumerate(batches))

    unsplit = _batches(lines, BatchPlan(source_id=1, generation=0, first_id=1, batch_size=30, multiline=True))
    assert [len(batch.rows) for batch in unsplit] == [30, 30, 30, 5]
    assert [row for batch in unsplit for row in batch.rows] == [row for batch in batches for row in batch.rows]


def _session_lines(count: int) -> list[str]:
    return [f"Nov  1 10:{i // 60 % 60:02d}:{i % 60:02d} web-01 sshd[{i}]: session {i} opened" for i in range(count)]


@pytest.mark.parametrize(("count", "sizes"), [
    (95, [3, 30, 30, 29, 3]),  # 32 left after the third: not one batch of 30 and one of 2, but 29 and 3
    (100, [3, 30, 30, 30, 7]),  # the last 7 are a short batch already: not split into smaller ones
    (66, [3, 30, 30, 3]),  # 33 left after the second: a full batch, then the short end
    (36, [3, 30, 3]),  # 33 left after the first: a full batch, then the short end
])
def test_the_batch_before_the_end_of_the_source_leaves_a_short_last_batch(count: int, sizes: list[int]) -> None:
    lines = _session_lines(count)
    end = sum(len(line) + 1 for line in lines)
    plan = BatchPlan(source_id=1, generation=0, first_id=1, batch_size=30, multiline=True, first_batch_size=3,
                     end_offset=end)
    batches = _batches(lines, plan)
    assert [len(batch.rows) for batch in batches] == sizes
    assert [row[0] for batch in batches for row in batch.rows] == list(range(1, count + 1))
    assert [batch.end_line for batch in batches] == [sum(sizes[: i + 1]) for i in range(len(sizes))]
    offsets = [0, *(batch.end_offset for batch in batches)]
    assert all(batch.rows[0][5] == offsets[i] for i, batch in enumerate(batches))
    assert offsets[-1] == end


def test_a_source_that_grew_past_its_end_is_read_to_its_end_in_full_batches() -> None:
    lines = _session_lines(200)
    end = sum(len(line) + 1 for line in lines[:95])  # its size when the run began; it is longer by now
    plan = BatchPlan(source_id=1, generation=0, first_id=1, batch_size=30, multiline=True, first_batch_size=3,
                     end_offset=end)
    batches = _batches(lines, plan)
    sizes = [len(batch.rows) for batch in batches]
    assert sizes[:4] == [3, 30, 30, 29] and sum(sizes) == 200
    assert all(size == 30 for size in sizes[4:-1])
    assert [row[0] for batch in batches for row in batch.rows] == list(range(1, 201))
