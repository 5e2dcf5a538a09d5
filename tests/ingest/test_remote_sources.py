"""ssh:// sources read from a real OpenSSH server (tests/sshd_server.py) on 127.0.0.1: globs, resume,
append, rotation, truncation, .gz, host keys, client keys, hosts that do not answer."""

from __future__ import annotations

import gzip
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sshd_server import SshServer


def _lines(count: int, start: int = 0, host: str = "web-01") -> str:
    return "".join(
        f"2026-01-05T10:{(i // 60) % 60:02d}:{i % 60:02d}+00:00 {host} sshd[{i}]: Failed password for root "
        f"from 10.0.{i % 200}.{i % 250} port {1000 + i} ssh2\n"
        for i in range(start, start + count)
    )


@pytest.fixture
def remote_settings(data_dir: Path, database_url: str, sshd: SshServer) -> Any:
    from logchat.config import load_settings

    return load_settings(data_dir=data_dir, database={"url": database_url},
                         remote={"known_hosts_file": str(sshd.known_hosts), "connect_timeout_seconds": 5,
                                 "retry_backoff_seconds": 0.1})


@pytest.fixture
def remote_store(remote_settings: Any) -> Iterator[Any]:
    from logchat.storage.db import open_store

    opened = open_store(remote_settings.database_url)
    try:
        yield opened
    finally:
        opened.close()


def _index(store: Any, settings: Any, inputs: list[str], sshd: SshServer, **options: Any) -> Any:
    from logchat.services.ingest import index_inputs

    options.setdefault("identity", str(sshd.client_key))
    return index_inputs(store, settings, inputs, **options)


def _by_location(report: Any) -> dict[str, Any]:
    return {source.location: source for source in report.sources}


def _stored(store: Any, location: str) -> list[tuple[int, str]]:
    with store.session() as session:
        rows = session.execute(text(
            "SELECT e.line_no, e.raw FROM events e JOIN sources s ON s.id = e.source_id "
            "WHERE s.location = :location ORDER BY e.generation, e.line_no"), {"location": location})
        return [(int(line), raw) for line, raw in rows]


def test_glob_is_expanded_on_the_host_and_each_file_is_a_source(
        tmp_path: Path, sshd: SshServer, remote_store: Any, remote_settings: Any) -> None:
    logs = tmp_path / "nginx"
    logs.mkdir()
    (logs / "access.log").write_text(_lines(30))
    (logs / "error.log").write_text(_lines(5, host="web-02"))
    (logs / "notes.txt").write_text(_lines(7))
    report = _index(remote_store, remote_settings, [sshd.url(logs) + "/*.log"], sshd)
    assert not report.failed, report.to_dict()
    sources = _by_location(report)
    assert set(sources) == {sshd.location(logs / "access.log"), sshd.location(logs / "error.log")}
    assert sources[sshd.location(logs / "access.log")].new_events == 30
    assert sources[sshd.location(logs / "error.log")].new_events == 5
    stored = _stored(remote_store, sshd.location(logs / "error.log"))
    assert stored == [(n + 1, line) for n, line in enumerate(_lines(5, host="web-02").splitlines())]


def test_a_second_run_reads_only_what_was_appended(
        tmp_path: Path, sshd: SshServer, remote_store: Any, remote_settings: Any) -> None:
    log = tmp_path / "app.log"
    log.write_text(_lines(100))
    url = sshd.url(log)
    first = _index(remote_store, remote_settings, [url], sshd)
    assert (first.sources[0].status, first.new_events) == ("ok", 100)
    again = _index(remote_store, remote_settings, [url], sshd)
    assert (again.sources[0].status, again.new_events, again.bytes_read) == ("unchanged", 0, 0)
    with log.open("a") as handle:
        handle.write(_lines(40, start=100))
    appended = _index(remote_store, remote_settings, [url], sshd)
    assert (appended.sources[0].status, appended.new_events) == ("ok", 40)
    assert appended.bytes_read == len(_lines(40, start=100).encode())
    stored = _stored(remote_store, sshd.location(log))
    assert stored == [(n + 1, line) for n, line in enumerate(_lines(140).splitlines())]


def test_rotation_reads_the_rest_of_the_renamed_file_then_the_new_one(
        tmp_path: Path, sshd: SshServer, remote_store: Any, remote_settings: Any) -> None:
    log = tmp_path / "syslog"
    log.write_text(_lines(50))
    url = sshd.url(log)
    assert _index(remote_store, remote_settings, [url], sshd).new_events == 50
    with log.open("a") as handle:  # written just before logrotate renamed it
        handle.write(_lines(10, start=50))
    log.rename(tmp_path / "syslog.1")
    log.write_text(_lines(20, start=1000, host="web-09"))
    rotated = _index(remote_store, remote_settings, [url], sshd)
    assert not rotated.failed, rotated.to_dict()
    assert (rotated.sources[0].status, rotated.new_events) == ("rotated", 30)
    raws = [raw for _, raw in _stored(remote_store, sshd.location(log))]
    assert raws == (_lines(60) + _lines(20, start=1000, host="web-09")).splitlines()


def test_truncation_starts_a_new_generation(
        tmp_path: Path, sshd: SshServer, remote_store: Any, remote_settings: Any) -> None:
    log = tmp_path / "app.log"
    log.write_text(_lines(80))
    url = sshd.url(log)
    assert _index(remote_store, remote_settings, [url], sshd).new_events == 80
    with log.open("r+") as handle:  # copytruncate, then a few new lines: same inode, smaller
        handle.truncate(0)
        handle.write(_lines(3, start=500))
    truncated = _index(remote_store, remote_settings, [url], sshd)
    assert (truncated.sources[0].status, truncated.new_events, truncated.sources[0].generation) == ("truncated", 3, 1)


def test_gzip_is_read_whole_once(tmp_path: Path, sshd: SshServer, remote_store: Any, remote_settings: Any) -> None:
    archive = tmp_path / "app.log.2.gz"
    archive.write_bytes(gzip.compress(_lines(250).encode()))
    url = sshd.url(archive)
    first = _index(remote_store, remote_settings, [url], sshd)
    assert (first.sources[0].kind, first.new_events) == ("gzip", 250), first.to_dict()
    assert _stored(remote_store, sshd.location(archive))[-1] == (250, _lines(250).splitlines()[-1])
    again = _index(remote_store, remote_settings, [url], sshd)
    assert (again.sources[0].status, again.new_events) == ("unchanged", 0)


def test_an_unknown_host_key_is_refused_unless_accepted_and_then_recorded(
        tmp_path: Path, sshd: SshServer, remote_store: Any, remote_settings: Any) -> None:
    from logchat.config import load_settings

    known_hosts = tmp_path / "ssh" / "known_hosts"
    settings = load_settings(data_dir=remote_settings.data_dir, database={"url": remote_settings.database_url},
                             remote={"known_hosts_file": str(known_hosts)})
    log = tmp_path / "app.log"
    log.write_text(_lines(4))
    refused = _index(remote_store, settings, [sshd.url(log)], sshd)
    assert refused.failed and refused.new_events == 0
    message = refused.sources[0].errors[0]
    assert "unknown host key for [127.0.0.1]:" in message and "--accept-new-host-key" in message
    assert not known_hosts.exists()
    accepted = _index(remote_store, settings, [sshd.url(log)], sshd, accept_new_host_key=True)
    assert not accepted.failed and accepted.new_events == 4
    key = (sshd.root / "host_ed25519.pub").read_text().split()[1]
    assert known_hosts.read_text() == f"[127.0.0.1]:{sshd.port} ssh-ed25519 {key}\n"
    with log.open("a") as handle:
        handle.write(_lines(1, start=4))
    assert _index(remote_store, settings, [sshd.url(log)], sshd).new_events == 1  # known now


def test_a_changed_host_key_is_always_refused(
        tmp_path: Path, sshd: SshServer, remote_store: Any, remote_settings: Any) -> None:
    from sshd_server import keygen

    from logchat.config import load_settings

    other = keygen(tmp_path / "other_host_key")
    known_hosts = tmp_path / "known_hosts"
    key_type, key = Path(f"{other}.pub").read_text().split()[:2]
    known_hosts.write_text(f"[127.0.0.1]:{sshd.port} {key_type} {key}\n")
    settings = load_settings(data_dir=remote_settings.data_dir, database={"url": remote_settings.database_url},
                             remote={"known_hosts_file": str(known_hosts)})
    log = tmp_path / "app.log"
    log.write_text(_lines(4))
    report = _index(remote_store, settings, [sshd.url(log)], sshd, accept_new_host_key=True)
    assert report.failed and report.new_events == 0
    assert "has CHANGED" in report.sources[0].errors[0] and "ssh-keygen -R" in report.sources[0].errors[0]
    assert known_hosts.read_text() == f"[127.0.0.1]:{sshd.port} {key_type} {key}\n"  # left as it was


def test_a_client_key_the_server_does_not_know_is_refused(
        tmp_path: Path, sshd: SshServer, remote_store: Any, remote_settings: Any) -> None:
    from sshd_server import keygen

    stranger = keygen(tmp_path / "stranger_key")
    log = tmp_path / "app.log"
    log.write_text(_lines(4))
    report = _index(remote_store, remote_settings, [sshd.url(log)], sshd, identity=str(stranger))
    assert report.failed and report.new_events == 0
    assert f"authentication failed as 'root' with {stranger}" in report.sources[0].errors[0]


def test_a_closed_port_fails_alone_and_the_local_source_is_still_read(
        tmp_path: Path, sshd: SshServer, remote_store: Any, remote_settings: Any) -> None:
    from sshd_server import free_port

    local = tmp_path / "local.log"
    local.write_text(_lines(6))
    port = free_port()
    report = _index(remote_store, remote_settings, [f"ssh://127.0.0.1:{port}/var/log/syslog", str(local)], sshd)
    assert report.failed
    failed = _by_location(report)[f"ssh://127.0.0.1:{port}/var/log/syslog"]
    assert failed.errors == [f"ssh://127.0.0.1:{port}: cannot connect to 127.0.0.1:{port}: connection refused"]
    assert _by_location(report)[str(local)].new_events == 6


def test_a_listener_that_never_speaks_times_out(tmp_path: Path, sshd: SshServer, remote_store: Any,
                                                remote_settings: Any) -> None:
    from logchat.config import load_settings

    settings = load_settings(data_dir=remote_settings.data_dir, database={"url": remote_settings.database_url},
                             remote={"known_hosts_file": str(sshd.known_hosts), "connect_timeout_seconds": 1})
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    port = silent.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_say_nothing() -> None:
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept_and_say_nothing, daemon=True)
    thread.start()
    try:
        report = _index(remote_store, settings, [f"ssh://127.0.0.1:{port}/var/log/syslog"], sshd)
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        silent.close()
    assert report.failed
    assert report.sources[0].errors == [f"ssh://127.0.0.1:{port}: no answer from 127.0.0.1:{port} within 1s"]


def test_a_path_that_is_not_there_is_named(tmp_path: Path, sshd: SshServer, remote_store: Any,
                                           remote_settings: Any) -> None:
    missing = sshd.url(tmp_path / "nope.log")
    glob = sshd.url(tmp_path) + "/*.nothing"
    report = _index(remote_store, remote_settings, [missing, glob], sshd)
    assert [source.errors for source in report.sources] == [
        [f"{missing}: no such file or directory"], [f"{glob}: no file matches this pattern"]]


def test_ssh_urls_are_parsed_by_hand_so_globs_survive() -> None:
    from logchat.errors import SourceNotFound
    from logchat.ingest.ssh_location import parse_ssh_url

    url = parse_ssh_url("ssh://deploy@web-01:2222/var/log/nginx/access-?.log")
    assert (url.user, url.host, url.port, url.path) == ("deploy", "web-01", 2222, "/var/log/nginx/access-?.log")
    assert url.location() == "ssh://web-01:2222/var/log/nginx/access-?.log"
    assert parse_ssh_url("ssh://web-02/var/log/syslog").location() == "ssh://web-02/var/log/syslog"
    for bad, why in [("ssh://web-01", "absolute path"), ("ssh://web-01:99999/x", "port"), ("ssh:///x", "no host"),
                     ("ssh://web-01/", "not /")]:
        with pytest.raises(SourceNotFound, match=why):
            parse_ssh_url(bad)


def test_remote_config_source_needs_absolute_paths_and_a_host() -> None:
    from logchat.config import SourceSettings

    source = SourceSettings(host="web-01", user="deploy", port=2222, paths=["/var/log/a.log", "/var/log/b*.log"])
    assert source.locations() == ["ssh://deploy@web-01:2222/var/log/a.log", "ssh://deploy@web-01:2222/var/log/b*.log"]
    with pytest.raises(ValueError, match="absolute"):
        SourceSettings(host="web-01", paths=["var/log/a.log"])
    with pytest.raises(ValueError, match="set host too"):
        SourceSettings(path="/var/log/a.log", user="deploy")
    with pytest.raises(ValueError, match="remote"):
        SourceSettings(path="/var/log/a.log", identity="~/.ssh/id_ed25519")
    assert not os.environ.get("LOGCHAT_REMOTE__PASSWORD")  # there is no such setting to read
    with pytest.raises(ValueError, match="password"):
        SourceSettings(host="web-01", paths=["/x"], password="secret")  # type: ignore[call-arg]


def test_reload_accepts_a_new_host_key_when_the_source_says_so(
        tmp_path: Path, sshd: SshServer, remote_settings: Any, remote_store: Any) -> None:
    from logchat.config import load_settings
    from logchat.services.ingest import reload_sources

    known_hosts = tmp_path / "known_hosts"
    log = tmp_path / "app.log"
    log.write_text(_lines(9))

    def settings_with(accept: bool) -> Any:
        source = {"name": "web", "host": "127.0.0.1", "port": sshd.port, "identity": str(sshd.client_key),
                  "paths": [str(log)], "accept_new_host_key": accept}
        return load_settings(data_dir=remote_settings.data_dir, database={"url": remote_settings.database_url},
                             remote={"known_hosts_file": str(known_hosts)}, sources=[source])

    refused = reload_sources(remote_store, settings_with(False))
    assert refused.failed and "unknown host key" in refused.sources[0].errors[0]
    accepted = reload_sources(remote_store, settings_with(True))
    assert not accepted.failed and accepted.new_events == 9
    assert accepted.sources[0].name == "web" and accepted.sources[0].location == sshd.location(log)
    assert known_hosts.read_text().startswith(f"[127.0.0.1]:{sshd.port} ssh-ed25519 ")
