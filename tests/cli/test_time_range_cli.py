"""Time ranges given to `stat`, `reload` and `ask` that no calendar holds or that end before they start:
exit 2 and one line naming the input, never a hang or a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SYSLOG = "Nov  3 10:00:01 web-03 sshd[100]: error: maximum authentication attempts exceeded for root\n"


def logchat(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LOGCHAT_")}
    environment["XDG_CONFIG_HOME"] = str(data_dir.parent / "xdg-config")  # never the developer's config
    # The hang this guards against was an endless loop: a generous timeout turns it into a failure.
    return subprocess.run(
        [sys.executable, "-m", "logchat", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=60, env=environment,
    )


def assert_one_line_usage_error(done: subprocess.CompletedProcess[str], *names: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip() and not line.lstrip().startswith("hint")]
    assert len(lines) == 1, done.stderr
    for name in names:
        assert name in lines[0], lines[0]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One store for the module: every command here is refused before it reads or writes anything.
    root = tmp_path_factory.mktemp("time-range-cli")
    log = root / "auth.log"
    log.write_text(SYSLOG)
    data = root / "data"
    done = logchat("index", str(log), data_dir=data)
    assert done.returncode == 0, done.stderr
    return data


@pytest.mark.parametrize("value", ["2026 years ago", "99999999999 hours ago", "99999999 days ago"])
def test_stat_since_beyond_the_calendar_is_a_usage_error(data_dir: Path, value: str) -> None:
    assert_one_line_usage_error(logchat("stat", "--since", value, data_dir=data_dir), "--since", value)


def test_stat_inverted_window_is_a_usage_error(data_dir: Path) -> None:
    done = logchat("stat", "--since", "2026-11-03", "--until", "2026-11-01", data_dir=data_dir)
    assert_one_line_usage_error(done, "2026-11-03", "2026-11-01", "starts after it ends")


def test_reload_inverted_window_is_a_usage_error_and_keeps_the_store(data_dir: Path) -> None:
    done = logchat("reload", "--since", "2026-11-03", "--until", "2026-11-01", data_dir=data_dir)
    assert_one_line_usage_error(done, "2026-11-03", "2026-11-01")
    kept = logchat("stat", "--json", data_dir=data_dir)
    assert '"total": 1' in kept.stdout


def test_ask_inverted_flags_are_a_usage_error(data_dir: Path) -> None:
    done = logchat("ask", "--no-llm", "errors", "--since", "2026-11-03", "--until", "2026-11-01", data_dir=data_dir)
    assert_one_line_usage_error(done, "--since 2026-11-03 --until 2026-11-01")


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("errors in the last 2026 years", "in the last 2026 years"),
        ("errors between 10am and 9am", "between 10am and 9am"),
        ("errors since 2026-11-03T10:00 until 2026-11-01", "since 2026-11-03T10:00 until 2026-11-01"),
    ],
)
def test_ask_question_with_an_unusable_range_is_a_usage_error(data_dir: Path, question: str, phrase: str) -> None:
    done = logchat("ask", "--no-llm", question, data_dir=data_dir)
    assert_one_line_usage_error(done, phrase)
