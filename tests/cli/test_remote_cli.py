"""`logchat index ssh://…` and `logchat reload` with remote [[sources]], against a real OpenSSH server:
exit codes, a server killed in the middle of a read, citations that name the host."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from interrupt import committed_events
from sshd_server import SshServer, free_port


def _lines(count: int, start: int = 0) -> str:
    return "".join(
        f"2026-01-05T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}+00:00 web-01 sshd[{i}]: Failed password "
        f"for root from 10.0.{i % 200}.{i % 250} port {1000 + i} ssh2\n"
        for i in range(start, start + count)
    )


def _config(path: Path, server: SshServer, extra: str = "") -> Path:
    path.write_text(
        "[ingest]\nbatch_size = 5000\n\n"
        f'[remote]\nknown_hosts_file = "{server.known_hosts}"\nretries = 6\nretry_backoff_seconds = 0.5\n'
        "connect_timeout_seconds = 5\nread_timeout_seconds = 10\n" + extra
    )
    return path


def _command(config: Path, data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "logchat", "--quiet", "--config", str(config), "--data-dir", str(data_dir), *args]


def _environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("LOGCHAT_")}


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=cwd, env=_environment())


def _events(database: Path) -> list[tuple[str, int, str]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT s.location, e.line_no, e.raw FROM events e JOIN sources s "
                                     "ON s.id = e.source_id ORDER BY s.location, e.line_no"))
            return [(location, int(line), raw) for location, line, raw in rows]
    finally:
        engine.dispose()


def test_sshd_killed_in_the_middle_of_a_read_is_retried_without_loss_or_duplicates(
        tmp_path: Path, private_sshd: SshServer) -> None:
    big = tmp_path / "big.log"
    big.write_text(_lines(100_000))
    config = _config(tmp_path / "logchat.toml", private_sshd)
    url = private_sshd.url(big)
    index = ["index", url, "--identity", str(private_sshd.client_key)]

    whole = _run(_command(config, tmp_path / "whole", *index), tmp_path)
    assert whole.returncode == 0, whole.stderr
    expected = _events(tmp_path / "whole" / "logchat.db")
    assert len(expected) == 100_000

    killed_dir = tmp_path / "killed"
    process = subprocess.Popen(_command(config, killed_dir, *index, "--json"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=_environment())
    committed = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None and committed < 20_000:
        time.sleep(0.05)
        committed = committed_events(killed_dir / "logchat.db") or committed
    assert process.poll() is None, "the index finished before the server could be killed"
    private_sshd.kill()  # sshd and the session serving this read: the connection drops mid-file
    time.sleep(1.0)
    private_sshd.start()  # same port and keys: the retry reconnects and goes on from the last commit
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert committed < 100_000
    report = json.loads(out)
    assert report["ok"] and report["sources"][0]["location"] == url
    # One run read the whole file, over two connections: its counts add up across them.
    assert (report["new_events"], report["new_lines"], report["bytes_read"]) == (
        100_000, 100_000, big.stat().st_size)
    assert _events(killed_dir / "logchat.db") == expected


def test_sshd_down_for_good_fails_the_run_and_the_next_run_completes_it(
        tmp_path: Path, private_sshd: SshServer) -> None:
    log = tmp_path / "app.log"
    log.write_text(_lines(100))
    config = _config(tmp_path / "logchat.toml", private_sshd)
    index = ["index", private_sshd.url(log), "--identity", str(private_sshd.client_key)]
    assert _run(_command(config, tmp_path / "data", *index), tmp_path).returncode == 0
    with log.open("a") as handle:
        handle.write(_lines(50, start=100))
    private_sshd.stop()
    down = _run(_command(config, tmp_path / "data", *index), tmp_path)
    assert down.returncode == 1
    assert down.stderr.strip() == (f"logchat: error: ssh://127.0.0.1:{private_sshd.port}: cannot connect to "
                                   f"127.0.0.1:{private_sshd.port}: connection refused")
    private_sshd.start()
    up = _run(_command(config, tmp_path / "data", *index, "--json"), tmp_path)
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["new_events"] == 50
    assert [raw for _, _, raw in _events(tmp_path / "data" / "logchat.db")] == _lines(150).splitlines()


def test_reload_reads_remote_sources_beside_local_ones_and_citations_name_the_host(
        tmp_path: Path, sshd: SshServer) -> None:
    remote_dir = tmp_path / "remote"
    remote_dir.mkdir()
    (remote_dir / "auth.log").write_text(_lines(40))
    (remote_dir / "auth.log.1").write_text(_lines(3, start=900))
    local = tmp_path / "local.log"
    local.write_text(_lines(5, start=2000))
    closed = free_port()
    config = _config(tmp_path / "logchat.toml", sshd, extra=(
        f'\n[[sources]]\nname = "web"\nhost = "127.0.0.1"\nport = {sshd.port}\nidentity = "{sshd.client_key}"\n'
        f'paths = ["{remote_dir}/auth.log*"]\n'
        f'\n[[sources]]\nname = "down"\npath = "ssh://127.0.0.1:{closed}/var/log/syslog"\n'
        f'\n[[sources]]\nname = "local"\npath = "{local}"\n'
    ))
    done = _run(_command(config, tmp_path / "data", "reload", "--json"), tmp_path)
    assert done.returncode == 1  # the host that does not answer
    report = json.loads(done.stdout)
    by_location = {source["location"]: source for source in report["sources"]}
    assert by_location[sshd.location(remote_dir / "auth.log")]["new_events"] == 40
    assert by_location[sshd.location(remote_dir / "auth.log.1")]["new_events"] == 3
    assert by_location[str(local)]["new_events"] == 5
    down = by_location[f"ssh://127.0.0.1:{closed}/var/log/syslog"]
    assert (down["name"], down["status"]) == ("down", "error")
    assert "connection refused" in down["errors"][0]
    assert {source["name"] for source in report["sources"] if source["location"].startswith("ssh://127.0.0.1:"
                                                                                           f"{sshd.port}")} == {"web"}

    asked = _run(_command(config, tmp_path / "data", "ask", "--no-llm", "--json",
                          "failed password for root from 10.0.7.7"), tmp_path)
    assert asked.returncode == 0, asked.stderr
    evidence = json.loads(asked.stdout)["evidence"]
    cited = {f"{item['path']}:{item['line']}" for item in evidence}
    assert f"{sshd.location(remote_dir / 'auth.log')}:8" in cited  # line 8 holds 10.0.7.7


def test_help_does_not_import_fabric(tmp_path: Path) -> None:
    probe = ("import sys\nfrom typer.testing import CliRunner\nfrom logchat.cli.app import app\n"
             "CliRunner().invoke(app, ['index', '--help'])\n"
             "print(sorted(name for name in ('fabric', 'paramiko') if name in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env=_environment())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_progress_labels_keep_the_host_in_front() -> None:
    from logchat.cli.progress import source_label

    label = source_label("ssh://web-01.example.com:2222/var/log/nginx/very/long/path/access.log")
    assert label == "web-01.example.com:2222 …path/access.log" and len(label) <= 40
    assert source_label("ssh://web-02/var/log/syslog") == "ssh://web-02/var/log/syslog"
    assert source_label("/var/log/nginx/very/long/path/and/more/more/access.log") == (
        "…very/long/path/and/more/more/access.log")


def test_an_ssh_config_alias_gives_the_address_port_user_and_key(tmp_path: Path, sshd: SshServer) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(
        f"Host logbox\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User root\n  IdentityFile {sshd.client_key}\n")
    log = tmp_path / "app.log"
    log.write_text(_lines(12))
    config = _config(tmp_path / "logchat.toml", sshd)
    done = subprocess.run(_command(config, tmp_path / "data", "index", f"ssh://logbox{log}", "--json"),
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**_environment(), "HOME": str(home)})
    assert done.returncode == 0, done.stderr
    source = json.loads(done.stdout)["sources"][0]
    assert (source["location"], source["new_events"]) == (f"ssh://logbox{log}", 12)
