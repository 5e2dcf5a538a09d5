"""Which servers and data a collected test needs: by the fixtures it uses and by the backend names
among its parameters. Pure functions, so the rules themselves are tested (tests/test_needs.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Parameter values that name a backend; only these, compared whole, mean "needs that server", so a
# parameter that merely mentions one (a DSN in a masking test) does not.
BACKEND_PARAMS = {"postgresql": {"postgresql"}, "redis": {"redis"}, "postgresql+redis": {"postgresql", "redis"}}


def is_ci(value: str | None) -> bool:
    """CI services set CI=true (or 1); CI=false, 0 or an empty value is a developer machine."""
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def backends_in_params(item: Any) -> set[str]:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return set()
    needed: set[str] = set()
    for value in callspec.params.values():
        if isinstance(value, str):
            needed |= BACKEND_PARAMS.get(value, set())
    return needed


def missing_resources(item: Any, *, has_postgres: bool, has_redis: bool, has_datasets: bool,
                      datasets_hint: str, missing_peers: Mapping[str, str] | None = None) -> list[str]:
    """What ``item`` needs and this machine lacks. ``missing_peers``: fixture name -> the real peer
    (a browser, a Prometheus tool) that fixture would hand over and that is not installed."""
    names = set(getattr(item, "fixturenames", ()))
    backends = backends_in_params(item)
    missing = []
    if not has_postgres and ("postgres_url" in names or "postgresql" in backends):
        missing.append("PostgreSQL (set LOGCHAT_TEST_DATABASE_URL)")
    if not has_redis and ("redis_url" in names or "redis" in backends):
        missing.append("Redis (set LOGCHAT_TEST_REDIS_URL)")
    if not has_datasets and "datasets" in names:
        missing.append(f"the log datasets at {datasets_hint}")
    missing.extend(why for fixture, why in (missing_peers or {}).items() if fixture in names)
    return missing
