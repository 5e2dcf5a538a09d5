"""`logchat index --follow` as a real process: appended lines, rotation, truncation, new files,
SIGTERM/SIGINT/SIGKILL, inotify (watchfiles) and polling."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

# Generous: the machine is shared; a test fails only when a line never arrives.
PATIENCE_SECONDS = 60
MODES = {"inotify": [], "polling": ["--poll-interval", "0.1"]}


def line(n: int, word: str = "tick") -> str:
    return f"2026-11-03T10:{n // 60 % 60:02d}:{n % 60:02d}+00:00 web-01 app[{n}]: {word} number {n} done"


def append(path: Path, lines: list[str]) -> None:
    with path.open("a") as handle:
        handle.write("".join(item + "\n" for item in lines))


def base_command(data_dir: Path, database_url: str | None, config: Path | None = None) -> list[str]:
    command = [sys.executable, "-m", "logchat", "--data-dir", str(data_dir)]
    if config is not None:
        command += ["--config", str(config)]
    if database_url:
        command += ["--database-url", database_url]
    return command


def stored_lines(data_dir: Path, database_url: str | None) -> list[tuple[str, str]]:
    """(source location, raw line) of every stored event in the order stored."""
    url = database_url or f"sqlite:///{data_dir / 'logchat.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT s.location, e.raw FROM events e JOIN sources s ON s.id = e.source_id ORDER BY e.id"
            )).all()
    except Exception:  # not created or migrated yet
        return []
    finally:
        engine.dispose()
    return [(location, raw) for location, raw in rows]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def stat_total(data_dir: Path, database_url: str | None) -> int:
    result = subprocess.run([*base_command(data_dir, database_url), "stat", "--json"], capture_output=True,
                            text=True, timeout=120)
    return json.loads(result.stdout)["total"] if result.returncode == 0 else -1


class Following:
    def __init__(self, process: subprocess.Popen[str], data_dir: Path, database_url: str | None) -> None:
        self.process = process
        self.data_dir = data_dir
        self.database_url = database_url

    def lines(self) -> list[tuple[str, str]]:
        return stored_lines(self.data_dir, self.database_url)

    def raw(self) -> list[str]:
        return [raw for _, raw in self.lines()]

    def wait_for_count(self, count: int) -> None:
        def reached() -> bool:
            assert self.process.poll() is None, self.process.communicate()[1]
            return len(self.lines()) >= count

        wait_until(reached, f"{count} stored events")

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
        self.process.send_signal(sig)
        out, err = self.process.communicate(timeout=120)
        return self.process.returncode, out, err


@contextmanager
def following(paths: list[str], data_dir: Path, *, mode: str = "inotify", database_url: str | None = None,
              config: Path | None = None, extra: list[str] | None = None) -> Iterator[Following]:
    command = [*base_command(data_dir, database_url, config), "index", "--follow", "--json", *MODES[mode],
               *(extra or []), *paths]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield Following(process, data_dir, database_url)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.parametrize("mode", MODES)
def test_appended_lines_become_searchable(tmp_path: Path, mode: str) -> None:
    log = tmp_path / "app.log"
    append(log, [line(n) for n in range(3)])
    data = tmp_path / "data"
    with following([str(log)], data, mode=mode) as run:
        run.wait_for_count(3)
        append(log, [line(n, "zanzibar") for n in range(3, 8)])
        wait_until(lambda: stat_total(data, None) == 8, "stat to count the appended lines")
        # Half a line is left for the pass that sees it whole.
        with log.open("a") as handle:
            handle.write(line(8, "halfway")[:20])
            handle.flush()
            time.sleep(0.5)
            handle.write(line(8, "halfway")[20:] + "\n")
        run.wait_for_count(9)
        answer = subprocess.run([*base_command(data, None), "ask", "--no-llm", "--json", "zanzibar"],
                                capture_output=True, text=True, timeout=120)
        assert answer.returncode == 0, answer.stderr
        assert json.loads(answer.stdout)["matched"] == 5
        code, out, err = run.stop()
    assert code == 0, err
    assert "Traceback" not in err
    assert run.raw() == [line(n) for n in range(3)] + [line(n, "zanzibar") for n in range(3, 8)] + [
        line(8, "halfway")]
    report = json.loads(out)
    assert report["new_events"] == 9
    assert report["follow"]["watcher"] == mode
    assert report["ok"] is True
    # The vector index took in every event before the follow ended, so `ask` finds them by meaning too.
    assert report["follow"]["vector_updates"] >= 1 and "error" not in report["vectors"]
    from logchat.config import load_settings
    from logchat.services.vectors import load_vectors
    from logchat.storage.db import open_store

    settings = load_settings(data_dir=data)
    store = open_store(settings.database_url)
    try:
        loaded = load_vectors(settings, store)
        assert loaded is not None and loaded.events_upto == 9
    finally:
        store.close()


@pytest.mark.parametrize("mode", MODES)
def test_rotation_reads_the_old_file_to_its_end_then_the_new_one(tmp_path: Path, mode: str,
                                                                 database_url: str) -> None:
    log = tmp_path / "app.log"
    append(log, [line(n) for n in range(3)])
    data = tmp_path / "data"
    with following([str(log)], data, mode=mode, database_url=database_url) as run:
        run.wait_for_count(3)
        # Lines written just before the rename may not have been read yet: the open handle finds them.
        append(log, [line(n) for n in range(3, 6)])
        log.rename(tmp_path / "app.log.1")
        append(log, [line(n, "fresh") for n in range(6, 9)])
        run.wait_for_count(9)
        append(log, [line(9, "fresh")])
        run.wait_for_count(10)
        code, _, err = run.stop()
    assert code == 0, err
    expected = [line(n) for n in range(6)] + [line(n, "fresh") for n in range(6, 10)]
    assert run.raw() == expected  # each line once, in order
    assert {location for location, _ in run.lines()} == {str(log)}


@pytest.mark.parametrize("mode", MODES)
def test_truncation_starts_again_from_the_beginning(tmp_path: Path, mode: str) -> None:
    log = tmp_path / "app.log"
    append(log, [line(n) for n in range(5)])
    data = tmp_path / "data"
    with following([str(log)], data, mode=mode) as run:
        run.wait_for_count(5)
        log.write_text(line(100, "after") + "\n")  # shorter than what was read
        run.wait_for_count(6)
        append(log, [line(101, "after")])
        run.wait_for_count(7)
        code, _, err = run.stop()
    assert code == 0, err
    assert run.raw() == [line(n) for n in range(5)] + [line(100, "after"), line(101, "after")]


@pytest.mark.parametrize("mode", MODES)
def test_a_new_file_matching_the_glob_or_in_the_directory_is_followed(tmp_path: Path, mode: str) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (tmp_path / "dir").mkdir()
    append(logs / "a.log", [line(0)])
    data = tmp_path / "data"
    with following([str(logs / "*.log"), str(tmp_path / "dir")], data, mode=mode) as run:
        run.wait_for_count(1)
        append(logs / "b.log", [line(1, "bee"), line(2, "bee")])
        append(logs / "ignored.txt", [line(3, "not matched")])
        (tmp_path / "dir" / "sub").mkdir()
        append(tmp_path / "dir" / "sub" / "c.log", [line(4, "sea")])
        run.wait_for_count(4)
        append(logs / "a.log", [line(5)])
        run.wait_for_count(5)
        code, out, err = run.stop()
    assert code == 0, err
    by_file: dict[str, list[str]] = {}
    for location, raw in run.lines():
        by_file.setdefault(Path(location).name, []).append(raw)
    assert by_file == {"a.log": [line(0), line(5)], "b.log": [line(1, "bee"), line(2, "bee")],
                       "c.log": [line(4, "sea")]}
    assert json.loads(out)["follow"]["files"] == 3


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_follow_cleanly_with_everything_appended_committed(tmp_path: Path, sig: int) -> None:
    log = tmp_path / "app.log"
    append(log, [line(0)])
    data = tmp_path / "data"
    with following([str(log)], data) as run:
        run.wait_for_count(1)
        append(log, [line(n, "last") for n in range(1, 200)])
        code, out, err = run.stop(sig)  # at once: the lines may not have been seen yet
    assert code == 0, err
    assert "Traceback" not in err and "Aborted" not in err
    assert run.raw() == [line(0)] + [line(n, "last") for n in range(1, 200)]
    assert json.loads(out)["new_events"] == 200


def test_sigkill_while_following_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, [line(0)])
    config = tmp_path / "small-batches.toml"
    config.write_text("[ingest]\nbatch_size = 200\n")
    killed = tmp_path / "killed"
    total = 60_000
    with following([str(log)], killed, config=config) as run:
        run.wait_for_count(1)
        append(log, [line(n, "burst") for n in range(1, total)])
        wait_until(lambda: len(run.lines()) > 1_000, "some of the burst to be committed")
        os.kill(run.process.pid, signal.SIGKILL)
        run.process.wait()
    committed = len(run.lines())
    assert 1 < committed < total  # killed in the middle of the burst
    resumed = subprocess.run([*base_command(killed, None, config), "index", "--json", str(log)],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    whole = tmp_path / "whole"
    uninterrupted = subprocess.run([*base_command(whole, None, config), "index", "--json", str(log)],
                                   capture_output=True, text=True, timeout=300)
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    assert run.lines() == stored_lines(whole, None)  # the same events, each once, in the same order
    assert len(run.raw()) == total
    assert json.loads(resumed.stdout)["new_events"] == total - committed


def test_a_concurrent_index_is_not_locked_out(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    other = tmp_path / "other.log"
    append(log, [line(0)])
    append(other, [line(n, "other") for n in range(1, 4)])
    data = tmp_path / "data"
    with following([str(log)], data) as run:
        run.wait_for_count(1)
        result = subprocess.run([*base_command(data, None), "index", "--json", str(other)], capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["new_events"] == 3
        append(log, [line(4)])  # ids and templates continue after the other writer's
        run.wait_for_count(5)
        code, _, err = run.stop()
    assert code == 0, err
    assert sorted(run.raw()) == sorted([line(0), line(4)] + [line(n, "other") for n in range(1, 4)])


def test_follow_refuses_stdin_and_poll_interval_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    stdin = subprocess.run([*base_command(data, None), "index", "--follow", "-"], capture_output=True,
                           text=True, timeout=120)
    assert stdin.returncode == 2
    assert "--follow reads files" in stdin.stderr
    alone = subprocess.run([*base_command(data, None), "index", "--poll-interval", "1", str(tmp_path)],
                           capture_output=True, text=True, timeout=120)
    assert alone.returncode == 2
    assert "--poll-interval applies only with --follow" in alone.stderr


def stored_templates(data_dir: Path) -> list[tuple[str, str]]:
    engine = create_engine(f"sqlite:///{data_dir / 'logchat.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT e.raw, t.template FROM events e JOIN templates t ON t.id = e.template_id ORDER BY e.id"
            )).all()
    finally:
        engine.dispose()
    return [(raw, template) for raw, template in rows]


def test_sigterm_during_the_catch_up_of_a_big_file_then_index_stores_what_one_run_does(tmp_path: Path) -> None:
    # Over 1 MiB: the catch-up runs in a reader process, whose templates the follow must take over
    # when it stops part-way and reads the lines appended meanwhile.
    words = [f"w{k}" for k in range(40)]
    log = tmp_path / "big.log"
    append(log, [line(n, f"{words[n % 40]} {'x' * (n % 7)}") for n in range(40_000)])
    assert log.stat().st_size > 1 << 20
    config = tmp_path / "small-batches.toml"
    config.write_text("[ingest]\nbatch_size = 500\n")
    stopped = tmp_path / "stopped"
    with following([str(log)], stopped, config=config) as run:
        wait_until(lambda: len(run.lines()) >= 1_000, "part of the catch-up")
        append(log, [line(n, "appended meanwhile") for n in range(40_000, 40_010)])
        code, _, err = run.stop(signal.SIGTERM)
    assert code == 0, err
    resumed = subprocess.run([*base_command(stopped, None, config), "index", "--json", str(log)],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    whole = tmp_path / "whole"
    uninterrupted = subprocess.run([*base_command(whole, None, config), "index", "--json", str(log)],
                                   capture_output=True, text=True, timeout=300)
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    assert len(stored_templates(stopped)) == 40_010
    assert stored_templates(stopped) == stored_templates(whole)  # the same events with the same templates
