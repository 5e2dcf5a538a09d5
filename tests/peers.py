"""The real peers some tests drive: Chromium (with Playwright), Prometheus's tools and OpenSSH's sshd. Where each is, or
why it is not here, keyed by the fixture that hands it to a test: conftest.py turns a missing peer
into a skip at collection on a developer's machine and into a failure in CI (tests/needs.py)."""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
PROMETHEUS_TOOLS = {"promtool": "promtool", "prometheus_server": "prometheus"}  # fixture -> program
SSHD = "/usr/sbin/sshd"


def tool_path(program: str) -> str | None:
    return shutil.which(program) or (f"/usr/bin/{program}" if Path(f"/usr/bin/{program}").exists() else None)


def why_no_browser() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package (pip install -e '.[dev]')"
    return None


@cache
def missing_peers() -> dict[str, str]:
    """Fixture name -> what is missing, for the peers that are not on this machine."""
    missing = {}
    browser = why_no_browser()
    if browser:
        missing["browser"] = browser
    for fixture, program in PROMETHEUS_TOOLS.items():
        if tool_path(program) is None:
            missing[fixture] = f"{program} (Debian package `prometheus`: apt-get install -y prometheus)"
    if not Path(SSHD).exists() or tool_path("ssh-keygen") is None:
        missing["sshd"] = f"OpenSSH's server at {SSHD} and ssh-keygen (Debian: apt-get install -y openssh-server)"
    return missing
