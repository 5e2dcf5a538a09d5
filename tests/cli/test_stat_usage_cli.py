"""`logchat stat --usage` as an operator runs it: questions asked with `logchat ask` (one `--file` of
them too) show up as the local user's, as tables and as JSON; flags that filter events are refused."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

from test_serve_cli import logchat

EXAMPLES = Path(__file__).resolve().parents[2] / "logchat" / "examples"


def test_questions_asked_on_the_command_line_are_reported(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert logchat(data, "index", str(EXAMPLES / "auth.log")).returncode == 0
    questions = tmp_path / "questions.txt"
    questions.write_text("failed password for root\nquokka xylophone 9999\n", encoding="utf-8")
    assert logchat(data, "ask", "--file", str(questions), "--no-llm", "--json").returncode == 0
    assert logchat(data, "ask", "quokka xylophone 98765", "--no-llm", "--json").returncode == 0

    report = json.loads(logchat(data, "stat", "--usage", "--json").stdout)
    me = f"os:{getpass.getuser()}"
    assert report["totals"]["questions"] == 3 and report["totals"]["by_front_end"] == {"cli": 3}
    assert [(u["user"], u["questions"], u["unanswered"]) for u in report["per_user"]] == [(me, 3, 2)]
    assert report["unanswered"][0]["shape"] == "quokka xylophone <NUM>"
    assert report["unanswered"][0]["questions"] == 2

    shown = logchat(data, "stat", "--usage")
    assert shown.returncode == 0
    assert "3 questions from 1 users" in shown.stdout and "quokka xylophone <NUM>" in shown.stdout
    assert "Latency (ms)" in shown.stdout and me in shown.stdout

    nobody = json.loads(logchat(data, "stat", "--usage", "--user", "nobody", "--json").stdout)
    assert nobody["totals"]["questions"] == 0 and nobody["per_user"] == []


def test_flags_that_filter_events_are_refused_with_usage(tmp_path: Path) -> None:
    data = tmp_path / "data"
    refused = logchat(data, "stat", "--usage", "--level", "error")
    assert refused.returncode == 2 and "filter events, not questions" in refused.stderr
    alone = logchat(data, "stat", "--user", "alice")
    assert alone.returncode == 2 and "--user goes with --usage" in alone.stderr
    window = logchat(data, "stat", "--usage", "--since", "the day after never")
    assert window.returncode == 2 and "--since" in window.stderr
