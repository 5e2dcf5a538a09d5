"""Where the checkers of the deployment files are, and how to run one (tests/deploy/)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRIB = ROOT / "contrib"


def tool(name: str) -> str:
    """A checker installed beside this Python (the dev extra), else on PATH; a clear failure if neither."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise AssertionError(f"{name} is not installed: pip install -e '.[dev]' (or apt-get install for Debian tools)")
    return found


def checkov() -> str:
    """checkov pins packaging<24 and cachetools>=5, which the project's own dependencies refuse, so it
    lives in a virtual environment of its own: `make test` builds it and passes its path as CHECKOV."""
    candidates = (os.environ.get("CHECKOV"), str(ROOT / ".venv-tools" / "bin" / "checkov"), shutil.which("checkov"))
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    raise AssertionError("checkov is not installed: `make tools` installs it into .venv-tools (or set CHECKOV)")


def run(*args: str, cwd: Path = ROOT, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
