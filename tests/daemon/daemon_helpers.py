"""Names the daemon tests share (a module of its own: `conftest` is ambiguous across test folders)."""

from __future__ import annotations

PASSWORD = "correct horse battery staple"
ROLES = ("admin", "analyst", "viewer")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cli_json(settings: object, *args: str) -> dict[str, object]:
    """What the command line prints with --json for ``args`` on the test's store (`ask …`, `stat …`)."""
    import json
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "logchat", "--data-dir", str(settings.data_dir),  # type: ignore[attr-defined]
               "--database-url", settings.database_url, *args, "--json"]  # type: ignore[attr-defined]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LOGCHAT_")}
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=environment)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]
