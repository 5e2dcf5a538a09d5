"""`logchat audit` as an operator runs it: account commands recorded as the local user, list with
filters, export to JSON lines and CSV (itself recorded), verify with exit code 1 on a tampered trail."""

from __future__ import annotations

import csv
import getpass
import io
import json
import sqlite3
from pathlib import Path

from test_serve_cli import PASSWORD, logchat


def test_audit_list_export_and_verify(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert logchat(data, "users", "add", "ops", "--role", "admin", "--password-stdin", stdin=PASSWORD).returncode == 0
    assert logchat(data, "users", "add", "jdoe", "--password-stdin", stdin=PASSWORD).returncode == 0
    assert logchat(data, "users", "disable", "ops").returncode == 1  # the last admin stays
    assert logchat(data, "users", "remove", "jdoe").returncode == 0

    listed = json.loads(logchat(data, "audit", "list", "--json").stdout)
    actions = [(e["action"], e["target"], e["outcome"]) for e in listed["entries"]]
    assert actions == [("user.delete", "jdoe", "ok"), ("user.update", "ops", "failed"),
                       ("user.create", "jdoe", "ok"), ("user.create", "ops", "ok")]
    assert {e["actor"] for e in listed["entries"]} == {f"os:{getpass.getuser()}"}
    failed = json.loads(logchat(data, "audit", "list", "--json", "--outcome", "failed").stdout)["entries"]
    assert [e["target"] for e in failed] == ["ops"]
    assert logchat(data, "audit", "list", "--outcome", "maybe").returncode == 2
    shown = logchat(data, "audit", "list").stdout  # the table a person reads
    assert "user.delete" in shown and "jdoe" in shown and "failed" in shown
    assert "no audit entries match" in logchat(data, "audit", "list", "--actor", "nobody").stdout

    lines = logchat(data, "audit", "export").stdout.splitlines()
    assert [json.loads(line)["action"] for line in lines] == ["user.create", "user.create", "user.update",
                                                               "user.delete"]
    out = tmp_path / "audit.csv"
    exported = logchat(data, "audit", "export", "--format", "csv", "--action", "user.", "-o", str(out))
    assert exported.returncode == 0 and "4 entries written" in exported.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [row["action"] for row in rows] == ["user.create", "user.create", "user.update", "user.delete"]
    assert rows[1]["prev_hash"] == rows[0]["hash"]
    # Both exports are in the trail themselves.
    exports = json.loads(logchat(data, "audit", "list", "--json", "--action", "audit.export").stdout)["entries"]
    assert [e["detail"]["format"] for e in exports] == ["csv", "jsonl"]

    intact = logchat(data, "audit", "verify")
    assert intact.returncode == 0 and "intact: 6 entries" in intact.stdout
    with sqlite3.connect(data / "logchat.db") as db:
        db.execute("UPDATE audit_log SET outcome = 'ok' WHERE action = 'user.update'")
    broken = logchat(data, "audit", "verify", "--json")
    assert broken.returncode == 1
    assert json.loads(broken.stdout)["broken_at"] == 3


def test_a_question_asked_on_the_command_line_is_in_the_trail(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert logchat(data, "index", str(Path(__file__).parents[2] / "logchat" / "examples")).returncode == 0
    assert logchat(data, "ask", "--no-llm", "why did sshd reject token=abc123secret logins?").returncode == 0
    entries = json.loads(logchat(data, "audit", "list", "--json", "--action", "ask").stdout)["entries"]
    assert [(e["actor"], e["detail"]) for e in entries] == [
        (f"os:{getpass.getuser()}", {"question": "why did sshd reject token=*** logins?"})]
