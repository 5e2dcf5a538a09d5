"""The next source's reader process starts while the source before it is still being written: the store must not be
able to tell, and a run that ends early leaves neither a reader nor templates missing behind it."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

import logchat.services.ingest as ingest_service
from logchat.services.ingest import Ingester, Progress, SourceReport, index_inputs
from logchat.storage.models import Event, Source, Template


def _java_log(path: Path, lines: int) -> Path:
    with path.open("w") as handle:
        for i in range(lines):
            handle.write(f"2026-11-03 10:{(i // 60) % 60:02d}:{i % 60:02d},{i % 1000:03d} "
                         f"{'ERROR' if i % 40 == 0 else 'INFO'} [worker-{i % 4}] com.example.Job: "
                         f"job_{i} took {i % 97} ms for user u{i % 11}\n")
            if i % 40 == 0:
                handle.write("java.lang.IllegalStateException: boom\n\tat com.example.Job.run(Job.java:42)\n")
    return path


def _syslog(path: Path, lines: int) -> Path:
    with path.open("w") as handle:
        for i in range(lines):
            if i % 3:
                message = (f"sshd[{2000 + i % 500}]: Failed password for u{i % 7} from 10.0.{i % 250}.{i % 200} "
                           f"port {1024 + i}")
            else:
                message = f"CRON[{i % 900}]: pam_unix(cron:session): session opened for user root by (uid=0)"
            handle.write(f"Nov  3 10:{(i // 60) % 60:02d}:{i % 60:02d} web-{i % 5:02d} {message}\n")
    return path


def _json_lines(path: Path, lines: int) -> Path:
    with path.open("w") as handle:
        for i in range(lines):
            record = {"time": f"2026-11-03T11:{i // 60 % 60:02d}:{i % 60:02d}Z", "level": "warn" if i % 9 else "error",
                      "msg": f"payment {i} refused for card {i % 31}", "status": 400 + i % 5, "latency_ms": i % 250}
            handle.write(json.dumps(record) + "\n")
    return path


@pytest.fixture
def three_sources(settings: Any, tmp_path: Path) -> list[Path]:
    """Three large files of three formats, and batches small enough for several per file."""
    settings.ingest.batch_size = 2_500
    directory = tmp_path / "logs"
    directory.mkdir()
    paths = [_java_log(directory / "a-service.log", 12_000), _syslog(directory / "b-auth.log", 15_000),
             _json_lines(directory / "c-app.jsonl", 13_000)]
    assert all(path.stat().st_size > ingest_service.PARALLEL_MIN_BYTES for path in paths)  # each has a reader
    return paths


def _contents(store: Any) -> tuple[list[Any], ...]:
    """What the store holds of events, templates, fields, value counts and checkpoints."""
    with store.session() as session:
        events = session.execute(select(Event.id, Event.source_id, Event.line_no, Event.line_end, Event.byte_offset,
                                        Event.ts, Event.level, Event.host, Event.template_id, Event.message,
                                        Event.fields).order_by(Event.id)).all()
        templates = session.execute(select(Template.id, Template.template, Template.count, Template.first_seen,
                                           Template.last_seen).order_by(Template.id)).all()
        sources = session.execute(select(Source.location, Source.offset, Source.line_count, Source.size,
                                         Source.event_count, Source.format).order_by(Source.location)).all()
        fields = session.execute(text("SELECT template_id, name, type, kind, count FROM template_fields "
                                      "ORDER BY template_id, name")).all()
        counts = session.execute(text("SELECT template_id, name, value, count FROM value_counts "
                                      "ORDER BY template_id, name, value")).all()
    return [tuple(row) for row in events], [tuple(row) for row in templates], [tuple(row) for row in sources], \
        [tuple(row) for row in fields], [tuple(row) for row in counts]


class _ChildrenAtEachEnd(Progress):
    """Records, as each source is done, the reader processes still running (the source's own has ended)."""

    def __init__(self) -> None:
        self.running: dict[str, list[int]] = {}

    def finish_source(self, report: SourceReport) -> None:
        self.running[report.name] = [child.pid for child in multiprocessing.active_children()]


def _in_another_store(store: Any, settings: Any, data_dir: Path, index: Any) -> tuple[list[Any], ...]:
    """The contents of a store that ``index(store, settings)`` filled: a new SQLite store in ``data_dir``, or on
    PostgreSQL (one schema per test) the test's store, emptied first."""
    from logchat.config import load_settings
    from logchat.storage.db import open_store

    if not settings.database_url.startswith("sqlite"):
        _empty(store)
        index(store, settings)
        return _contents(store)
    other_settings = load_settings(data_dir=data_dir)
    other_settings.ingest.batch_size = settings.ingest.batch_size
    other = open_store(other_settings.database_url)
    try:
        index(other, other_settings)
        return _contents(other)
    finally:
        other.close()


def _empty(store: Any) -> None:
    with store.session() as session:
        for table in ("value_counts", "value_count_fields", "template_fields", "event_rollup", "events", "templates",
                      "template_miner_state", "source_generations", "sources"):
            session.execute(text(f"DELETE FROM {table}"))  # nosec B608 - constant table names
        session.commit()


def _assert_same_without_ids(theirs: tuple[list[Any], ...], ours: tuple[list[Any], ...]) -> None:
    """The same contents, but for the events' ids and source ids (emptied PostgreSQL tables hand out new ones);
    a difference is shown by its first row, not by a diff of tens of thousands."""
    theirs = ([row[2:] for row in theirs[0]], *theirs[1:])
    ours = ([row[2:] for row in ours[0]], *ours[1:])
    for table, (their_rows, our_rows) in enumerate(zip(theirs, ours, strict=True)):
        pairs = zip(their_rows, our_rows, strict=False)  # the lengths are compared below
        first = next((i for i, (their, our) in enumerate(pairs) if their != our), None)
        assert first is None, (table, first, their_rows[first], our_rows[first])
        assert len(their_rows) == len(our_rows), table


def _index_each_alone(paths: list[Path]) -> Any:
    def index(store: Any, settings: Any) -> None:
        for path in paths:  # one command each: no source comes after another
            assert not index_inputs(store, settings, [str(path)]).failed

    return index


def _index_together(paths: list[Path]) -> Any:
    def index(store: Any, settings: Any) -> None:
        assert not index_inputs(store, settings, [str(path) for path in paths]).failed

    return index


def test_sources_read_ahead_store_what_sources_read_one_at_a_time_store(
    store, settings, three_sources: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    paths = three_sources
    progress = _ChildrenAtEachEnd()
    report = index_inputs(store, settings, [str(path) for path in paths], progress=progress)
    assert not report.failed, report.to_dict()
    ahead = _contents(store)
    # While each of the first two sources was being written, the next one's reader was already reading.
    names = [path.name for path in paths]
    assert progress.running[names[0]] and progress.running[names[1]]
    assert progress.running[names[2]] == []  # nothing left running after the last
    assert multiprocessing.active_children() == []

    # The same files, each read by a reader of its own only once the one before is written, and read in this process.
    alone = _in_another_store(store, settings, tmp_path / "alone", _index_each_alone(paths))
    monkeypatch.setattr(ingest_service, "PARALLEL_MIN_BYTES", 1 << 40)
    here = _in_another_store(store, settings, tmp_path / "here", _index_each_alone(paths))
    _assert_same_without_ids(alone, ahead)
    _assert_same_without_ids(here, ahead)


class _Interrupted(Progress):
    """Ctrl-C as a batch of the first source is written after the next source's reader has started."""

    def __init__(self, first: str) -> None:
        self.first = first
        self.ahead_started = False

    def advance(self, report: SourceReport, bytes_done: int, lines_done: int) -> None:
        if report.name == self.first and self.ahead_started:
            raise KeyboardInterrupt


def test_a_run_interrupted_while_the_next_source_is_read_ahead_leaves_nothing_behind(
    store, settings, three_sources: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    paths = three_sources
    progress = _Interrupted(paths[0].name)
    read_next_ahead = Ingester._read_next_ahead

    def noting(self: Ingester, *args: Any) -> None:
        read_next_ahead(self, *args)
        progress.ahead_started = self._ahead is not None

    monkeypatch.setattr(Ingester, "_read_next_ahead", noting)
    with pytest.raises(KeyboardInterrupt):
        index_inputs(store, settings, [str(path) for path in paths], progress=progress)
    assert progress.ahead_started
    assert multiprocessing.active_children() == []  # the reader started ahead was ended
    with store.session() as session:
        missing = session.execute(select(Event.template_id).where(Event.template_id.not_in(select(Template.id)))
                                  .limit(1)).all()
        read = dict(session.execute(select(Source.location, Source.line_count)).all())
    assert missing == []
    assert read.get(str(paths[1]), 0) == 0  # nothing of the source read ahead was written

    # The next run reads on from the checkpoints: the store ends as one uninterrupted run leaves it.
    assert not index_inputs(store, settings, [str(path) for path in paths]).failed
    resumed = _contents(store)
    uninterrupted = _in_another_store(store, settings, tmp_path / "uninterrupted", _index_together(paths))
    _assert_same_without_ids(resumed, uninterrupted)


def test_a_next_source_that_cannot_be_read_is_reported_in_its_turn(
    store, settings, three_sources: list[Path]  # type: ignore[no-untyped-def]
) -> None:
    paths = three_sources
    binary = paths[0].parent / "b-core.dump"
    binary.write_bytes(bytes(range(256)) * 8_192)
    report = index_inputs(store, settings, [str(paths[0]), str(binary), str(paths[1])])
    statuses = {source.name: (source.status, source.errors) for source in report.sources}
    assert statuses[paths[0].name] == ("ok", [])
    assert statuses[binary.name][0] == "error" and "binary data" in statuses[binary.name][1][0]
    assert statuses[paths[1].name] == ("ok", [])
    assert multiprocessing.active_children() == []
    with store.session() as session:
        stored = dict(session.execute(select(Source.location, Source.event_count)).all())
    assert stored[str(paths[0])] == 12_000 and stored[str(paths[1])] == 15_000
    assert stored.get(str(binary), 0) == 0
