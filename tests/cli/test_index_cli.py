"""`logchat index`, `reload`, `stat` and `db` as a user and cron see them: output, JSON, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from interrupt import kill_once_committed
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
    assert "no sources configured" in result.stderr and "logchat sources add" in result.stderr


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
    database = killed_dir / "logchat.db"
    committed = kill_once_committed(command, database, 20_000)
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


# -- a damaged or full store -------------------------------------------------------------------------

# Runs the real CLI in a fresh process with the store's connections limited by SQLite's own
# max_page_count, so "database or disk is full" happens for real, or with the open-time quick_check
# switched off, so damage is met by the queries themselves.
_HARNESS = """
import sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
import logchat.storage.db as db

max_pages, no_quick_check = int(sys.argv[1]), sys.argv[2] == "1"
if max_pages:
    @event.listens_for(Engine, "connect")
    def _limit(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA max_page_count = {max_pages}")
if no_quick_check:
    db.QUICK_CHECK_MAX_BYTES = db.WRITE_QUICK_CHECK_MAX_BYTES = 0
from logchat.cli.app import main
sys.argv = ["logchat", *sys.argv[3:]]
main()
"""


def harnessed(*args: str, data_dir: Path, max_pages: int = 0, no_quick_check: bool = False,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", _HARNESS, str(max_pages), "1" if no_quick_check else "0", "--data-dir",
               str(data_dir), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})


def _auth_lines(count: int, offset: int = 0) -> list[str]:
    return [f"Nov  3 10:{(i // 60) % 60:02d}:{i % 60:02d} web-{i % 4:02d} sshd[{100 + i}]: Failed password for "
            f"user{i % 97} from 10.0.{i % 250}.{i % 200} port {4000 + i} ssh2" for i in range(offset, offset + count)]


def _count_events(database: Path) -> dict[str, int]:
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT s.location, count(e.id) FROM sources s LEFT JOIN events e ON e.source_id = s.id "
                "GROUP BY s.location"
            )).all()
    finally:
        engine.dispose()
    return {location: count for location, count in rows}


def test_full_disk_during_index_keeps_what_was_committed_and_still_prints_the_summary(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = write_log(tmp_path / "first.log", _auth_lines(3))
    assert logchat("index", str(first), data_dir=data).returncode == 0
    database = data / "logchat.db"
    pages = int(subprocess.check_output([sys.executable, "-c",
        f"import sqlite3; print(sqlite3.connect({str(database)!r}).execute('PRAGMA page_count').fetchone()[0])"]))
    second = write_log(tmp_path / "second.log", _auth_lines(3, offset=100))
    big = write_log(tmp_path / "big.log", _auth_lines(5000, offset=1000))
    result = harnessed("index", str(second), str(big), "--json", data_dir=data, max_pages=pages + 40,
                       env={"LOGCHAT_INGEST__BATCH_SIZE": "100"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    message = f"{database}: the disk is full (database or disk is full); everything committed before is kept"
    assert result.stderr == f"logchat: error: {message}\n"
    summary = json.loads(result.stdout)
    assert summary["ok"] is False and summary["error"] == message
    by_location = {s["location"]: s for s in summary["sources"]}
    assert by_location[str(second)]["new_events"] == 3
    assert by_location[str(big)]["status"] == "error" and by_location[str(big)]["errors"] == [message]
    stored = _count_events(database)
    # What the summary says was stored is what is stored: earlier batches stayed committed.
    assert stored[str(big)] == by_location[str(big)]["new_events"]
    assert 0 < stored[str(big)] < 5000
    assert stored[str(first)] == 3 and stored[str(second)] == 3
    # With room again the run resumes from the last commit: nothing lost, nothing doubled.
    again = logchat("index", str(big), data_dir=data)
    assert again.returncode == 0, again.stderr
    assert _count_events(database)[str(big)] == 5000


def test_full_disk_during_reload_json_records_the_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    big = write_log(tmp_path / "big.log", _auth_lines(3000))
    (tmp_path / "logchat.toml").write_text(f'[[sources]]\npath = "{big}"\n')
    assert logchat("index", str(write_log(tmp_path / "seed.log", _auth_lines(2))), data_dir=data).returncode == 0
    pages = int(subprocess.check_output([sys.executable, "-c",
        f"import sqlite3; print(sqlite3.connect({str(data / 'logchat.db')!r}).execute('PRAGMA page_count')"
        ".fetchone()[0])"]))
    result = harnessed("--config", str(tmp_path / "logchat.toml"), "reload", "--json", data_dir=data,
                       max_pages=pages + 20, env={"LOGCHAT_INGEST__BATCH_SIZE": "100"})
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert "disk is full" in summary["error"]
    assert "Traceback" not in result.stderr


def _damaged_store(tmp_path: Path, damage: str) -> Path:
    tmp_path.mkdir(exist_ok=True)
    data = tmp_path / "data"
    assert logchat("index", str(write_log(tmp_path / "auth.log", _auth_lines(3000))), data_dir=data).returncode == 0
    database = data / "logchat.db"
    if damage == "garbage":
        database.write_bytes(bytes(range(256)) * 64)
    elif damage == "bad header":
        with database.open("r+b") as handle:
            handle.write(b"NOT A DATABASE!!")
    else:  # every fourth page past the schema overwritten, as a bad disk or a stray write would
        pages = database.stat().st_size // 4096
        with database.open("r+b") as handle:
            for page in range(pages // 10, pages, 4):
                handle.seek(page * 4096)
                handle.write(b"\xa5" * 4096)
    return database


COMMANDS = [("stat",), ("index", "auth.log"), ("users", "list"), ("sessions", "list"),
            ("ask", "failed password for user3")]


def test_garbage_or_bad_header_store_is_one_line_naming_the_file(tmp_path: Path) -> None:
    for damage in ("garbage", "bad header"):
        database = _damaged_store(tmp_path / damage.replace(" ", "-"), damage)
        for command in COMMANDS:
            result = subprocess.run([sys.executable, "-m", "logchat", "--data-dir", str(database.parent), *command],
                                    capture_output=True, text=True, timeout=120, cwd=database.parent.parent)
            assert result.returncode == 1, (damage, command, result.stderr)
            assert result.stderr == (
                f"logchat: error: {database} is not a logchat database or is corrupt (file is not a database)\n"
                "  hint: restore it from a backup, or move it away and index the logs again\n"
            ), (damage, command)


def test_damage_in_the_middle_is_caught_on_open_and_on_the_error_path(tmp_path: Path) -> None:
    database = _damaged_store(tmp_path, "middle")
    for command in COMMANDS:  # a small store is checked when it is opened
        result = subprocess.run([sys.executable, "-m", "logchat", "--data-dir", str(database.parent), *command],
                                capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert result.returncode == 1, (command, result.stderr)
        assert result.stderr.startswith(f"logchat: error: {database} is not a logchat database or is corrupt"), (
            command, result.stderr)
    # Without the open-time check (a store too big for it), the queries that meet the damage say the same.
    for command in (("stat",), ("ask", "failed password for user3")):
        result = harnessed(*command, data_dir=database.parent, no_quick_check=True)
        assert result.returncode == 1, (command, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith(f"logchat: error: {database} is not a logchat database or is corrupt"), (
            command, result.stderr)


def test_fresh_data_dir_database_and_vectors_are_private(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    result = logchat("index", str(write_log(tmp_path / "auth.log", _auth_lines(50))), data_dir=data)
    assert result.returncode == 0, result.stderr
    modes = {str(path.relative_to(data)): path.stat().st_mode & 0o777 for path in data.rglob("*")}
    assert modes["logchat.db"] == 0o600
    assert modes["vectors"] == 0o700
    assert any(name.endswith(".faiss") for name in modes)
    assert {name: mode for name, mode in modes.items() if name != "vectors" and mode != 0o600} == {}
    assert data.stat().st_mode & 0o777 == 0o700


def test_a_store_locked_by_another_process_for_too_long_is_one_clear_line(tmp_path: Path) -> None:
    import sqlite3

    log = write_log(tmp_path / "auth.log", SYSLOG[:1])
    data = tmp_path / "data"
    assert logchat("index", str(log), data_dir=data).returncode == 0
    write_log(log, SYSLOG)
    holder = sqlite3.connect(data / "logchat.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer that never lets go
        result = logchat("index", str(log), data_dir=data)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 1
    assert "the database is busy" in result.stderr and "Traceback" not in result.stderr, result.stderr
    again = logchat("index", str(log), "--json", data_dir=data)
    assert json.loads(again.stdout)["new_events"] == 2  # nothing was lost, nothing doubled
