"""services.follow of files on a real OpenSSH server, in process on SQLite and PostgreSQL: a remote file
deleted and written again, binary files met by a remote directory walk, and the connection lost in the
middle of a read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sshd_server import SshServer
from test_follow_errors import Passes
from test_follow_hosts_concurrently import _HeldRead
from test_follow_service import Running, append, line, stored, wait_until


def _settings(settings: Any, server: SshServer, **remote: Any) -> Any:
    settings.remote.known_hosts_file = str(server.known_hosts)
    settings.remote.connect_timeout_seconds = 5
    for key, value in remote.items():
        setattr(settings.remote, key, value)
    return settings


def test_a_remote_file_deleted_while_followed_is_read_from_its_start_when_it_comes_back(
    store: Any, settings: Any, tmp_path: Path, sshd: SshServer
) -> None:
    remote = tmp_path / "host" / "app.log"
    remote.parent.mkdir()
    append(remote, [line(n) for n in range(3)])
    passes = Passes()
    running = Running(
        store=store,
        settings=_settings(settings, sshd),
        inputs=[sshd.url(remote)],
        poll_interval=0.05,
        identity=str(sshd.client_key),
        on_pass=passes,
        update_vectors=False,
    )
    try:
        wait_until(lambda: len(stored(store)) == 3, "the catch-up")
        remote.unlink()
        passes.more(6)  # looked at while it is gone: nothing to read, nothing said
        append(remote, [line(n, "again") for n in range(3, 5)])
        wait_until(lambda: len(stored(store)) == 5, "the file written again")
        report = running.finish()
    finally:
        running.stop.set()
    assert stored(store) == [line(n) for n in range(3)] + [line(n, "again") for n in range(3, 5)]
    assert not report.ingest.failed and report.ingest.new_events == 5 and report.outages == []


def test_binary_files_of_a_remote_directory_are_passed_over_and_its_logs_followed(
    store: Any, settings: Any, tmp_path: Path, sshd: SshServer
) -> None:
    logs = tmp_path / "host" / "logs"
    logs.mkdir(parents=True)
    append(logs / "app.log", [line(0)])
    (logs / "core.dump").write_bytes(b"\x7fELF\x00\x01\x02\x00" * 512)
    running = Running(
        store=store,
        settings=_settings(settings, sshd),
        inputs=[sshd.url(logs) + "/"],
        poll_interval=0.05,
        identity=str(sshd.client_key),
        update_vectors=False,
    )
    try:
        wait_until(lambda: stored(store) == [line(0)], "the catch-up")
        append(logs / "app.log", [line(1)])
        wait_until(lambda: len(stored(store)) == 2, "the appended line")
        report = running.finish()
    finally:
        running.stop.set()
    assert stored(store) == [line(0), line(1)]
    by_location = {source.location: source for source in report.ingest.sources}
    assert by_location[sshd.location(logs / "core.dump")].status == "skipped"
    assert by_location[sshd.location(logs / "app.log")].status == "ok"
    assert not report.ingest.failed and report.remote_files == 2


def test_a_connection_lost_in_the_middle_of_a_read_is_one_outage_and_the_rest_is_read_once_when_back(
    store: Any, settings: Any, tmp_path: Path, private_sshd: SshServer
) -> None:
    remote = tmp_path / "host" / "app.log"
    remote.parent.mkdir()
    append(remote, [line(n) for n in range(3)])
    held = _HeldRead(private_sshd.location(remote))
    passes = Passes()
    running = Running(
        store=store,
        settings=_settings(settings, private_sshd, retries=1, retry_backoff_seconds=0.1),
        inputs=[private_sshd.url(remote)],
        poll_interval=0.05,
        identity=str(private_sshd.client_key),
        progress=held,
        on_pass=passes,
        update_vectors=False,
    )
    try:
        wait_until(lambda: len(stored(store)) == 3, "the catch-up")
        held.armed.set()
        append(remote, [line(n, "during") for n in range(3, 6)])
        wait_until(held.holding.is_set, "the read of the appended lines, held with the file open")
        private_sshd.kill()  # the host goes away while its file is being read
        held.released.set()
        wait_until(lambda: passes.last is not None and len(passes.last.outages) == 1, "the outage")
        append(remote, [line(n, "after") for n in range(6, 8)])
        private_sshd.start()
        wait_until(lambda: len(stored(store)) == 8, "the rest, read from the checkpoint once the host is back")
        report = running.finish()
    finally:
        held.released.set()
        running.stop.set()
    assert stored(store) == (
        [line(n) for n in range(3)] + [line(n, "during") for n in range(3, 6)] + [line(n, "after") for n in range(6, 8)]
    )
    assert len(report.outages) == 1 and report.outages[0].until is not None
    assert "connection" in report.outages[0].error
    # The host's failure is the outage, not the file's: the follow ends well.
    assert not report.ingest.failed and report.ingest.new_events == 8
