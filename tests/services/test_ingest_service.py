"""Ingestion end to end on real files: incremental, rotation- and truncation-safe, bad input reported."""

from __future__ import annotations

import gzip
import io
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from interrupt import kill_once_committed
from sqlalchemy import func, select

from logchat.services.ingest import TimeWindow, index_inputs
from logchat.storage.models import Event, Source, Template

SYSLOG = [
    "Nov  3 10:00:01 web-03 sshd[100]: Failed password for root from 183.62.140.253 port 4000 ssh2",
    "Nov  3 10:00:02 web-03 sshd[101]: Failed password for admin from 183.62.140.254 port 4001 ssh2",
    "Nov  3 10:00:03 web-03 sshd[102]: Accepted password for deploy from 10.0.0.5 port 4002 ssh2",
]


def write(path: Path, lines: list[str], mode: str = "w") -> Path:
    with path.open(mode, encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))
    return path


def event_count(store) -> int:  # type: ignore[no-untyped-def]
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(Event)) or 0


def lines_of(store) -> list[tuple[int, int, str]]:  # type: ignore[no-untyped-def]
    with store.session() as session:
        rows = session.execute(select(Event.generation, Event.line_no, Event.raw).order_by(Event.id)).all()
    return [tuple(row) for row in rows]


def test_index_then_again_adds_only_appended_lines(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = write(tmp_path / "auth.log", SYSLOG)
    first = index_inputs(store, settings, [str(log)])
    assert not first.failed
    assert first.new_events == 3
    assert first.sources[0].format == "rfc3164"
    again = index_inputs(store, settings, [str(log)])
    assert again.new_events == 0
    assert again.sources[0].status == "unchanged"
    write(log, ["Nov  3 10:00:04 web-03 sshd[103]: Connection closed by 10.0.0.9 port 4003"], mode="a")
    appended = index_inputs(store, settings, [str(log)])
    assert appended.new_events == 1
    assert [line for _, line, _ in lines_of(store)] == [1, 2, 3, 4]
    with store.session() as session:
        event = session.scalars(select(Event).where(Event.line_no == 1)).one()
        assert event.host == "web-03"
        assert event.process == "sshd"
        assert event.pid == 100
        assert event.ts is not None and event.ts.utcoffset().total_seconds() == 0
        assert (event.ts.month, event.ts.day, event.ts.hour) == (11, 3, 10)
        # The two "Failed password" lines share one template with an exact count.
        template = session.get(Template, event.template_id)
        assert template is not None and template.count == 2
        assert "<IP>" in template.template
        source = session.scalars(select(Source)).one()
        assert source.event_count == 4 and source.line_count == 4


def test_rotation_reads_rest_of_old_file_then_new_file(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = write(tmp_path / "app.log", SYSLOG[:2])
    index_inputs(store, settings, [str(log)])
    # Lines written just before logrotate renamed the file must not be lost.
    write(log, SYSLOG[2:], mode="a")
    log.rename(tmp_path / "app.log.1")
    write(log, ["Nov  3 11:00:00 web-03 sshd[200]: Server listening on 0.0.0.0 port 22."])
    report = index_inputs(store, settings, [str(log)])
    assert report.sources[0].status == "rotated"
    assert report.new_events == 2
    assert [(gen, line) for gen, line, _ in lines_of(store)] == [(0, 1), (0, 2), (0, 3), (1, 1)]


def test_truncated_file_is_a_new_generation(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = write(tmp_path / "app.log", SYSLOG)
    index_inputs(store, settings, [str(log)])
    write(log, SYSLOG[:1])  # copytruncate then one new line: smaller than the checkpoint
    report = index_inputs(store, settings, [str(log)])
    assert report.sources[0].status == "truncated"
    assert report.new_events == 1
    assert event_count(store) == 4


def test_rewritten_file_of_same_size_is_detected_by_head_checksum(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = write(tmp_path / "app.log", SYSLOG[:2])
    index_inputs(store, settings, [str(log)])
    replacement = [SYSLOG[1].replace("admin", "ADMIN"), SYSLOG[0].replace("root", "ROOT"), SYSLOG[2]]
    with log.open("r+", encoding="utf-8") as handle:  # same inode, different head, longer
        handle.write("".join(line + "\n" for line in replacement))
    report = index_inputs(store, settings, [str(log)])
    assert report.sources[0].status == "rotated"
    assert report.new_events == 3


def test_gzip_is_keyed_by_content(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    archive = tmp_path / "auth.log.2.gz"
    with gzip.open(archive, "wt", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in SYSLOG))
    assert index_inputs(store, settings, [str(archive)]).new_events == 3
    again = index_inputs(store, settings, [str(archive)])
    assert again.new_events == 0 and again.sources[0].status == "unchanged"
    with gzip.open(archive, "wt", encoding="utf-8") as handle:
        handle.write(SYSLOG[0] + "\n")
    assert index_inputs(store, settings, [str(archive)]).new_events == 1


def test_stdin_source_continues_line_numbers(store, settings) -> None:  # type: ignore[no-untyped-def]
    data = "".join(line + "\n" for line in SYSLOG).encode()
    report = index_inputs(store, settings, ["-"], name="journal", stdin=io.BytesIO(data))
    assert report.new_events == 3 and report.sources[0].location == "stdin:journal"
    index_inputs(store, settings, ["-"], name="journal", stdin=io.BytesIO(SYSLOG[0].encode() + b"\n"))
    assert [line for _, line, _ in lines_of(store)] == [1, 2, 3, 4]


def test_globs_and_directories_recursive(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "logs" / "nested").mkdir(parents=True)
    write(tmp_path / "logs" / "a.log", SYSLOG[:1])
    write(tmp_path / "logs" / "nested" / "b.log", SYSLOG[:2])
    write(tmp_path / "logs" / "c.log", SYSLOG)
    (tmp_path / "logs" / "core.dump").write_bytes(b"\x00\x01\x02" * 100)
    report = index_inputs(store, settings, [str(tmp_path / "logs" / "*.log"), str(tmp_path / "logs")])
    assert not report.failed
    assert report.new_events == 6
    statuses = {Path(s.location).name: s.status for s in report.sources}
    assert statuses["core.dump"] == "skipped"  # binary files met in a walk are passed over


def test_bad_inputs_are_reported_and_good_ones_still_indexed(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = write(tmp_path / "good.log", SYSLOG)
    binary = tmp_path / "image.log"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    report = index_inputs(
        store, settings, [str(tmp_path / "missing.log"), str(binary), str(empty_dir), "no-match-*.log", str(good)]
    )
    assert report.failed
    errors = {s.location: s.errors for s in report.sources if s.failed}
    assert errors[str(tmp_path / "missing.log")] == [f"{tmp_path / 'missing.log'}: no such file or directory"]
    assert errors[str(binary)] == [f"{binary}: binary data, not a text log"]
    assert "directory holds no log files" in errors[str(empty_dir)][0]
    assert "no file matches this pattern" in errors["no-match-*.log"][0]
    assert report.new_events == 3


def test_invalid_utf8_is_replaced_and_long_lines_truncated(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.ingest.max_line_bytes = 300
    log = tmp_path / "mixed.log"
    log.write_bytes(
        b"Nov  3 10:00:01 web-03 app[1]: caf\xe9 au lait\n"
        + b"Nov  3 10:00:02 web-03 app[1]: " + b"x" * 1000 + b"\n"
        + b"Nov  3 10:00:03 web-03 app[1]: last line without newline"
    )
    report = index_inputs(store, settings, [str(log)])
    assert report.new_events == 3
    raws = [raw for _, _, raw in lines_of(store)]
    assert "caf\ufffd au lait" in raws[0]
    assert raws[1].endswith("…[truncated 731 bytes]")
    assert raws[2].endswith("last line without newline")


def test_empty_file_is_fine(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.log"
    empty.write_text("")
    report = index_inputs(store, settings, [str(empty)])
    assert not report.failed
    assert report.new_events == 0
    assert report.sources[0].status == "empty"


def test_time_window_keeps_only_events_inside(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    log = write(tmp_path / "auth.log", SYSLOG)
    year = datetime.fromtimestamp(log.stat().st_mtime, UTC).year
    if datetime(year, 11, 3, tzinfo=UTC) > datetime.now(UTC):
        year -= 1  # the parser puts a future Nov 3 in the year before
    window = TimeWindow(
        since=datetime(year, 11, 3, 10, 0, 2, tzinfo=UTC), until=datetime(year, 11, 3, 10, 0, 3, tzinfo=UTC)
    )
    report = index_inputs(store, settings, [str(log)], window=window)
    assert report.new_events == 1
    assert report.sources[0].skipped == 2


def test_multiline_events_keep_their_line_span(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = write(tmp_path / "service.log", [
        "2026-11-03 10:00:00,001 INFO [main] com.example.App: starting",
        "2026-11-03 10:00:01,002 ERROR [main] com.example.App: request failed",
        "java.lang.IllegalStateException: boom",
        "\tat com.example.App.run(App.java:10)",
        "Caused by: java.io.IOException: disk full",
        "\t... 3 more",
        "2026-11-03 10:00:02,003 INFO [main] com.example.App: recovered",
    ])
    index_inputs(store, settings, [str(log)])
    with store.session() as session:
        events = session.scalars(select(Event).order_by(Event.line_no)).all()
    assert [(e.line_no, e.line_end, e.level) for e in events] == [(1, 1, "INFO"), (2, 6, "ERROR"), (7, 7, "INFO")]
    assert "Caused by: java.io.IOException" in events[1].raw


def test_permission_denied_names_the_file(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    secret = write(tmp_path / "secret.log", SYSLOG)
    secret.chmod(0)
    readable = write(tmp_path / "open.log", SYSLOG)
    command = [sys.executable, "-m", "logchat", "--data-dir", str(tmp_path / "data"), "index", str(secret),
               str(readable)]
    if os.geteuid() == 0:
        # root reads anything; without the file-permission capabilities it is refused like anyone.
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to test permission errors as root"
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *command]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert f"{secret}: permission denied" in result.stderr
    assert "3 new events" in result.stdout


def test_reader_process_and_in_process_ingest_store_the_same(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Large files are parsed in a forked reader process; the store must not be able to tell. Its first and last
    batches are short (the writer waits for the first, and the reader for the writer's last)."""
    import logchat.services.ingest as ingest_service
    from logchat.config import load_settings
    from logchat.storage import ingest_writer
    from logchat.storage.db import open_store

    batch_sizes: list[int] = []
    write_batch = ingest_writer.write_batch

    def recording(session, source_id, rows, *args, **kwargs):  # type: ignore[no-untyped-def]
        batch_sizes.append(len(rows))
        write_batch(session, source_id, rows, *args, **kwargs)

    monkeypatch.setattr(ingest_writer, "write_batch", recording)

    log = tmp_path / "big.log"
    with log.open("w") as handle:
        for i in range(40_000):
            handle.write(f"2026-11-03 10:{(i // 60) % 60:02d}:{i % 60:02d},{i % 1000:03d} "
                         f"{'ERROR' if i % 50 == 0 else 'INFO'} [main] com.example.Job: step {i} took {i % 97} ms\n")
            if i % 50 == 0:
                handle.write("java.lang.IllegalStateException: boom\n\tat com.example.Job.run(Job.java:42)\n")
    assert log.stat().st_size > 2 << 20
    stored = {}
    sizes = {}
    for mode, threshold in (("reader", 1 << 20), ("in-process", 1 << 40)):
        batch_sizes.clear()
        monkeypatch.setattr(ingest_service, "PARALLEL_MIN_BYTES", threshold)
        data = tmp_path / mode
        settings = load_settings(data_dir=data)
        settings.ingest.batch_size = 7_000
        store = open_store(settings.database_url)
        report = index_inputs(store, settings, [str(log)])
        assert not report.failed
        with store.session() as session:
            stored[mode] = (
                session.execute(select(Event.line_no, Event.line_end, Event.byte_offset, Event.ts, Event.level,
                                       Event.template_id, Event.message).order_by(Event.id)).all(),
                session.execute(select(Template.id, Template.template, Template.count)
                                .order_by(Template.id)).all(),
                report.new_lines,
            )
        store.close()
        sizes[mode] = list(batch_sizes)
    assert stored["reader"] == stored["in-process"]
    assert stored["reader"][2] == 40_000 + 2 * 800
    assert sizes["in-process"] == [7_000] * 5 + [5_000]
    # The batch before the end leaves about a tenth of a batch to the last (judged by bytes per event).
    first, *middle, before_last, last = sizes["reader"]
    assert first == 700 and middle == [7_000] * 5 and sum(sizes["reader"]) == 40_000
    assert 3_000 < before_last < 4_000 and 300 < last < 1_000


def _loghub_archive(loghub: Path, tmp_path: Path, system: str = "OpenSSH") -> tuple[Path, bytes, int]:
    """A real .gz of a loghub sample: (path, its bytes, its line count)."""
    text = (loghub / system / f"{system}_2k.log").read_bytes()
    archive = tmp_path / f"{system.lower()}.log.1.gz"
    archive.write_bytes(gzip.compress(text))
    return archive, archive.read_bytes(), len(text.splitlines())


def test_truncated_gzip_stores_nothing_and_the_complete_one_stores_each_line_once(
    store, settings, tmp_path: Path, loghub: Path  # type: ignore[no-untyped-def]
) -> None:
    archive, complete, lines = _loghub_archive(loghub, tmp_path)
    archive.write_bytes(complete[: len(complete) // 2])
    truncated = index_inputs(store, settings, [str(archive)])
    assert truncated.failed and truncated.new_events == 0
    assert str(archive) in truncated.sources[0].errors[0] and "incomplete" in truncated.sources[0].errors[0]
    assert event_count(store) == 0
    archive.write_bytes(complete)  # the writer finished the archive
    report = index_inputs(store, settings, [str(archive)])
    assert not report.failed
    assert event_count(store) == report.new_events == lines == 2000
    assert index_inputs(store, settings, [str(archive)]).sources[0].status == "unchanged"


def test_corrupt_gzip_stores_nothing(store, settings, tmp_path: Path, loghub: Path) -> None:  # type: ignore[no-untyped-def]
    archive, complete, _ = _loghub_archive(loghub, tmp_path)
    flipped = bytearray(complete)
    for position in range(len(flipped) // 2, len(flipped) // 2 + 8):
        flipped[position] ^= 0xFF
    archive.write_bytes(bytes(flipped))
    good = write(tmp_path / "auth.log", SYSLOG)
    report = index_inputs(store, settings, [str(archive), str(good)])
    failed = [s for s in report.sources if s.failed]
    assert [s.location for s in failed] == [str(archive)]
    assert "gzip" in failed[0].errors[0]
    assert event_count(store) == 3  # only the good file


def test_corrupt_second_member_stores_nothing(store, settings, tmp_path: Path, loghub: Path) -> None:  # type: ignore[no-untyped-def]
    # Concatenated members are one valid archive; a bad CRC in the last one must still stop all of it.
    archive, complete, _ = _loghub_archive(loghub, tmp_path)
    second = bytearray(gzip.compress(b"Nov  3 10:00:01 web-03 sshd[1]: one more line\n"))
    second[-8] ^= 0xFF  # the CRC32 of the second member
    archive.write_bytes(complete + bytes(second))
    assert index_inputs(store, settings, [str(archive)]).failed
    assert event_count(store) == 0


def test_renamed_archive_is_not_stored_twice(store, settings, tmp_path: Path, loghub: Path) -> None:  # type: ignore[no-untyped-def]
    logs = tmp_path / "logs"
    logs.mkdir()
    archive, _, lines = _loghub_archive(loghub, logs)
    assert index_inputs(store, settings, [str(logs)]).new_events == lines
    archive.rename(logs / "openssh.log.2.gz")  # logrotate shifts the numbers
    report = index_inputs(store, settings, [str(logs)])
    assert not report.failed
    assert report.new_events == 0
    assert report.sources[0].status == "duplicate" and report.sources[0].duplicate_of == str(archive)
    assert event_count(store) == lines
    assert index_inputs(store, settings, [str(logs)]).sources[0].status == "unchanged"


def _raw_lines(store) -> list[str]:  # type: ignore[no-untyped-def]
    with store.session() as session:
        return sorted(session.scalars(select(Event.raw)))


def test_rotated_file_and_its_compressed_copy_add_nothing_twice(store, settings, tmp_path: Path, loghub: Path) -> None:  # type: ignore[no-untyped-def]
    lines = (loghub / "OpenSSH" / "OpenSSH_2k.log").read_text(encoding="utf-8").splitlines()
    logs = tmp_path / "logs"
    logs.mkdir()
    log = write(logs / "app.log", lines[:1500])
    assert index_inputs(store, settings, [str(logs)]).new_events == 1500
    write(log, lines[1500:1800], mode="a")
    log.rename(logs / "app.log.1")  # logrotate with delaycompress
    write(logs / "app.log", lines[1800:])
    report = index_inputs(store, settings, [str(logs)])
    assert not report.failed
    by_name = {Path(s.location).name: s for s in report.sources}
    assert by_name["app.log.1"].status == "duplicate" and by_name["app.log.1"].new_events == 0
    assert _raw_lines(store) == sorted(lines)
    # The next rotation compresses it.
    (logs / "app.log.2.gz").write_bytes(gzip.compress((logs / "app.log.1").read_bytes()))
    (logs / "app.log.1").unlink()
    report = index_inputs(store, settings, [str(logs)])
    assert not report.failed
    assert {Path(s.location).name: s.status for s in report.sources}["app.log.2.gz"] == "duplicate"
    assert _raw_lines(store) == sorted(lines)


def test_compressed_rotation_adds_only_the_lines_not_yet_read(store, settings, tmp_path: Path, loghub: Path) -> None:  # type: ignore[no-untyped-def]
    lines = (loghub / "OpenSSH" / "OpenSSH_2k.log").read_text(encoding="utf-8").splitlines()
    logs = tmp_path / "logs"
    logs.mkdir()
    log = write(logs / "app.log", lines[:1500])
    assert index_inputs(store, settings, [str(logs)]).new_events == 1500
    write(log, lines[1500:1800], mode="a")  # written after the last index, before rotation
    (logs / "app.log.1.gz").write_bytes(gzip.compress(log.read_bytes()))  # logrotate with compress
    write(log, lines[1800:])
    report = index_inputs(store, settings, [str(logs)])
    assert not report.failed
    archive = {Path(s.location).name: s for s in report.sources}["app.log.1.gz"]
    assert archive.new_events == 300 and archive.continues == str(log)
    assert _raw_lines(store) == sorted(lines)
    with store.session() as session:
        first = session.scalars(select(Event.line_no).join(Source).where(Source.location == archive.location)).all()
    assert min(first) == 1501  # line numbers of the archive itself


def test_archive_renamed_after_an_interrupted_read_is_read_on_not_again(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from sqlalchemy import create_engine, text

    total_lines = 150_000
    archive = tmp_path / "logs" / "app.log.1.gz"
    archive.parent.mkdir()
    with gzip.open(archive, "wt", encoding="utf-8") as handle:
        for i in range(total_lines):
            handle.write(f"2026-11-03T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z INFO worker-{i % 7} "
                         f"processed job {i} in {i % 1000} ms\n")
    data_dir = tmp_path / "data"
    config = tmp_path / "small-batches.toml"
    config.write_text("[ingest]\nbatch_size = 5000\n")
    command = [sys.executable, "-m", "logchat", "--quiet", "--config", str(config), "--data-dir", str(data_dir),
               "index"]
    database = data_dir / "logchat.db"
    committed = kill_once_committed([*command, str(archive)], database, 10_000)
    assert 0 < committed < total_lines
    renamed = archive.rename(archive.with_name("app.log.2.gz"))  # logrotate ran meanwhile
    resumed = subprocess.run([*command, "--json", str(renamed)], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM events")).scalar()
        distinct = conn.execute(text("SELECT count(DISTINCT line_no) FROM events")).scalar()
    engine.dispose()
    assert count == distinct == total_lines
    assert json.loads(resumed.stdout)["sources"][0]["continues"] == str(archive)


def test_a_window_that_ends_before_it_starts_cannot_be_made() -> None:
    from logchat.errors import InvalidTimeRange

    with pytest.raises(InvalidTimeRange, match="starts after it ends"):
        TimeWindow(since=datetime(2026, 1, 2, tzinfo=UTC), until=datetime(2026, 1, 1, tzinfo=UTC))
    assert TimeWindow(since=datetime(2026, 1, 1, tzinfo=UTC), until=datetime(2026, 1, 1, tzinfo=UTC))


def test_a_caller_with_threads_can_ingest_large_files_without_forking(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from logchat.config import SourceSettings
    from logchat.services.ingest import reload_sources

    log = tmp_path / "big.log"
    with log.open("w") as out:
        for i in range(30_000):  # about 2.5 MB: over the reader-process threshold
            out.write(f"2026-01-05T10:{i // 60 % 60:02d}:{i % 60:02d}+00:00 web-01 app[7]: request {i} served "
                      f"in {i % 900} ms for client 10.0.{i % 250}.{i % 200}\n")
    configured = settings.model_copy(update={"sources": [SourceSettings(path=str(log))]})
    forks: list[int] = []
    os.register_at_fork(before=lambda: forks.append(1))
    report = reload_sources(store, configured, reader_process=False)
    assert not report.failed and report.new_events == 30_000
    assert forks == []  # parsed in this process: nothing was forked
