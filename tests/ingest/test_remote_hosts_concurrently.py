"""Several hosts read in one run, concurrently (a bounded pool of host threads taking turns at the one
writer), against two real OpenSSH servers on 127.0.0.1: both hosts' files are being read at the same
moment, and the store holds exactly what a run reading one host after the other stores."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sshd_server import SshServer, free_port


def _syslog(count: int, host: str) -> str:
    return "".join(
        f"2026-01-05T10:{(i // 60) % 60:02d}:{i % 60:02d}+00:00 {host} sshd[{i}]: Failed password for root "
        f"from 10.0.{i % 200}.{i % 250} port {1000 + i} ssh2\n"
        for i in range(count)
    )


def _nginx(count: int) -> str:
    return "".join(
        f'10.1.{i % 200}.{i % 250} - - [05/Jan/2026:11:{(i // 60) % 60:02d}:{i % 60:02d} +0000] '
        f'"GET /api/items/{i} HTTP/1.1" {200 if i % 7 else 503} {100 + i} "-" "curl/8.0"\n'
        for i in range(count)
    )


@pytest.fixture
def second_sshd(tmp_path: Path, sshd: SshServer) -> Iterator[SshServer]:
    """Another host: its own sshd, port and host key, letting in the first server's client key."""
    server = SshServer.create(tmp_path / "second-sshd")
    (server.root / "authorized_keys").write_text((sshd.root / "client_ed25519.pub").read_text())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def known_hosts(tmp_path: Path, sshd: SshServer, second_sshd: SshServer) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text(sshd.known_hosts.read_text() + second_sshd.known_hosts.read_text())
    return path


def _settings(data_dir: Path, database_url: str, known_hosts: Path, max_hosts: int) -> Any:
    from logchat.config import load_settings

    # Small batches: the hosts' batches take turns at the writer many times in one file.
    return load_settings(data_dir=data_dir, database={"url": database_url}, ingest={"batch_size": 40},
                         remote={"known_hosts_file": str(known_hosts), "connect_timeout_seconds": 5,
                                 "max_hosts": max_hosts})


class _MeetingProgress:
    """A progress listener at which the first file of each host, once open, waits for the other host's
    to be open too: they pass only if both are being read at the same time (one host after the other,
    the first would wait alone until the timeout and be recorded as ``alone``)."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=30)
        self.met: list[str] = []
        self.alone: list[str] = []
        self.advanced: dict[str, int] = {}

    def start_source(self, report: Any, total_bytes: int | None) -> None:
        if len(self.met) >= self.barrier.parties:
            return  # they have met: the later files go on freely
        try:
            self.barrier.wait()
            self.met.append(report.location)
        except threading.BrokenBarrierError:
            self.alone.append(report.location)

    def advance(self, report: Any, bytes_done: int, lines_done: int) -> None:
        self.advanced[report.location] = lines_done

    def finish_source(self, report: Any) -> None: ...


def _index(settings: Any, database_url: str, inputs: list[str], identity: Path, progress: Any = None) -> Any:
    from logchat.services.ingest import index_inputs
    from logchat.storage.db import open_store

    store = open_store(database_url)
    try:
        return index_inputs(store, settings, inputs, identity=str(identity), progress=progress)
    finally:
        store.close()


def _contents(database_url: str) -> dict[str, Any]:
    """What the store holds, without the ids that depend on the order batches were written in."""
    from logchat.storage.db import open_store

    store = open_store(database_url)
    try:
        with store.session() as session:
            def rows(sql: str) -> list[tuple[str, ...]]:
                return sorted(tuple(str(value) for value in row) for row in session.execute(text(sql)))

            return {
                "events": rows(
                    "SELECT s.location, e.generation, e.line_no, e.line_end, e.byte_offset, e.ts, e.level, e.host, "
                    "e.process, e.pid, t.template, e.message, e.raw FROM events e "
                    "JOIN sources s ON s.id = e.source_id JOIN templates t ON t.id = e.template_id"),
                "sources": rows("SELECT location, kind, format, generation, size, \"offset\", line_count, "
                                "head_checksum, head_length, event_count FROM sources"),
                "templates": rows("SELECT template, count, first_seen, last_seen FROM templates"),
                "rollup": rows(
                    "SELECT s.location, r.hour, r.level, r.host, r.process, t.template, SUM(r.count), "
                    "MIN(r.first_ts), MAX(r.last_ts) FROM event_rollup r JOIN sources s ON s.id = r.source_id "
                    "JOIN templates t ON t.id = r.template_id "
                    "GROUP BY s.location, r.hour, r.level, r.host, r.process, t.template"),
                "ids": [(str(count), str(low), str(high)) for count, low, high in session.execute(
                    text("SELECT COUNT(*), MIN(id), MAX(id) FROM events"))],
                "search_hits": [(str(session.execute(text(
                    "SELECT COUNT(*) FROM events WHERE message LIKE '%Failed password%'")).scalar_one()),)],
            }
    finally:
        store.close()


def test_two_hosts_are_read_at_the_same_time_and_store_what_one_after_the_other_stores(
        tmp_path: Path, data_dir: Path, database_url: str, sshd: SshServer, second_sshd: SshServer,
        known_hosts: Path) -> None:
    first, second = tmp_path / "web-01", tmp_path / "web-02"
    first.mkdir()
    second.mkdir()
    (first / "auth.log").write_text(_syslog(700, "web-01"))
    (first / "access.log").write_text(_nginx(300))
    (second / "auth.log").write_text(_syslog(500, "web-02"))
    inputs = [sshd.url(first) + "/*.log", second_sshd.url(second) + "/auth.log"]

    progress = _MeetingProgress(parties=2)
    concurrent = _index(_settings(data_dir, database_url, known_hosts, max_hosts=4), database_url, inputs,
                        sshd.client_key, progress)
    assert not concurrent.failed, concurrent.to_dict()
    # web-01's first file (access.log, in name order) and web-02's auth.log were open at the same moment.
    assert progress.alone == [] and sorted(progress.met) == sorted(
        [sshd.location(first / "access.log"), second_sshd.location(second / "auth.log")])
    # Reports come in the order of the inputs, whatever order the hosts finished in.
    assert [source.location for source in concurrent.sources] == [
        sshd.location(first / "access.log"), sshd.location(first / "auth.log"),
        second_sshd.location(second / "auth.log")]
    assert [source.new_events for source in concurrent.sources] == [300, 700, 500]

    sequential_dir = tmp_path / "sequential"
    sequential_dir.mkdir()
    sequential_url = f"sqlite:///{sequential_dir / 'logchat.db'}"
    sequential = _index(_settings(sequential_dir, sequential_url, known_hosts, max_hosts=1), sequential_url,
                        inputs, sshd.client_key)
    assert not sequential.failed, sequential.to_dict()
    stored, expected = _contents(database_url), _contents(sequential_url)
    assert len(stored["events"]) == 1500
    assert stored["ids"] == [("1500", "1", "1500")]  # one id per event, none skipped or taken twice
    assert stored == expected

    # A second concurrent run finds nothing new: the checkpoints were written with the events.
    again = _index(_settings(data_dir, database_url, known_hosts, max_hosts=4), database_url, inputs,
                   sshd.client_key)
    assert [source.status for source in again.sources] == ["unchanged"] * 3 and again.new_events == 0


def test_a_host_that_cannot_be_reached_is_one_error_while_the_other_hosts_and_local_files_are_read(
        tmp_path: Path, data_dir: Path, database_url: str, sshd: SshServer, second_sshd: SshServer,
        known_hosts: Path) -> None:
    (tmp_path / "a.log").write_text(_syslog(120, "web-01"))
    (tmp_path / "b.log").write_text(_syslog(80, "web-02"))
    (tmp_path / "local.log").write_text(_syslog(10, "here"))
    port = free_port()
    down = f"ssh://127.0.0.1:{port}/var/log/syslog"
    settings = _settings(data_dir, database_url, known_hosts, max_hosts=2)
    report = _index(settings, database_url, [sshd.url(tmp_path / "a.log"), down, second_sshd.url(tmp_path / "b.log"),
                                             str(tmp_path / "local.log")], sshd.client_key)
    assert report.failed
    by_location = {source.location: source for source in report.sources}
    assert by_location[down].errors == [f"ssh://127.0.0.1:{port}: cannot connect to 127.0.0.1:{port}: "
                                        "connection refused"]
    assert [source.location for source in report.sources if source.failed] == [down]
    assert by_location[sshd.location(tmp_path / "a.log")].new_events == 120
    assert by_location[second_sshd.location(tmp_path / "b.log")].new_events == 80
    assert by_location[str(tmp_path / "local.log")].new_events == 10


def test_the_progress_bar_shows_a_line_for_each_host_read(
        tmp_path: Path, data_dir: Path, database_url: str, sshd: SshServer, second_sshd: SshServer,
        known_hosts: Path) -> None:
    import io

    import rich

    from logchat.cli.progress import RichIngestProgress

    (tmp_path / "a.log").write_text(_syslog(300, "web-01"))
    (tmp_path / "b.log").write_text(_syslog(500, "web-02"))
    screen = io.StringIO()
    rich.reconfigure(file=screen, force_terminal=True, width=160)
    try:
        with RichIngestProgress() as progress:
            report = _index(_settings(data_dir, database_url, known_hosts, max_hosts=4), database_url,
                            [sshd.url(tmp_path / "a.log"), second_sshd.url(tmp_path / "b.log")], sshd.client_key,
                            progress)
    finally:
        rich.reconfigure()
    assert not report.failed, report.to_dict()
    shown = screen.getvalue()
    # Each row starts with its host (the path is cut from the left to fit), with that file's lines.
    assert f"127.0.0.1:{sshd.port} …" in shown and f"127.0.0.1:{second_sshd.port} …" in shown
    assert "300 lines" in shown and "500 lines" in shown
