"""services.follow over two real OpenSSH servers on 127.0.0.1, in process on SQLite and PostgreSQL: each
host is looked at and read by a job of its own, so a host whose read is held up (or whose sshd hangs)
delays neither the other host's appended lines nor the local files'."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sshd_server import SshServer
from test_follow_errors import Passes
from test_follow_service import PATIENCE_SECONDS, Running, append, line, stored, wait_until


@pytest.fixture
def two_hosts(tmp_path: Path, sshd: SshServer) -> Iterator[tuple[SshServer, SshServer]]:
    """Two sshd of this test's own (it may stop one), both letting in the first one's client key."""
    first = SshServer.create(tmp_path / "sshd-a")
    second = SshServer.create(tmp_path / "sshd-b")
    (second.root / "authorized_keys").write_text((first.root / "client_ed25519.pub").read_text())
    first.start()
    second.start()
    try:
        yield first, second
    finally:
        for server in (first, second):
            server.stop()


def _settings_for(settings: Any, tmp_path: Path, hosts: tuple[SshServer, SshServer], **remote: Any) -> Any:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(hosts[0].known_hosts.read_text() + hosts[1].known_hosts.read_text())
    settings.remote.known_hosts_file = str(known_hosts)
    settings.remote.connect_timeout_seconds = 5
    for key, value in remote.items():
        setattr(settings.remote, key, value)
    return settings


class _HeldRead:
    """A progress listener that, once armed, holds the read of one file where it starts (the file open,
    nothing of it written yet) until released: its host is as slow as a host can be."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.armed = threading.Event()
        self.holding = threading.Event()
        self.released = threading.Event()

    def start_source(self, report: Any, total_bytes: int | None) -> None:
        if report.location == self.location and self.armed.is_set() and not self.released.is_set():
            self.holding.set()
            self.released.wait(PATIENCE_SECONDS * 2)

    def advance(self, report: Any, bytes_done: int, lines_done: int) -> None: ...

    def finish_source(self, report: Any) -> None: ...


def test_a_line_appended_on_one_host_is_stored_while_the_other_hosts_read_is_held(
    store: Any, settings: Any, tmp_path: Path, two_hosts: tuple[SshServer, SshServer]
) -> None:
    first, second = two_hosts
    on_a, on_b = tmp_path / "a" / "app.log", tmp_path / "b" / "app.log"
    for path, word in ((on_a, "alpha"), (on_b, "bravo")):
        path.parent.mkdir()
        append(path, [line(n, word) for n in range(3)])
    local = tmp_path / "local.log"
    append(local, [line(100, "local")])
    held = _HeldRead(first.location(on_a))
    running = Running(
        store=store,
        settings=_settings_for(settings, tmp_path, two_hosts),
        poll_interval=0.05,
        inputs=[first.url(on_a), second.url(on_b), str(local)],
        identity=str(first.client_key),
        progress=held,
        update_vectors=False,
    )
    try:
        wait_until(lambda: len(stored(store)) == 7, "the catch-up of both hosts and the local file")
        held.armed.set()
        append(on_a, [line(3, "alpha")])
        wait_until(held.holding.is_set, "host a's read of its appended line, held where it starts")
        append(on_b, [line(3, "bravo")])
        append(local, [line(101, "local")])
        wait_until(
            lambda: {line(3, "bravo"), line(101, "local")} <= set(stored(store)),
            "host b's and the local file's lines, while host a's read is held",
        )
        assert line(3, "alpha") not in stored(store)  # still held: nothing of it written
        held.released.set()
        wait_until(lambda: line(3, "alpha") in stored(store), "host a's line, once its read goes on")
        report = running.finish()
    finally:
        held.released.set()
        running.stop.set()
    everything = stored(store)
    assert sorted(everything) == sorted(
        [line(n, "alpha") for n in range(4)]
        + [line(n, "bravo") for n in range(4)]
        + [line(100, "local"), line(101, "local")]
    )
    assert len(everything) == len(set(everything)) == 10  # nothing stored twice
    assert not report.ingest.failed and report.outages == [] and report.remote_files == 2


def test_a_host_that_hangs_is_one_outage_and_the_other_host_is_followed_meanwhile(
    store: Any, settings: Any, tmp_path: Path, two_hosts: tuple[SshServer, SshServer]
) -> None:
    first, second = two_hosts
    on_a, on_b = tmp_path / "a" / "app.log", tmp_path / "b" / "app.log"
    for path, word in ((on_a, "alpha"), (on_b, "bravo")):
        path.parent.mkdir()
        append(path, [line(n, word) for n in range(2)])
    passes = Passes()
    running = Running(
        store=store,
        settings=_settings_for(settings, tmp_path, two_hosts, read_timeout_seconds=2, retry_backoff_seconds=0.2),
        poll_interval=0.05,
        inputs=[first.url(on_a), second.url(on_b)],
        identity=str(first.client_key),
        on_pass=passes,
        update_vectors=False,
    )
    try:
        wait_until(lambda: len(stored(store)) == 4, "the catch-up of both hosts")
        first.pause()
        append(on_a, [line(2, "alpha")])  # its look now waits for an answer that does not come
        for n in range(2, 5):
            append(on_b, [line(n, "bravo")])
            wait_until(lambda n=n: line(n, "bravo") in stored(store), f"host b's line {n} while host a hangs")
        wait_until(lambda: passes.last is not None and len(passes.last.outages) == 1, "host a's outage")
        first.resume()
        wait_until(lambda: line(2, "alpha") in stored(store), "host a's line once it answers again")
        wait_until(lambda: passes.last is not None and passes.last.outages[0].until is not None, "the outage's end")
        report = running.finish()
    finally:
        first.resume()
        running.stop.set()
    assert sorted(stored(store)) == sorted([line(n, "alpha") for n in range(3)] + [line(n, "bravo") for n in range(5)])
    # One outage, said once, for the host that hung; the other host never had one.
    assert [outage.host for outage in report.outages] == [first.url("")]
    assert report.outages[0].until is not None and not report.ingest.failed
