"""The SSH side of remote sources (ingest/remote.py) against a real OpenSSH server on 127.0.0.1: how
each way of failing is told (a name that does not resolve, a listener that hangs up, a file that is not
there or not a file, a connection lost), and the SFTP stream's seeking."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sshd_server import SshServer, free_port

from logchat.errors import SourceNotFound, SourceUnreadable


def _host(server: SshServer, path: str = "/var/log/syslog", *, port: int | None = None, host: str = "127.0.0.1",
          connect_timeout: float = 5.0):  # type: ignore[no-untyped-def]
    from logchat.ingest.remote import RemoteHost
    from logchat.ingest.ssh_location import RemoteOptions, parse_ssh_url

    url = parse_ssh_url(f"ssh://{host}:{port or server.port}{path}")
    return RemoteHost(url, RemoteOptions(identity=str(server.client_key), known_hosts_file=str(server.known_hosts),
                                         connect_timeout=connect_timeout, read_timeout=5.0))


@pytest.fixture
def hangs_up() -> Iterator[int]:
    """A port whose listener accepts each connection and closes it at once, without a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_a_host_name_that_does_not_resolve_is_named(sshd: SshServer) -> None:
    host = _host(sshd, host="no-such-host.invalid", port=22)
    with pytest.raises(SourceUnreadable) as caught:
        host.connect()
    assert str(caught.value) == "ssh://no-such-host.invalid: unknown host name 'no-such-host.invalid'"
    assert not host.connected


def test_a_listener_that_hangs_up_at_once_is_told_from_one_that_says_nothing(sshd: SshServer, hangs_up: int) -> None:
    host = _host(sshd, port=hangs_up)
    with pytest.raises(SourceUnreadable) as caught:
        host.connect()
    assert str(caught.value) == (f"ssh://127.0.0.1:{hangs_up}: 127.0.0.1:{hangs_up} closed the connection "
                                 "without a word")


def test_files_that_are_missing_or_not_files_are_named(tmp_path: Path, sshd: SshServer) -> None:
    host = _host(sshd)
    try:
        missing = str(tmp_path / "gone.log")
        with pytest.raises(SourceNotFound, match=r"gone\.log: no such file$"):
            host.identify(missing)
        with pytest.raises(SourceNotFound, match=r"gone\.log: no such file$"):
            host.size_and_mtime(missing)
        with pytest.raises(SourceNotFound, match=r"gone\.log: no such file$"):
            host.open(missing)
        with pytest.raises(SourceUnreadable, match=r"tmp.*: not a regular file$"):
            host.identify(str(tmp_path))
        (tmp_path / "plain").write_text("x")
        with pytest.raises(SourceUnreadable, match=r"plain/below: stat failed: .*not a directory"):
            host.identify(str(tmp_path / "plain" / "below"))
        # The connection is fine after each of them: a missing file is not a lost host.
        assert host.connected and not host.lost
    finally:
        host.close()


def test_a_glob_naming_something_that_is_not_a_file_is_a_problem_beside_the_files(
        tmp_path: Path, sshd: SshServer) -> None:
    from logchat.ingest.remote import HostPool, RemoteRequest
    from logchat.ingest.ssh_location import RemoteOptions

    (tmp_path / "a.log").write_text("one\n")
    os.mkfifo(tmp_path / "b.log")
    options = RemoteOptions(identity=str(sshd.client_key), known_hosts_file=str(sshd.known_hosts))
    pool = HostPool(max_hosts=2)
    try:
        good, malformed = pool.expand([RemoteRequest(sshd.url(tmp_path) + "/*.log", None, "auto", options),
                                       RemoteRequest("ssh://", None, "auto", options)])
    finally:
        pool.close()
    assert [spec.location for spec in good.specs] == [sshd.location(tmp_path / "a.log")]
    assert [(where, str(problem)) for where, problem in good.problems] == [
        (sshd.location(tmp_path / "b.log"), f"{sshd.location(tmp_path / 'b.log')}: not a regular file")]
    assert malformed.specs == [] and [where for where, _ in malformed.problems] == ["ssh://"]


def test_the_stream_seeks_from_the_start_the_current_position_and_the_end(tmp_path: Path, sshd: SshServer) -> None:
    data = bytes(range(256)) * 40
    (tmp_path / "data.bin").write_bytes(data)
    host = _host(sshd)
    try:
        with host.open(str(tmp_path / "data.bin")) as handle:
            assert handle.seek(-10, io.SEEK_END) == len(data) - 10
            assert handle.read() == data[-10:]
            handle.seek(100)
            assert handle.read(5) == data[100:105]
            assert handle.seek(20, io.SEEK_CUR) == 125
            assert handle.read(3) == data[125:128]
        assert host.head_checksum(str(tmp_path / "data.bin"), 16) == hashlib.sha1(data[:16]).hexdigest()
    finally:
        host.close()


def test_a_lost_connection_is_told_from_a_missing_file_and_reconnecting_brings_it_back(
        tmp_path: Path, private_sshd: SshServer) -> None:
    (tmp_path / "app.log").write_text("one\ntwo\n")
    log = str(tmp_path / "app.log")
    host = _host(private_sshd)
    try:
        assert host.size_and_mtime(log)[0] == 8
        private_sshd.kill()
        with pytest.raises(SourceUnreadable, match="connection lost"):
            host.size_and_mtime(log)
        assert host.lost and not host.connected
        with pytest.raises(SourceUnreadable, match="connection lost"):
            host.identify(log)  # a command on the host, over the dead connection
        with pytest.raises(SourceUnreadable, match="connection refused"):
            host.reconnect()
        private_sshd.start()
        host.reconnect()
        assert host.connected and host.identify(log).size == 8
        assert [name for name, _ in host.siblings(log)] == [log]
    finally:
        host.close()


def test_a_port_nothing_listens_on_is_refused(sshd: SshServer) -> None:
    port = free_port()
    with pytest.raises(SourceUnreadable) as caught:
        _host(sshd, port=port).connect()
    assert str(caught.value) == f"ssh://127.0.0.1:{port}: cannot connect to 127.0.0.1:{port}: connection refused"


def test_a_host_that_hangs_is_told_as_no_answer_within_the_connect_timeout(private_sshd: SshServer) -> None:
    host = _host(private_sshd, connect_timeout=1.0)
    private_sshd.pause()  # the kernel still accepts the connection; sshd never greets
    try:
        with pytest.raises(SourceUnreadable) as caught:
            host.connect()
    finally:
        private_sshd.resume()
    where = f"127.0.0.1:{private_sshd.port}"
    assert str(caught.value) == f"ssh://{where}: no answer from {where} within 1s"
    assert not host.connected
    host.connect()  # answering again: the same host connects
    assert host.connected
    host.close()
