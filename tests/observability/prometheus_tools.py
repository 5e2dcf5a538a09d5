"""Where contrib/ is, and Prometheus's own tools (Debian `prometheus`, which .ci/run installs): in CI a
missing tool fails the test that needs it; elsewhere that test is skipped."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from needs import is_ci

ROOT = Path(__file__).resolve().parents[2]
CONTRIB = ROOT / "contrib"


def find_tool(name: str) -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if found is None:
        message = f"{name} (Debian package `prometheus`: apt-get install -y prometheus)"
        if is_ci(os.environ.get("CI")):
            pytest.fail(f"{message} is required in CI but not available")
        pytest.skip(f"needs {message}")
    return found
