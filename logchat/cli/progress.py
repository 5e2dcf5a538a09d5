"""A rich progress bar for ingestion: bytes, lines and lines/s, one task per source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from logchat.services.ingest import Progress, SourceReport

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress


class RichIngestProgress(Progress):
    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import Progress as RichProgress

        self._bar: RichProgress = RichProgress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[lines]:>10,} lines  {task.fields[rate]:>9,.0f} lines/s"),
            TimeRemainingColumn(),
            transient=False,
        )
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> RichIngestProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def start_source(self, report: SourceReport, total_bytes: int | None) -> None:
        self._tasks[report.location] = self._bar.add_task(source_label(report.location), total=total_bytes,
                                                          lines=0, rate=0.0)

    def advance(self, report: SourceReport, bytes_done: int, lines_done: int) -> None:
        task_id = self._tasks.get(report.location)
        if task_id is None:
            return
        task = self._bar.tasks[task_id]
        elapsed = task.elapsed or 0.0
        rate = lines_done / elapsed if elapsed > 0 else 0.0
        self._bar.update(task_id, completed=bytes_done, lines=lines_done, rate=rate)

    def finish_source(self, report: SourceReport) -> None:
        task_id = self._tasks.get(report.location)
        if task_id is not None:
            task = self._bar.tasks[task_id]
            self._bar.update(task_id, total=task.completed or 1, completed=task.completed or 1)


def source_label(location: str, width: int = 40) -> str:
    """A location cut to ``width`` characters from the left, keeping a remote file's host in front:
    with several hosts read in one run, the host is what tells the lines apart."""
    if len(location) <= width:
        return location
    from logchat.ingest.ssh_location import is_ssh_url

    if is_ssh_url(location):
        authority, _, path = location[len("ssh://"):].partition("/")
        room = max(8, width - len(authority) - 2)
        return f"{authority} …{('/' + path)[-room:]}"
    return "…" + location[-(width - 1):]


class FollowStatusLine:
    """`index --follow` on a terminal: one live line with the files followed, events stored and the
    rate of new lines over the last seconds."""

    _RATE_SECONDS = 5.0

    def __init__(self) -> None:
        from collections import deque

        from rich.live import Live
        from rich.text import Text

        self._live = Live(Text("following …"), transient=True, refresh_per_second=4)
        self._samples: deque[tuple[float, int]] = deque()

    def __enter__(self) -> FollowStatusLine:
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.stop()

    def update(self, report: Any) -> None:
        import time

        from rich.text import Text

        now = time.monotonic()
        lines = report.ingest.new_lines
        self._samples.append((now, lines))
        while len(self._samples) > 1 and now - self._samples[0][0] > self._RATE_SECONDS:
            self._samples.popleft()
        first_time, first_lines = self._samples[0]
        rate = (lines - first_lines) / (now - first_time) if now > first_time else 0.0
        waiting = f", waiting for {len(report.waiting_for)}" if report.waiting_for else ""
        away = [outage.host for outage in getattr(report, "outages", []) if outage.until is None]
        if away:  # a host that went away: named while it is, gone from the line once it is back
            waiting += f", {', '.join(away)} unreachable, retrying"
        self._live.update(Text(
            f"following {report.files:,} file(s) ({report.watcher}{waiting}): {report.ingest.new_events:,} events, "
            f"{lines:,} lines, {rate:,.1f} lines/s; Ctrl-C stops"
        ))
