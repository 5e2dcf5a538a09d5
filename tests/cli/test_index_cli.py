"""`logchat index`, `reload`, `stat` and `db` as a user and cron see them: output, JSON, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

SYSLOG = [
    "Nov  3 10:00:01 web-03 sshd[100]: Failed password for root from 183.62.140.253 port 4000 ssh2",
    "Nov  3 10:00:02 web-03 sshd[101]: error: maximum authentication attempts exceeded for root",
    "Nov  3 10:00:03 db-01 sshd[102]: Accepted password for deploy from 10.0.0.5 port 4002 ssh2",
]


def logchat(*args: str, data_dir: Path, stdin: bytes | None = None, cwd: Path | None = None,
            database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "logchat", "--data-dir", str(data_dir)]
    if database_url:
        command += ["--database-url", database_url]
    return subprocess.run(
        [*command, *args], input=stdin.decode() if stdin else None, capture_output=True, text=True,
        cwd=cwd, timeout=120,
    )


def write_log(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_index_json_summary_and_exit_codes(tmp_path: Path, database_url: str) -> None:
    log = write_log(tmp_path / "auth.log", SYSLOG)
    data = tmp_path / "data"
    result = logchat("index", str(log), str(tmp_path / "missing.log"), "--json", data_dir=data,
                     database_url=database_url)
    assert result.returncode == 1  # one source failed ...
    summary = json.loads(result.stdout)
    assert summary["new_events"] == 3  # ... and the good one was still indexed
    by_location = {s["location"]: s for s in summary["sources"]}
    assert by_location[str(log)]["new_events"] == 3
    assert by_location[str(tmp_path / "missing.log")]["errors"] == [
        f"{tmp_path / 'missing.log'}: no such file or directory"
    ]
    again = logchat("index", str(log), "--json", data_dir=data, database_url=database_url)
    assert again.returncode == 0
    assert json.loads(again.stdout)["new_events"] == 0


def test_stdin_with_name(tmp_path: Path) -> None:
    result = logchat("index", "-", "--name", "journal", data_dir=tmp_path / "d", stdin="\n".join(SYSLOG).encode())
    assert result.returncode == 0, result.stderr
    assert "stdin:journal: 3 new events" in result.stdout


def test_stat_json_with_filters(tmp_path: Path) -> None:
    data = tmp_path / "data"
    logchat("index", str(write_log(tmp_path / "auth.log", SYSLOG)), data_dir=data)
    result = logchat("stat", "--json", data_dir=data)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["total"] == 3
    assert stats["by_host"] == [{"host": "web-03", "count": 2}, {"host": "db-01", "count": 1}]
    assert stats["by_process"] == [{"process": "sshd", "count": 3}]
    assert sum(bucket["count"] for bucket in stats["histogram"]["buckets"]) == 3
    assert stats["top_templates"][0]["level"] == "ERROR"  # errors first
    errors = json.loads(logchat("stat", "--json", "--level", "error", data_dir=data).stdout)
    assert errors["total"] == 1
    hosts = json.loads(logchat("stat", "--json", "--host", "db-01", "--source", "auth", data_dir=data).stdout)
    assert hosts["total"] == 1
    none = json.loads(logchat("stat", "--json", "--source", "nginx", data_dir=data).stdout)
    assert none["total"] == 0
    human = logchat("stat", data_dir=data)
    assert "3 events" in human.stdout and "By level" in human.stdout


def test_stat_rejects_bad_level_and_time(tmp_path: Path) -> None:
    bad_level = logchat("stat", "--level", "loud", data_dir=tmp_path / "d")
    assert bad_level.returncode == 2
    assert "unknown level 'loud'" in bad_level.stderr
    bad_time = logchat("stat", "--since", "the day after never", data_dir=tmp_path / "d")
    assert bad_time.returncode == 2
    assert "--since:" in bad_time.stderr and "'the day after never'" in bad_time.stderr


def test_reload_uses_configured_sources_and_time_window(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    write_log(tmp_path / "logs" / "a.log", [
        "2026-11-01T09:00:00Z INFO start", "2026-11-02T05:00:00Z ERROR disk full", "2026-11-03T00:00:00Z INFO later",
    ])
    (tmp_path / "logchat.toml").write_text(
        '[[sources]]\npath = "logs/*.log"\nname = "app"\n[[sources]]\npath = "gone/*.log"\nenabled = false\n'
    )
    data = tmp_path / "data"
    result = logchat("reload", "--since", "2026-11-01", "--until", "2026-11-02 06:00", "--json", data_dir=data,
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["new_events"] == 2
    assert summary["sources"][0]["skipped"] == 1
    assert summary["sources"][0]["name"] == "app"


def test_reload_without_sources_is_a_usage_error(tmp_path: Path) -> None:
    result = logchat("reload", data_dir=tmp_path / "d", cwd=tmp_path)
    assert result.returncode == 2
    assert "no [[sources]] configured" in result.stderr


def test_bad_config_exits_2_naming_key_and_file(tmp_path: Path) -> None:
    (tmp_path / "logchat.toml").write_text("[ingest]\nbatch_size = -4\n")
    result = logchat("stat", data_dir=tmp_path / "d", cwd=tmp_path)
    assert result.returncode == 2
    assert "'ingest.batch_size'" in result.stderr and str(tmp_path / "logchat.toml") in result.stderr
    assert result.stderr.count("\n") <= 2  # one clear line (plus an optional hint), no traceback


def test_second_writer_is_refused_while_the_lock_is_held(tmp_path: Path, settings, store) -> None:  # type: ignore[no-untyped-def]
    from logchat.storage.locks import ingest_lock

    log = write_log(tmp_path / "auth.log", SYSLOG)
    with ingest_lock(store, settings.data_dir):
        result = logchat("index", str(log), data_dir=settings.data_dir, database_url=settings.database_url)
    assert result.returncode == 1
    assert "another logchat index/reload is writing to this store" in result.stderr
    after = logchat("index", str(log), data_dir=settings.data_dir, database_url=settings.database_url)
    assert after.returncode == 0 and "3 new events" in after.stdout


def test_db_current_and_upgrade(tmp_path: Path) -> None:
    data = tmp_path / "d"
    upgrade = logchat("db", "upgrade", data_dir=data)
    assert upgrade.returncode == 0 and "upgraded to" in upgrade.stdout
    current = logchat("db", "current", data_dir=data)
    head = current.stdout.split("head:")[1].strip()
    assert f"current:  {head}" in current.stdout
    assert "already at" in logchat("db", "upgrade", data_dir=data).stdout


def test_help_and_stat_do_not_import_heavy_libraries(tmp_path: Path) -> None:
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['logchat'] + sys.argv[1:]\n"
        "try:\n    runpy.run_module('logchat', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "names = ('langchain_core', 'langchain_ollama', 'faiss', 'aiohttp', 'fabric')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
    )
    for args in (["--help"], ["--data-dir", str(tmp_path / "d"), "stat"], ["index", "--help"]):
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60)
        assert "HEAVY=\n" in result.stderr, (args, result.stderr)


def _generate_big_log(path: Path, lines: int) -> None:
    with path.open("w") as handle:
        for i in range(lines):
            handle.write(
                f"2026-11-03T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z "
                f"{'ERROR' if i % 97 == 0 else 'INFO'} worker-{i % 7} processed job {i} in {i % 1000} ms\n"
            )


def test_killed_index_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    total_lines = 400_000
    _generate_big_log(log, total_lines)
    killed_dir = tmp_path / "killed"
    config = tmp_path / "small-batches.toml"
    config.write_text("[ingest]\nbatch_size = 5000\n")
    command = [sys.executable, "-m", "logchat", "--quiet", "--config", str(config), "--data-dir", str(killed_dir),
               "index", str(log)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    database = killed_dir / "logchat.db"
    engine = None
    committed = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
        if database.exists():
            engine = engine or create_engine(f"sqlite:///{database}")
            try:
                with engine.connect() as conn:
                    committed = conn.execute(text("SELECT count(*) FROM events")).scalar() or 0
            except Exception:
                continue
            if committed >= 20_000:
                break
    assert process.poll() is None, "the index finished before it could be interrupted"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    if engine is not None:
        engine.dispose()
    assert 0 < committed < total_lines
    resumed = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM events")).scalar()
        distinct = conn.execute(text("SELECT count(DISTINCT line_no) FROM events")).scalar()
        fts = conn.execute(text("SELECT count(*) FROM events_fts WHERE events_fts MATCH 'processed'")).scalar()
        templates = conn.execute(text("SELECT sum(count) FROM templates")).scalar()
    engine.dispose()
    assert count == total_lines  # what an uninterrupted run stores: one event per line
    assert distinct == total_lines  # nothing twice
    assert fts == total_lines  # the full-text index was committed with the rows
    assert templates == total_lines  # template counts too
    # The resumed run added only what the killed one had not committed.
    assert json.loads(resumed.stdout)["new_events"] <= total_lines - committed
