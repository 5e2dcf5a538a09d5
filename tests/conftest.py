"""Shared fixtures: an isolated data dir and settings, stores on SQLite and (when configured) PostgreSQL,
Redis when configured, and the location of the real log datasets."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
DATASETS = REPO_ROOT.parent / "shared" / "datasets"
sys.path.insert(0, str(TESTS_DIR))  # the fake Ollama server and other test helpers

from needs import is_ci, missing_resources  # noqa: E402  (a helper module beside this file)
from peers import missing_peers  # noqa: E402

IN_CI = is_ci(os.environ.get("CI"))
PG_URL = os.environ.get("LOGCHAT_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("LOGCHAT_TEST_REDIS_URL")


def require(condition: bool, what: str) -> None:
    """A test reached a resource that is not there: in CI that is a failure, never a skip.

    Outside CI, tests that need a missing resource are skipped at collection (see
    pytest_collection_modifyitems), so this only fires when a resource is configured but broken.
    """
    if not condition:
        pytest.fail(f"{what} is required{' in CI' if IN_CI else ''} but not available")


def _missing_resources(item: pytest.Item) -> list[str]:
    return missing_resources(item, has_postgres=bool(PG_URL), has_redis=bool(REDIS_URL),
                             has_datasets=DATASETS.is_dir(), datasets_hint=str(DATASETS),
                             missing_peers=missing_peers())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Skipping is decided here, visibly, and only on a developer machine: CI must run everything.
    if IN_CI:
        return
    for item in items:
        missing = _missing_resources(item)
        if missing:
            item.add_marker(pytest.mark.skipif(True, reason="needs " + ", ".join(missing)))


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No test reads the developer's config, data dir or Ollama.
    for key in list(os.environ):
        if key.startswith("LOGCHAT_") and not key.startswith("LOGCHAT_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def datasets() -> Path:
    require(DATASETS.is_dir(), f"the log datasets at {DATASETS}")
    return DATASETS


@pytest.fixture
def loghub(datasets: Path) -> Path:
    return datasets / "loghub"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def _postgres_schema_url(base_url: str, schema: str) -> str:
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    require(bool(PG_URL), "PostgreSQL (LOGCHAT_TEST_DATABASE_URL)")
    assert PG_URL is not None
    from sqlalchemy import create_engine, text

    schema = f"lc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(PG_URL, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, data_dir: Path) -> str:
    """Every storage test runs on SQLite, and on PostgreSQL when it is configured."""
    if request.param == "sqlite":
        return f"sqlite:///{data_dir / 'logchat.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def settings(data_dir: Path, database_url: str):  # type: ignore[no-untyped-def]
    from logchat.config import load_settings

    return load_settings(data_dir=data_dir, database={"url": database_url})


@pytest.fixture
def store(settings) -> Iterator[object]:  # type: ignore[no-untyped-def]
    from logchat.storage.db import open_store

    opened = open_store(settings.database_url)
    try:
        yield opened
    finally:
        opened.close()


# A few lines that exercise full-text search: identifiers that are prefixes of others, query syntax
# inside log text, stemming.
FULLTEXT_LINES = [
    "2026-01-05T10:00:00+00:00 web-01 sshd[10]: Failed password for root from 10.0.0.1 port 22 ssh2",
    "2026-01-05T10:00:01+00:00 web-01 sshd[11]: Failed password for root from 10.0.0.12 port 22 ssh2",
    "2026-01-05T10:00:02+00:00 web-02 sshd[12]: Failed password for admin from 110.0.0.1 port 22 ssh2",
    "2026-01-05T10:00:03+00:00 web-02 sshd[13]: Connection rejected from 10.0.0.1.",
    "2026-01-05T10:00:04+00:00 web-02 app[14]: block blk_-42 replicated, blk_42 kept",
    '2026-01-05T10:00:05+00:00 web-03 app[15]: user said "hello (world)" AND NEAR: *',
    "2026-01-05T10:00:06+00:00 web-03 app[16]: authentication failure for alice",
]


@pytest.fixture
def small_store(store, settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The test store holding FULLTEXT_LINES."""
    from logchat.services.ingest import index_inputs

    path = tmp_path / "auth.log"
    path.write_text("\n".join(FULLTEXT_LINES) + "\n", encoding="utf-8")
    report = index_inputs(store, settings, [str(path)])
    assert not report.failed, report.to_dict()
    return store


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis; keys this test writes are removed afterwards."""
    require(bool(REDIS_URL), "Redis (LOGCHAT_TEST_REDIS_URL)")
    assert REDIS_URL is not None
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        require(False, f"Redis at {REDIS_URL} ({exc})")
    yield REDIS_URL
    client.close()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"logchat-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    if REDIS_URL:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        try:
            keys = list(client.scan_iter(f"{prefix}*"))
            if keys:
                client.delete(*keys)
        except redis.RedisError:
            pass
        client.close()
from fake_ollama import fake_ollama  # noqa: E402, F401  (a fixture for every test folder)
from sshd_server import private_sshd, sshd  # noqa: E402, F401  (a real OpenSSH server, tests/peers.py)
