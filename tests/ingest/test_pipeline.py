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
