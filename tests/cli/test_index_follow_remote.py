"""`logchat index --follow ssh://…` as a real process against a real OpenSSH server: appended lines,
rotation and truncation on the host, a local file followed beside it, SIGTERM, and sshd killed and
restarted in the middle of a follow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sshd_server import SshServer

PATIENCE_SECONDS = 60


def line(n: int, word: str = "tick") -> str:
    return f"2026-11-03T10:{n // 60 % 60:02d}:{n % 60:02d}+00:00 web-01 app[{n}]: {word} number {n} done"


def lines(numbers: range, word: str = "tick") -> list[str]:
    return [line(n, word) for n in numbers]


def append(path: Path, items: list[str]) -> None:
    with path.open("a") as handle:
        handle.write("".join(item + "\n" for item in items))


def config(path: Path, server: SshServer) -> Path:
    path.write_text(
        f'[remote]\nknown_hosts_file = "{server.known_hosts}"\nretries = 2\nretry_backoff_seconds = 0.5\n'
        "connect_timeout_seconds = 5\nread_timeout_seconds = 10\n"
    )
    return path


def command(cfg: Path, data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "logchat", "--config", str(cfg), "--data-dir", str(data_dir), *args]


def environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("LOGCHAT_")}


def stored(data_dir: Path) -> list[tuple[str, str]]:
    """(source location, raw line) of every stored event, in the order stored."""
    engine = create_engine(f"sqlite:///{data_dir / 'logchat.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT s.location, e.raw FROM events e JOIN sources s "
                                     "ON s.id = e.source_id ORDER BY e.id")).all()
    except Exception:  # not created or migrated yet
        return []
    finally:
        engine.dispose()
    return [(location, raw) for location, raw in rows]


def wait_until(condition: Callable[[], bool], what: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def start(cfg: Path, data_dir: Path, server: SshServer, paths: list[str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command(cfg, data_dir, "index", "--follow", "--poll-interval", "0.1", "--identity", str(server.client_key),
                *extra, *paths),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())


def stop(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def test_a_remote_file_is_followed_across_appends_rotation_and_truncation_beside_a_local_one(
        tmp_path: Path, sshd: SshServer) -> None:
    remote = tmp_path / "host" / "app.log"
    remote.parent.mkdir()
    append(remote, lines(range(3)))
    local = tmp_path / "local.log"
    append(local, lines(range(100, 102), "local"))
    url = sshd.url(remote)
    data = tmp_path / "data"
    process = start(config(tmp_path / "logchat.toml", sshd), data, sshd, [url, str(local)], "--json")
    try:
        raw = lambda: [item for _, item in stored(data)]  # noqa: E731
        wait_until(lambda: len(stored(data)) == 5, "the catch-up", process)
        append(remote, lines(range(3, 6)))
        append(local, lines(range(102, 103), "local"))
        wait_until(lambda: len(stored(data)) == 9, "the appended lines", process)
        # logrotate: lines written just before the rename, the rename, lines into the renamed file,
        # then the new file. Each line is stored once: the renamed file is finished from its sibling.
        append(remote, lines(range(6, 8)))
        remote.rename(remote.with_name("app.log.1"))
        append(remote.with_name("app.log.1"), lines(range(8, 9), "late"))
        append(remote, lines(range(9, 11), "fresh"))
        wait_until(lambda: len(stored(data)) == 14, "the rotated and the new file's lines", process)
        # copytruncate: the file starts again, shorter than what was read.
        remote.write_text(line(11, "again") + "\n")
        wait_until(lambda: line(11, "again") in raw(), "the truncated file's line", process)
        append(remote, lines(range(12, 13), "last"))
        code, out, err = stop(process)  # the line appended just before SIGTERM is still read
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert code == 0, err
    remote_lines = [item for location, item in stored(data) if location == url]
    assert remote_lines == [*lines(range(8)), line(8, "late"), *lines(range(9, 11), "fresh"), line(11, "again"),
                            line(12, "last")]
    assert [item for location, item in stored(data) if location == str(local)] == lines(range(100, 103), "local")
    report = json.loads(out)
    assert report["ok"] and report["new_events"] == 16
    assert report["follow"]["files"] == 2 and report["follow"]["remote_files"] == 1
    assert report["follow"]["watcher"] == "polling" and report["follow"]["outages"] == []
    by_location = {source["location"]: source for source in report["sources"]}
    assert by_location[url]["new_events"] == 13 and by_location[url]["generation"] == 2


def test_sshd_killed_while_following_is_one_outage_and_the_follow_resumes_without_loss(
        tmp_path: Path, private_sshd: SshServer) -> None:
    remote = tmp_path / "host" / "app.log"
    remote.parent.mkdir()
    append(remote, lines(range(20)))
    local = tmp_path / "local.log"
    append(local, lines(range(500, 501), "local"))
    url = private_sshd.url(remote)
    cfg = config(tmp_path / "logchat.toml", private_sshd)
    data = tmp_path / "data"
    # Piped and without --json: notes and warnings are lines on stderr.
    process = start(cfg, data, private_sshd, [url, str(local)])
    try:
        wait_until(lambda: len(stored(data)) == 21, "the catch-up", process)
        private_sshd.kill()  # sshd and the session the follow is using
        append(remote, lines(range(20, 30)))
        append(local, lines(range(501, 503), "local"))  # the other files are followed meanwhile
        local_lines = lambda: [item for location, item in stored(data) if location == str(local)]  # noqa: E731
        wait_until(lambda: len(local_lines()) == 3, "the local lines while the host is away", process)
        assert len(stored(data)) == 23  # nothing of the remote file while the host is away
        time.sleep(2.0)  # several looks and reconnection attempts while the host is away
        private_sshd.start()
        wait_until(lambda: len(stored(data)) == 33, "the lines appended while the host was away", process)
        append(remote, lines(range(30, 35)))
        wait_until(lambda: len(stored(data)) == 38, "the lines appended after it came back", process)
        code, _, err = stop(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert code == 0, err
    assert err.count("retrying with back-off") == 1, err  # once per outage, not per look
    assert err.count("reachable again") == 1, err
    assert f"ssh://127.0.0.1:{private_sshd.port}" in err
    # The same store as one uninterrupted `logchat index` of the same files.
    whole = tmp_path / "whole"
    once = subprocess.run(command(cfg, whole, "--quiet", "index", "--identity", str(private_sshd.client_key), url,
                                  str(local)), capture_output=True, text=True, timeout=300, env=environment())
    assert once.returncode == 0, once.stderr
    assert sorted(stored(data)) == sorted(stored(whole))
    assert [item for location, item in stored(data) if location == url] == lines(range(35))
