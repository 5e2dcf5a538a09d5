"""`logchat stat --anomalies` as a person at a shell sees it: the table, and one line for bad flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from anomaly_log import week_then_window, write_log


def logchat(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LOGCHAT_")}
    environment["XDG_CONFIG_HOME"] = str(data_dir.parent / "xdg-config")
    environment["COLUMNS"] = "160"
    return subprocess.run([sys.executable, "-m", "logchat", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=120, env=environment)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stat-anomalies")
    log = write_log(root / "service.log", week_then_window())
    data = root / "data"
    done = logchat("index", str(log), data_dir=data)
    assert done.returncode == 0, done.stderr
    return data


def test_the_table_shows_the_spike_first(data_dir: Path) -> None:
    done = logchat("stat", "--anomalies", "--since", "2026-03-08T00:00Z", "--until", "2026-03-08T01:00Z",
                   data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Window   2026-03-08 00:00:00 → 2026-03-08 01:00:00 UTC (1h): 40 events")
    assert lines[1].startswith("Baseline 2026-03-01 00:00:00 → 2026-03-08 00:00:00 UTC (7d)")
    assert "1 spike, 1 drop, 1 new pattern " in done.stdout
    rows = [line for line in lines if line.lstrip().startswith(("+", "-"))]
    assert "connection refused by db-<NUM>" in rows[0] and "spike" in rows[0]
    assert "Levels that jumped" in done.stdout


def test_json_is_the_documented_contract(data_dir: Path) -> None:
    done = logchat("stat", "--anomalies", "--json", "--baseline", "2d", "--top", "1", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == {"filters", "window", "baseline", "min_score", "counts", "templates", "levels", "notice"}
    assert report["baseline"]["seconds"] == 2 * 86400 and len(report["templates"]) == 1


def test_a_window_with_nothing_before_it_says_so(data_dir: Path) -> None:
    done = logchat("stat", "--anomalies", "--since", "2026-02-01", "--until", "2026-02-02", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    assert "no events in the 7 days before the window: there is no baseline to compare with" in done.stdout


@pytest.mark.parametrize(("args", "named"), [
    (["--anomalies", "--baseline", "a while"], "--baseline"),
    (["--baseline", "7d"], "--baseline applies only with --anomalies"),
    (["--min-score", "2"], "--min-score applies only with --anomalies"),
    (["--anomalies", "--since", "2026-03-09", "--until", "2026-03-08"], "starts after it ends"),
])
def test_bad_flags_are_one_line_and_exit_2(data_dir: Path, args: list[str], named: str) -> None:
    done = logchat("stat", *args, data_dir=data_dir)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip() and not line.lstrip().startswith("hint")]
    assert len(lines) == 1 and named in lines[0], done.stderr
