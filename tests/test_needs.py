"""The rules that decide which tests need a server: they must neither skip too much nor run too little."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from needs import backends_in_params, is_ci, missing_resources


def _item(params: dict[str, object], fixtures: tuple[str, ...] = ()) -> Any:
    return SimpleNamespace(callspec=SimpleNamespace(params=params), fixturenames=fixtures)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), ("TRUE", True), ("yes", True), ("false", False), ("0", False), ("", False),
     (None, False), ("no", False)],
)
def test_ci_flag_is_read_as_a_boolean(value: str | None, expected: bool) -> None:
    assert is_ci(value) is expected


def test_a_parameter_that_mentions_a_backend_does_not_need_it() -> None:
    item = _item({"line": "dsn=postgresql://app:secret@10.0.0.1/db", "other": "redis://cache:6379"})
    assert backends_in_params(item) == set()


def test_backend_parameters_need_their_servers() -> None:
    assert backends_in_params(_item({"database_url": "postgresql"})) == {"postgresql"}
    assert backends_in_params(_item({"deployment": "postgresql+redis"})) == {"postgresql", "redis"}
    assert backends_in_params(_item({"database_url": "sqlite"})) == set()


def test_missing_servers_are_named_only_when_needed() -> None:
    bare = {"has_postgres": False, "has_redis": False, "has_datasets": False, "datasets_hint": "/data"}
    assert missing_resources(_item({}, ("postgres_url",)), **bare) == ["PostgreSQL (set LOGCHAT_TEST_DATABASE_URL)"]
    assert missing_resources(_item({"deployment": "postgresql+redis"}), **bare) == [
        "PostgreSQL (set LOGCHAT_TEST_DATABASE_URL)", "Redis (set LOGCHAT_TEST_REDIS_URL)"]
    assert missing_resources(_item({"line": "postgresql://u:p@h/db"}, ("datasets",)), **bare) == [
        "the log datasets at /data"]
    assert missing_resources(_item({"line": "postgresql://u:p@h/db"}), **bare) == []


def test_no_test_module_imports_a_conftest_by_name() -> None:
    # Test folders are not packages, so "conftest" names whichever folder's conftest was imported
    # last: importing a name from "conftest" works alone and breaks in the whole suite. Shared names live in
    # modules of their own (needs.py, interrupt.py, daemon_helpers.py).
    from pathlib import Path

    tests = Path(__file__).resolve().parent
    statement = "from " + "conftest import"  # spelled apart so that this file does not match itself
    offenders = [str(path.relative_to(tests)) for path in tests.rglob("*.py")
                 if path.name != "conftest.py" and statement in path.read_text(encoding="utf-8")]
    assert offenders == []


def test_a_missing_peer_is_named_only_for_the_tests_that_use_its_fixture() -> None:
    present = {"has_postgres": True, "has_redis": True, "has_datasets": True, "datasets_hint": "/data"}
    peers = {"browser": "Chromium at /usr/bin/chromium", "promtool": "promtool"}
    assert missing_resources(_item({}, ("browser", "tmp_path")), **present, missing_peers=peers) == [
        "Chromium at /usr/bin/chromium"]
    assert missing_resources(_item({}, ("promtool",)), **present, missing_peers=peers) == ["promtool"]
    assert missing_resources(_item({}, ("tmp_path",)), **present, missing_peers=peers) == []
    assert missing_resources(_item({}, ("browser",)), **present) == []
