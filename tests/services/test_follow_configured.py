"""services.follow_configured in process, on SQLite and PostgreSQL: the configured sources, local and on a
real OpenSSH server (its key offered by a real ssh-agent, as for a store source), are read again at every
rescan, so a source removed or disabled stops being followed while the others go on."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sshd_server import SshServer
from test_follow_service import append, line, stored, wait_until

from logchat.services.follow import FollowReport


@pytest.fixture
def agent_with_key(tmp_path: Path, sshd: SshServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An ssh-agent of this test's own holding the server's client key: store sources take their key from
    the agent (or ~/.ssh), never from a path of their own."""
    socket_path = tmp_path / "agent.sock"
    started = subprocess.run(["ssh-agent", "-a", str(socket_path)], capture_output=True, text=True, check=True)
    pid = int(re.search(r"SSH_AGENT_PID=(\d+)", started.stdout).group(1))  # type: ignore[union-attr]
    try:
        environment = {**os.environ, "SSH_AUTH_SOCK": str(socket_path)}
        subprocess.run(["ssh-add", "-q", str(sshd.client_key)], env=environment, check=True, capture_output=True)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket_path))
        yield
    finally:
        os.kill(pid, 15)


class _Following:
    def __init__(self, store: Any, settings: Any) -> None:
        from logchat.services.follow_configured import follow_configured_sources

        self.stop = threading.Event()
        self.last: FollowReport | None = None
        self.result: FollowReport | None = None
        self.failure: BaseException | None = None

        def run() -> None:
            try:
                self.result = follow_configured_sources(
                    store, settings, stop=self.stop, on_pass=self._seen, update_vectors=False
                )
            except BaseException as exc:  # handed to the test
                self.failure = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def _seen(self, report: FollowReport) -> None:
        self.last = report

    def files(self) -> int | None:
        return None if self.last is None else self.last.files

    def finish(self) -> FollowReport:
        self.stop.set()
        self.thread.join(timeout=120)
        if self.failure is not None:
            raise self.failure
        assert self.result is not None
        return self.result


def test_a_remote_source_removed_and_a_local_one_disabled_are_no_longer_followed(
    store: Any, settings: Any, tmp_path: Path, sshd: SshServer, agent_with_key: None
) -> None:
    from logchat.services.configured_sources import add_source, remove_source, update_source

    host_dir = tmp_path / "host"
    host_dir.mkdir()
    on_host, kept, disabled = host_dir / "web.log", tmp_path / "kept.log", tmp_path / "disabled.log"
    for path, word in ((on_host, "web"), (kept, "kept"), (disabled, "disabled")):
        append(path, [line(0, word)])
    settings.remote.known_hosts_file = str(sshd.known_hosts)
    settings.ingest.follow_poll_interval = 0.05
    add_source(store, settings, name="web", path=sshd.url(host_dir) + "/*.log")
    add_source(store, settings, name="kept", path=str(kept))
    add_source(store, settings, name="disabled", path=str(disabled))
    following = _Following(store, settings)
    try:
        wait_until(lambda: following.files() == 3 and len(stored(store)) == 3, "the three sources followed")
        remove_source(store, settings, "web")
        update_source(store, settings, "disabled", enabled=False)
        wait_until(lambda: following.files() == 1, "only the source still configured and enabled followed")
        for path, word in ((on_host, "web"), (kept, "kept"), (disabled, "disabled")):
            append(path, [line(1, word)])
        wait_until(lambda: line(1, "kept") in stored(store), "the line appended to the source still followed")
        report = following.finish()
    finally:
        following.stop.set()
    assert sorted(stored(store)) == sorted([line(0, "web"), line(0, "kept"), line(0, "disabled"), line(1, "kept")])
    assert report.files == 1 and report.remote_files == 0 and not report.ingest.failed
