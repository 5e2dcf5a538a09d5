"""`logchat db backup` then a restore: the restored store answers `stat` and `audit verify` as the
original did, and a reload after the restore resumes from the checkpoints in the backup."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from test_db_copy_cli import EXAMPLES, PASSWORD, logchat, ok

from logchat.storage.migrate import head_revision


def test_backup_and_restore(tmp_path: Path) -> None:
    data, logs = tmp_path / "data", tmp_path / "logs"
    shutil.copytree(EXAMPLES, logs)
    ok(logchat(data, "index", str(logs)))
    ok(logchat(data, "users", "add", "ops", "--role", "admin", "--password-stdin", stdin=PASSWORD))
    stat = json.loads(ok(logchat(data, "stat", "--json")))

    backup = tmp_path / "backups" / "logchat.db"
    backup.parent.mkdir()
    done = json.loads(ok(logchat(data, "db", "backup", str(backup), "--json")))
    assert done["bytes"] == backup.stat().st_size and done["revision"] == head_revision()
    again = logchat(data, "db", "backup", str(backup))
    assert again.returncode == 1 and "already exists" in again.stderr

    # Lost: the store is gone. Restored: the file put back, the -wal and -shm of the old one removed.
    for path in data.glob("logchat.db*"):
        path.unlink()
    shutil.copy2(backup, data / "logchat.db")
    assert json.loads(ok(logchat(data, "stat", "--json"))) == stat
    verified = json.loads(ok(logchat(data, "audit", "verify", "--json")))
    assert verified["ok"] and verified["checked"] == 1
    assert json.loads(ok(logchat(data, "index", "--json", str(logs))))["new_events"] == 0
