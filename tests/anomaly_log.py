"""A week of a service's log and one hour after it in which things change, for the anomaly tests.

The baseline is 2026-03-01 00:00 to 2026-03-08 00:00 UTC, the window 2026-03-08 00:00 to 01:00. What the
window holds against the week before it:
- "request served" (INFO) every 10 minutes throughout: steady;
- "heartbeat from node" (INFO) every 5 minutes, then silent in the window: a drop;
- "connection refused by db" (ERROR) twice a day, then 30 times in 5 minutes: a spike, and ERROR jumps;
- "disk quota exceeded" (WARNING) never before, 3 times in the window: new;
- "cache flushed" (INFO) once on 2026-02-26, before the baseline, and once in the window: one event
  against none in the baseline, which must not outrank the real spike.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

BASELINE_START = datetime(2026, 3, 1, tzinfo=UTC)
WINDOW_START = datetime(2026, 3, 8, tzinfo=UTC)
WINDOW_END = datetime(2026, 3, 8, 1, tzinfo=UTC)

STEADY = "request served in <NUM> ms"
DROPPED = "heartbeat from node <NUM>"
SPIKED = "connection refused by db-<NUM>"
NEW = "disk quota exceeded for user <NUM>"
ONCE = "cache flushed"


def _line(moment: datetime, level: str, message: str) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S},{moment.microsecond // 1000:03d} {level} [main] app.Service: {message}"


def week_then_window() -> list[str]:
    events: list[tuple[datetime, str, str]] = [(datetime(2026, 2, 26, 12, tzinfo=UTC), "INFO", "cache flushed")]
    step = 0
    moment = BASELINE_START
    while moment < WINDOW_END:
        events.append((moment, "INFO", f"request served in {10 + step % 90} ms"))
        step += 1
        moment += timedelta(minutes=10)
    moment = BASELINE_START + timedelta(seconds=30)
    while moment < WINDOW_START:
        events.append((moment, "INFO", f"heartbeat from node {step % 4}"))
        step += 1
        moment += timedelta(minutes=5)
    for day in range(7):
        for hour in (3, 15):
            events.append((BASELINE_START + timedelta(days=day, hours=hour, minutes=7), "ERROR",
                           f"connection refused by db-{day % 3}"))
    for n in range(30):
        burst = WINDOW_START + timedelta(minutes=20, seconds=10 * n)
        events.append((burst, "ERROR", f"connection refused by db-{n % 3}"))
    for n in range(3):
        events.append((WINDOW_START + timedelta(minutes=40 + n), "WARNING", f"disk quota exceeded for user {1000 + n}"))
    events.append((WINDOW_START + timedelta(minutes=50), "INFO", "cache flushed"))
    events.sort()
    return [_line(*event) for event in events]


def write_log(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def index_lines(store: object, settings: object, path: Path, lines: list[str]) -> None:
    from logchat.services.ingest import index_inputs

    report = index_inputs(store, settings, [str(write_log(path, lines))])
    assert not report.failed, report.to_dict()
