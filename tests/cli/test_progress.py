"""What a terminal shows while logchat reads: the rich progress bar of `index`/`reload` (one task per
source, with its lines) and the live status line of `index --follow`, rendered into a real rich
console that believes it is a terminal."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rich

from logchat.cli.progress import FollowStatusLine, RichIngestProgress, source_label
from logchat.services.follow import FollowReport
from logchat.services.follow_remote import Outage
from logchat.services.ingest import SourceReport, index_inputs


@pytest.fixture
def terminal() -> Iterator[io.StringIO]:
    """rich's shared console writing to a buffer, as a 120-column terminal."""
    screen = io.StringIO()
    rich.reconfigure(file=screen, force_terminal=True, width=120)
    try:
        yield screen
    finally:
        rich.reconfigure()


def test_the_bar_shows_each_source_and_its_lines(store: Any, settings: Any, tmp_path: Path,
                                                terminal: io.StringIO) -> None:
    logs = []
    for name, count in (("auth.log", 40), ("app.log", 25)):
        path = tmp_path / name
        path.write_text("".join(f"2026-11-03T10:00:{n % 60:02d}+00:00 web-01 sshd[{n}]: session {n} opened\n"
                                for n in range(count)), encoding="utf-8")
        logs.append(str(path))
    with RichIngestProgress() as progress:
        report = index_inputs(store, settings, logs, progress=progress)
    assert report.new_events == 65 and not report.failed
    shown = terminal.getvalue()
    assert "auth.log" in shown and "app.log" in shown
    assert "40 lines" in shown and "25 lines" in shown


def test_a_source_the_bar_never_started_is_passed_over(terminal: io.StringIO) -> None:
    stray = SourceReport(location="never-started.log", name="never-started.log", kind="file")
    with RichIngestProgress() as progress:
        progress.advance(stray, 10, 1)
        progress.finish_source(stray)
    assert "never-started.log" not in terminal.getvalue()


def test_long_locations_keep_their_end_and_a_remote_host_in_front() -> None:
    local = "/var/log/" + "deep/" * 12 + "app.log"
    assert source_label(local) == "…" + local[-39:] and len(source_label(local)) == 40
    remote = "ssh://web-01.example.com:2222/var/log/" + "deep/" * 12 + "app.log"
    label = source_label(remote)
    assert label.startswith("web-01.example.com:2222 …") and label.endswith("/app.log")
    assert source_label("short.log") == "short.log"


def test_the_follow_line_counts_files_events_rate_and_hosts_away(terminal: io.StringIO) -> None:
    report = FollowReport(watcher="inotify", files=3, waiting_for=["later/*.log"])
    report.outages.append(Outage(host="web-02", error="connection refused", since=0.0))
    report.outages.append(Outage(host="web-03", error="timed out", since=0.0, until=1.0))
    source = SourceReport(location="app.log", name="app.log", kind="file")
    report.ingest.sources.append(source)
    with FollowStatusLine() as status:
        for lines in (0, 120, 250):
            source.new_lines = source.new_events = lines
            status.update(report)
            status._live.refresh()
    shown = terminal.getvalue()
    assert "following 3 file(s) (inotify, waiting for 1, web-02 unreachable, retrying)" in shown
    assert "250 events, 250 lines" in shown
    assert "web-03" not in shown  # back again: no longer named


def test_the_copy_bar_shows_each_table() -> None:
    """`logchat db copy` on a terminal: one bar per table, an empty table shown done."""
    from logchat.cli.db import _CopyBar

    bar = _CopyBar()
    try:
        bar.update("events", 5, 10)
        bar.update("events", 10, 10)
        bar.update("source_generations", 0, 0)
        tasks = {task.description: (task.completed, task.total) for task in bar._bar.tasks}
    finally:
        bar.stop()
    assert tasks == {"events": (10, 10), "source_generations": (1, 1)}
