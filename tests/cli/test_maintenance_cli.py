"""`logchat maintenance prune|vacuum` as cron runs them: a dry run, a prune recorded in the audit trail
with the chain still intact, and vacuum giving the file's space back."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from test_serve_cli import PASSWORD, logchat


def test_prune_then_vacuum(tmp_path: Path) -> None:
    data, config = tmp_path / "data", tmp_path / "logchat.toml"
    config.write_text("[retention]\naudit_days = 30\n")
    for name in ("ann", "bob", "cyd"):
        assert logchat(data, "users", "add", name, "--password-stdin", stdin=PASSWORD).returncode == 0
    old = int((time.time() - 40 * 86400) * 1_000_000)
    with sqlite3.connect(data / "logchat.db") as db:  # the first two entries, written 40 days ago
        db.execute("UPDATE audit_log SET at = ? WHERE id <= 2", (old,))
    run = ["--config", str(config), "maintenance"]

    dry = logchat(data, *run, "prune", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    kinds = json.loads(dry.stdout)["kinds"]
    assert kinds["audit"]["deleted"] == 2 and kinds["chat"]["days"] == 0 and kinds["usage"]["days"] == 0
    text = logchat(data, *run, "prune")
    assert text.returncode == 0 and "audit entries: deleted 2 older than 30 days" in text.stdout
    assert "chat turns: kept forever" in text.stdout

    listed = json.loads(logchat(data, "audit", "list", "--json").stdout)["entries"]
    assert [e["action"] for e in listed] == ["maintenance.prune", "user.create"]
    assert listed[0]["detail"] == {"audit": 2}
    # The first two entries' hashes were computed before they were backdated, so the chain check starts
    # after them: what is left verifies.
    assert logchat(data, "audit", "verify").returncode == 0

    vacuumed = logchat(data, *run, "vacuum", "--json")
    assert vacuumed.returncode == 0, vacuumed.stderr
    sizes = json.loads(vacuumed.stdout)
    assert sizes["backend"] == "sqlite" and sizes["bytes_after"] <= sizes["bytes_before"]


def test_prune_of_log_events_then_vacuum(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    data, config = tmp_path / "data", tmp_path / "logchat.toml"
    config.write_text("[retention]\nevents_days = 3\n")
    now = datetime.now(UTC)
    lines = [f"{(now - timedelta(days=10, minutes=n)).isoformat()} web-01 app[{n}]: old payload {'x' * 200} {n}"
             for n in range(3000)]
    lines += [f"{(now - timedelta(hours=2, minutes=n)).isoformat()} web-01 app[{n}]: recent request {n}"
              for n in range(5)]
    log = tmp_path / "app.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert logchat(data, "index", str(log)).returncode == 0
    run = ["--config", str(config), "maintenance"]

    dry = logchat(data, *run, "prune", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["kinds"]["events"]["deleted"] == 3000
    text = logchat(data, *run, "prune")
    assert text.returncode == 0, text.stderr
    assert "log events: deleted 3000 in 1 batches" in text.stdout and "older than 3 days" in text.stdout
    stat = json.loads(logchat(data, "stat", "--json").stdout)
    assert stat["total"] == 5 and stat["by_source"][0]["count"] == 5
    listed = json.loads(logchat(data, "audit", "list", "--json").stdout)["entries"]
    assert listed[0]["action"] == "maintenance.prune" and listed[0]["detail"] == {"events": 3000}
    # The checkpoint stays: nothing is read again.
    again = logchat(data, "index", str(log), "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["new_events"] == 0

    sizes = json.loads(logchat(data, *run, "vacuum", "--json").stdout)
    assert sizes["bytes_after"] < sizes["bytes_before"]
