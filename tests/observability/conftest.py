"""Prometheus's own tools for the observability tests (see prometheus_tools.py)."""

from __future__ import annotations

import pytest
from prometheus_tools import find_tool


@pytest.fixture(scope="session")
def promtool() -> str:
    return find_tool("promtool")


@pytest.fixture(scope="session")
def prometheus_server() -> str:
    return find_tool("prometheus")
