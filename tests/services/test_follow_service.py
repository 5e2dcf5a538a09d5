"""services.follow in process, on SQLite and PostgreSQL: a stop event ends it with everything read
committed, and files whose bytes come through another ReadableFile (a stream opened at an offset, as
a remote reader gives) are followed the same way."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import text

from logchat.ingest import sources as src
from logchat.services.follow import FollowReport, follow

PATIENCE_SECONDS = 60


def line(n: int, word: str = "tick") -> str:
    return f"2026-11-03T10:{n // 60 % 60:02d}:{n % 60:02d}+00:00 web-01 app[{n}]: {word} number {n} done"


def append(path: Path, lines: list[str]) -> None:
    with path.open("a") as handle:
        handle.write("".join(item + "\n" for item in lines))


class _ForwardOnly(io.RawIOBase):
    """A file's bytes from an offset on, readable but not seekable (like `tail -c +N` over SSH)."""

    def __init__(self, path: Path, offset: int) -> None:
        super().__init__()
        self._file = path.open("rb")
        self._file.seek(offset)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def,override]
        return self._file.readinto(buffer)

    def close(self) -> None:
        self._file.close()
        super().close()


class StreamAtOffset:
    """A ReadableFile that is not a local handle: identity by stat, bytes by a forward-only stream."""

    remote = True  # its bytes come over a stream a forked reader process could not share

    def __init__(self, path: Path) -> None:
        self.path = path
        self.opened = 0

    @property
    def location(self) -> str:
        return str(self.path)

    def identify(self) -> src.FileIdentity:
        return src.identify(self.path)

    def open_at(self, offset: int) -> BinaryIO:
        self.opened += 1
        return io.BufferedReader(_ForwardOnly(self.path, offset))  # type: ignore[return-value]


def stored(store) -> list[str]:  # type: ignore[no-untyped-def]
    with store.session() as session:
        return [raw for (raw,) in session.execute(text("SELECT raw FROM events ORDER BY id"))]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Running:
    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.stop = threading.Event()
        self.report: FollowReport | None = None
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, kwargs=kwargs, daemon=True)
        self.thread.start()

    def _run(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        try:
            self.report = follow(stop=self.stop, **kwargs)
        except BaseException as exc:  # handed to the test
            self.failure = exc

    def finish(self) -> FollowReport:
        self.stop.set()
        self.thread.join(timeout=120)
        if self.failure is not None:
            raise self.failure
        assert self.report is not None
        return self.report


def test_a_stream_opened_at_an_offset_is_followed_across_appends_and_rotation(store, settings,  # type: ignore[no-untyped-def]
                                                                              tmp_path: Path) -> None:
    log = tmp_path / "remote.log"
    append(log, [line(n) for n in range(3)])
    files: dict[str, StreamAtOffset] = {}

    def file_for(spec: src.SourceSpec) -> StreamAtOffset:
        assert spec.path is not None
        return files.setdefault(spec.location, StreamAtOffset(spec.path))

    running = Running(store=store, settings=settings, inputs=[str(log)], file_for=file_for, update_vectors=False)
    wait_until(lambda: len(stored(store)) == 3, "the catch-up")
    append(log, [line(n) for n in range(3, 6)])
    wait_until(lambda: len(stored(store)) == 6, "the appended lines")
    log.rename(tmp_path / "remote.log.1")
    append(log, [line(n, "fresh") for n in range(6, 8)])
    wait_until(lambda: len(stored(store)) == 8, "the new file's lines")
    append(log, [line(8, "last")])
    report = running.finish()  # the line appended just before the stop is still read
    assert stored(store) == [line(n) for n in range(6)] + [line(6, "fresh"), line(7, "fresh"), line(8, "last")]
    assert report.watcher == "polling"  # inotify sees local files only
    assert report.ingest.new_events == 9 and not report.ingest.failed
    assert files[str(log)].opened > 0  # every byte came through the stream


def test_stopping_leaves_nothing_uncommitted_and_a_half_written_line_for_later(store, settings,  # type: ignore[no-untyped-def]
                                                                              tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, [line(0)])
    running = Running(store=store, settings=settings, inputs=[str(log)], poll_interval=0.05)
    wait_until(lambda: len(stored(store)) == 1, "the catch-up")
    with log.open("a") as handle:
        handle.write(line(1) + "\n" + line(2)[:15])
    report = running.finish()
    assert stored(store) == [line(0), line(1)]
    assert report.ingest.new_lines == 2
    with log.open("a") as handle:
        handle.write(line(2)[15:] + "\n")
    again = Running(store=store, settings=settings, inputs=[str(log)], poll_interval=0.05)
    wait_until(lambda: len(stored(store)) == 3, "the finished line")
    again.finish()
    assert stored(store) == [line(0), line(1), line(2)]


def test_remote_files_are_followed_through_one_connection_for_the_whole_follow(  # type: ignore[no-untyped-def]
        store, settings, tmp_path: Path, sshd) -> None:
    from sshd_server import SshServer

    # An sshd of this test's own that logs every login, to count the connections the follow opens.
    server = SshServer.create(tmp_path / "counting-sshd")
    config = server.root / "sshd_config"
    config.write_text(config.read_text().replace("LogLevel ERROR", "LogLevel INFO"))
    server.start()
    try:
        settings.remote.known_hosts_file = str(server.known_hosts)
        remote_dir = tmp_path / "host"
        remote_dir.mkdir()
        first, second = remote_dir / "a.log", remote_dir / "b.log"
        append(first, [line(n) for n in range(2)])
        local = tmp_path / "local.log"
        append(local, [line(100, "local")])
        running = Running(store=store, settings=settings, inputs=[server.url(remote_dir) + "/*.log", str(local)],
                          poll_interval=0.05, identity=str(server.client_key), update_vectors=False)
        wait_until(lambda: len(stored(store)) == 3, "the catch-up")
        for n in range(2, 6):  # several looks and passes, and a file that appears on the host
            append(first, [line(n)])
            wait_until(lambda n=n: line(n) in stored(store), f"line {n}")
        append(second, [line(200, "second")])
        wait_until(lambda: line(200, "second") in stored(store), "the new remote file")
        report = running.finish()
    finally:
        server.stop()
    assert sorted(stored(store)) == sorted([line(n) for n in range(6)] + [line(100, "local"), line(200, "second")])
    assert report.remote_files == 2 and report.files == 3 and report.outages == []
    assert report.passes > 5
    logins = (server.root / "sshd.log").read_text().count("Accepted publickey")
    assert logins == 1, (server.root / "sshd.log").read_text()
