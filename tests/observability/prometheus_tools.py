"""Where contrib/ is, and Prometheus's own tools (Debian `prometheus`, which .ci/run installs): in CI a
missing tool fails the test that needs it; elsewhere that test is skipped at collection (tests/peers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from peers import tool_path

ROOT = Path(__file__).resolve().parents[2]
CONTRIB = ROOT / "contrib"


def find_tool(name: str) -> str:
    # Without the tool the test was skipped at collection (tests/peers.py), except in CI, which installs
    # it (.ci/run): there its absence is a failure.
    found = tool_path(name)
    if found is None:
        pytest.fail(f"{name} (Debian package `prometheus`) is required but not installed")
    return found
