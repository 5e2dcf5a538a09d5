"""`logchat db copy` as an operator runs it: a store built by real commands (reload of configured
sources, accounts, a chat session, refused sign-ins, a logout) is copied SQLite -> PostgreSQL and
SQLite -> SQLite (and back PostgreSQL -> SQLite); the target then answers `stat`, `ask --no-llm`,
`users list` and `audit verify` as the source did, and a reload after lines were appended adds only
those lines on both."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from logchat.config import load_settings
from logchat.storage.copy import count_rows
from logchat.storage.db import open_store
from logchat.storage.migrate import UNMODELLED
from logchat.storage.models import Base

EXAMPLES = Path(__file__).parents[2] / "logchat" / "examples"
PASSWORD = "correct horse battery staple"
QUESTIONS = ["why did sshd reject logins", "errors in the payments service", "how many 500 responses"]
# Tables the scenario below leaves empty: every other table must hold rows, so the comparison means something.
LEFT_EMPTY = {"source_generations"}


def logchat(data_dir: Path, *args: str, database_url: str | None = None,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOGCHAT_")}
    # Named fields on, so that their column and table are copied too.
    env["LOGCHAT_INGEST__FIELDS"] = "true"
    if database_url:
        env["LOGCHAT_DATABASE__URL"] = database_url
    return subprocess.run([sys.executable, "-m", "logchat", "--data-dir", str(data_dir), *args], input=stdin,
                          capture_output=True, text=True, timeout=180, env=env)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def build_source_store(tmp_path: Path) -> tuple[Path, Path]:
    """A data dir whose SQLite store has rows in (nearly) every table, made the way users make them."""
    data, logs = tmp_path / "data", tmp_path / "logs"
    shutil.copytree(EXAMPLES, logs)
    ok(logchat(data, "sources", "add", "examples", str(logs)))
    ok(logchat(data, "reload"))
    ok(logchat(data, "users", "add", "ops", "--role", "admin", "--password-stdin", stdin=PASSWORD))
    ok(logchat(data, "users", "add", "gone", "--password-stdin", stdin=PASSWORD))
    ok(logchat(data, "users", "remove", "gone"))  # its id must not be given out again by the copy
    ok(logchat(data, "ask", "--no-llm", "--session", "triage", QUESTIONS[0]))
    ok(logchat(data, "ask", "--no-llm", "--session", "triage", "and on web-03?"))

    from logchat.errors import InvalidCredentials
    from logchat.services.auth import AuthService

    settings = load_settings(data_dir=data)
    store = open_store(settings.database_url)
    auth = AuthService(settings, store)
    try:
        with pytest.raises(InvalidCredentials):
            auth.login("ops", "not the password", client_address="10.0.0.9")  # login_failures, login_throttle
        pair = auth.login("ops", PASSWORD, client_address="10.0.0.9")
        auth.revoke(pair.access_token, pair.refresh_token)  # token_revocations
    finally:
        auth.close()
        store.close()
    return data, logs


def answers(data: Path, database_url: str | None) -> dict[str, Any]:
    """What an operator looks at, minus timings."""
    seen: dict[str, Any] = {"stat": json.loads(ok(logchat(data, "stat", "--json", database_url=database_url)))}
    for question in QUESTIONS:
        answer = json.loads(ok(logchat(data, "ask", "--no-llm", "--json", question, database_url=database_url)))
        answer.pop("timings_ms")
        seen[question] = answer
    users = json.loads(ok(logchat(data, "users", "list", "--json", database_url=database_url)))
    seen["users"] = [(u["username"], u["role"], u["enabled"]) for u in users]
    return seen


def audit_verify(data: Path, database_url: str | None) -> dict[str, Any]:
    result = logchat(data, "audit", "verify", "--json", database_url=database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def table_contents(url: str) -> dict[str, list[Any]]:
    store = open_store(url, migrate=False)
    try:
        with store.engine.connect() as conn:
            return {t.name: [row for row in conn.execute(select(t).order_by(*t.primary_key.columns))]
                    for t in Base.metadata.sorted_tables}
    finally:
        store.close()


@contextmanager
def another_postgres_schema() -> Iterator[str]:
    """A second fresh schema beside the one of the postgres_url fixture (same server, same URL form)."""
    from sqlalchemy import create_engine, text

    base = os.environ["LOGCHAT_TEST_DATABASE_URL"]
    schema = f"lc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def target_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "elsewhere" / "copy.db")
    return request.getfixturevalue("postgres_url")


def test_a_copied_store_answers_as_the_original_and_keeps_ingesting(tmp_path: Path, target_url: str) -> None:
    data, logs = build_source_store(tmp_path)
    source_url = sqlite_url(data / "logchat.db")
    before = answers(data, None)
    source_audit = audit_verify(data, None)

    copied = json.loads(ok(logchat(data, "db", "copy", "--to", target_url, "--json")))
    assert copied["tables"] == count_rows(open_store(source_url, migrate=False))
    assert set(copied["tables"]) == set(Base.metadata.tables)
    assert copied["total_rows"] == sum(copied["tables"].values())

    # Every table of the metadata holds the same rows, value for value (ids, hashes, timestamps).
    source_rows, target_rows = table_contents(source_url), table_contents(target_url)
    audit_rows = target_rows.pop("audit_log")
    assert audit_rows[:-1] == source_rows.pop("audit_log")
    assert target_rows == source_rows
    assert {name for name, rows in source_rows.items() if not rows} == LEFT_EMPTY
    # The copy itself is in the target's trail, chained on to the copied entries.
    last = audit_rows[-1]
    assert (last.action, last.target) == ("db.copy", str(data / "logchat.db"))

    # The target, with the same data dir (vector index, JWT secret), answers as the source did. Full-text
    # ranking is the backend's own (bm25 on SQLite, ts_rank on PostgreSQL), so on PostgreSQL the answers
    # are those of the same logs indexed there directly, and only the counts are the source's.
    if target_url.startswith("sqlite"):
        assert answers(data, target_url) == before
    else:
        with another_postgres_schema() as direct_url:
            direct_data = tmp_path / "direct"
            ok(logchat(direct_data, "sources", "add", "examples", str(logs), database_url=direct_url))
            ok(logchat(direct_data, "reload", database_url=direct_url))
            ok(logchat(direct_data, "users", "add", "ops", "--role", "admin", "--password-stdin", stdin=PASSWORD,
                       database_url=direct_url))
            expected = answers(direct_data, direct_url)
        assert answers(data, target_url) == expected
        assert expected["stat"] == before["stat"]
        assert {q: expected[q]["matched"] for q in QUESTIONS} == {q: before[q]["matched"] for q in QUESTIONS}
    target_audit = audit_verify(data, target_url)
    assert target_audit["ok"] and target_audit["checked"] == source_audit["checked"] + 1 + len(QUESTIONS)
    assert target_audit["first_id"] == source_audit["first_id"]

    # Checkpoints came along: a reload reads only what was appended since.
    with (logs / "auth.log").open("a", encoding="utf-8") as log:
        log.write("Nov  3 15:00:01 web-03 sshd[30001]: Failed password for root from 203.0.113.7 port 4242 ssh2\n"
                  "Nov  3 15:00:02 web-03 sshd[30002]: Accepted publickey for deploy from 203.0.113.8 port 4243 ssh2\n")
    for url in (None, target_url):
        reload = json.loads(ok(logchat(data, "reload", "--json", database_url=url)))
        assert reload["new_events"] == 2, reload
    after_source = json.loads(ok(logchat(data, "stat", "--json")))
    after_target = json.loads(ok(logchat(data, "stat", "--json", database_url=target_url)))
    assert after_target == after_source and after_source["total"] == before["stat"]["total"] + 2

    # A new account does not get the removed account's id.
    ok(logchat(data, "users", "add", "newcomer", "--password-stdin", stdin=PASSWORD, database_url=target_url))
    ids = {row.username: row.id for row in table_contents(target_url)["users"]}
    assert ids["newcomer"] == ids["ops"] + 2

    if not target_url.startswith("sqlite"):
        # And back: PostgreSQL -> SQLite with the same command.
        back = tmp_path / "back.db"
        ok(logchat(data, "--quiet", "db", "copy", "--from", target_url, "--to", sqlite_url(back)))
        assert json.loads(ok(logchat(data, "stat", "--json", database_url=sqlite_url(back)))) == after_target
        assert audit_verify(data, sqlite_url(back))["ok"]


def test_every_table_in_the_schema_is_one_the_copy_knows(tmp_path: Path, target_url: str) -> None:
    """A migration that adds a table without a model would leave it out of every copy."""
    store = open_store(target_url)
    try:
        from sqlalchemy import inspect

        tables = set(inspect(store.engine).get_table_names())
    finally:
        store.close()
    internal = {name for name in tables if name.startswith(("sqlite_", "events_fts"))}
    assert tables - internal - UNMODELLED == set(Base.metadata.tables)
