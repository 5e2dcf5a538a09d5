"""`logchat` commands and a `logchat serve` process for the daemon's benchmarks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

LOGCHAT = [sys.executable, "-m", "logchat"]


def run_cli(data: Path, config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LOGCHAT, "--config", str(config), "--data-dir", str(data), *args], input=stdin,
                          capture_output=True, text=True, check=True)


def start_daemon(data: Path, config: Path) -> tuple[subprocess.Popen[str], str]:
    """`logchat serve` on a free port; the process and its base URL, read from its start-up line."""
    process = subprocess.Popen([*LOGCHAT, "--config", str(config), "--data-dir", str(data), "--quiet", "serve",
                                "--port", "0"], stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        found = re.search(r"serving on (http://\S+?)/ ", line)
        if found:
            return process, found.group(1)
    raise SystemExit("the daemon did not start")
