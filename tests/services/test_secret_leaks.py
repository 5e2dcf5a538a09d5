"""No secret of the corpus leaves logchat: not through ask, stat, sessions, the prompt, templates or stored answers.

tests/corpus/secrets_corpus.jsonl holds realistic lines of four formats (syslog, application log,
JSON lines, access log) with 30+ kinds of secrets, each line annotated with the exact secrets in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_ollama import FakeOllama
from sqlalchemy import select
from typer.testing import CliRunner

from logchat.cli.app import app
from logchat.services.ask import AskRequest, ask
from logchat.services.ingest import index_inputs
from logchat.services.sessions import list_sessions, record_turn, show_session
from logchat.services.stats import StatQuery, compute_stats
from logchat.storage.models import ChatTurn, Template

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "secrets_corpus.jsonl"
RECORDS = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
SECRETS = sorted({secret for record in RECORDS for secret in record["secrets"]})
SUFFIX = {"syslog": "log", "app": "log", "jsonl": "jsonl", "access": "log"}
QUESTIONS = [
    "which passwords were used most?",
    "which tokens were used?",
    "which api keys were used most?",
    "which cookies were set?",
    "what session ids were seen?",
    "show the authorization headers",
    "database connection failures",
    "which keys were loaded?",
    "stripe payment client",
    "what happened?",
]


def _forms(secret: str) -> set[str]:
    """How a secret can appear in output: as is, JSON-escaped, nginx-escaped; and its 8-character prefix."""
    forms = {secret, json.dumps(secret)[1:-1], secret.replace('"', "\\x22")}
    return forms | {form[:8] for form in forms if len(form) >= 8}


FORBIDDEN = sorted({form for secret in SECRETS for form in _forms(secret)})


def assert_no_secret(text: str, where: str) -> None:
    leaked = [form for form in FORBIDDEN if form in text]
    assert not leaked, f"{where} leaks {leaked[:3]}"


def test_the_corpus_is_big_and_varied() -> None:
    kinds = {record["kind"] for record in RECORDS if record["secrets"]}
    assert len(RECORDS) >= 200 and len(kinds) >= 20
    assert {record["format"] for record in RECORDS} == set(SUFFIX)


@pytest.fixture
def secret_store(store: Any, settings: Any, tmp_path: Path) -> Any:
    paths = []
    for fmt, suffix in SUFFIX.items():
        path = tmp_path / f"{fmt}-corpus.{suffix}"
        path.write_text("".join(r["line"] + "\n" for r in RECORDS if r["format"] == fmt), encoding="utf-8")
        paths.append(str(path))
    report = index_inputs(store, settings, paths)
    assert not report.failed, report.to_dict()
    return store


@pytest.fixture
def server() -> Iterator[FakeOllama]:
    with FakeOllama(reply="The lines show credentials in use [E1].") as running:
        yield running


def _with_llm(settings: Any, url: str) -> Any:
    values = {"provider": "ollama", "model": "llama3.2", "base_url": url, "timeout_seconds": 5.0,
              "connect_timeout_seconds": 2.0}  # fmt: skip
    return settings.model_copy(update={"llm": settings.llm.model_copy(update=values)})


def test_no_secret_in_answers_prompts_templates_stats_or_sessions(
    secret_store: Any, settings: Any, server: FakeOllama
) -> None:
    with_llm = _with_llm(settings, server.url)
    for question in QUESTIONS:
        offline = ask(secret_store, settings, AskRequest(question, use_llm=False, session="audit"))
        assert_no_secret(json.dumps(offline.to_json()), f"ask --no-llm {question!r}")
        online = ask(secret_store, with_llm, AskRequest(question, session="audit"))
        assert_no_secret(json.dumps(online.to_json()), f"ask {question!r}")
        record_turn(secret_store, offline)
        record_turn(secret_store, online)
    assert server.chat_requests, "the fake model was never asked"
    assert_no_secret(json.dumps(server.chat_requests), "the prompt")

    stats = compute_stats(secret_store, StatQuery(top=50))
    assert stats["top_templates"]
    assert_no_secret(json.dumps(stats, default=str), "stat")
    assert_no_secret(json.dumps(show_session(secret_store, "audit"), default=str), "sessions show")
    assert_no_secret(json.dumps(list_sessions(secret_store), default=str), "sessions list")
    with secret_store.session() as session:
        templates = list(session.scalars(select(Template.template)))
        turns = [(t.question, t.answer, json.dumps(t.filters)) for t in session.scalars(select(ChatTurn))]
    assert templates and turns
    assert_no_secret("\n".join(templates), "the templates table")
    assert_no_secret(json.dumps(turns), "the stored chat turns")


def test_the_top_passwords_are_not_listed(secret_store: Any, settings: Any) -> None:
    result = ask(secret_store, settings, AskRequest("which passwords were used most?", use_llm=False)).to_json()
    assert result["matched"] > 0
    assert_no_secret(json.dumps(result), "top passwords")


def test_the_cli_prints_no_secret(secret_store: Any, settings: Any, server: FakeOllama,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    base = ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url]
    monkeypatch.setenv("LOGCHAT_LLM__BASE_URL", server.url)
    before = len(server.chat_requests)
    outputs = []
    for question in QUESTIONS[:5]:
        for flags in (["--json", "--no-llm"], ["--no-llm"], ["--json"], []):
            result = runner.invoke(app, [*base, "ask", *flags, "--session", "cli", question])
            assert result.exit_code == 0, result.output
            outputs.append(result.output)
    assert len(server.chat_requests) > before, "the CLI never reached the fake model"
    for args in (["stat"], ["stat", "--json"], ["sessions", "show", "cli"], ["sessions", "show", "--json", "cli"]):
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert_no_secret("\n".join(outputs), "the CLI")
    assert_no_secret(json.dumps(server.chat_requests), "the prompt from the CLI")


def test_the_no_model_notice_hides_the_url_credentials(small_store: Any, settings: Any) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    offline = _with_llm(settings, f"http://bob:hunter2@127.0.0.1:{port}")
    result = ask(small_store, offline, AskRequest("failed password", session=None)).to_json()
    notices = " ".join(result["notices"])
    assert f"http://127.0.0.1:{port}" in notices
    assert "hunter2" not in notices and "bob" not in notices


def test_a_store_written_before_masking_is_masked_on_read(
    store: Any, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stores indexed by earlier versions hold clear templates and answers; they are masked as read."""
    from datetime import UTC, datetime

    import logchat.ingest.pipeline as pipeline
    from logchat.storage import chat_repo

    # What earlier versions did: no masking, of multi-line messages or of one-line ones (masked by their digit key).
    monkeypatch.setattr(pipeline, "mask_secrets", lambda text: text)
    monkeypatch.setattr(pipeline.KeyedSecretMask, "mask", lambda self, text, key: text)
    path = tmp_path / "old.log"
    path.write_text("".join(r["line"] + "\n" for r in RECORDS if r["format"] == "syslog"), encoding="utf-8")
    assert not index_inputs(store, settings, [str(path)]).failed
    monkeypatch.undo()
    with store.session() as session:
        clear = "\n".join(session.scalars(select(Template.template)))
        chat = chat_repo.get_or_create_session(session, "old")
        secret = next(r["secrets"][0] for r in RECORDS if r["kind"] == "password_kv")
        session.add(ChatTurn(
            session_id=chat.id, position=1, question="which passwords?", answer=f"Top: password={secret} (3)",
            mode="extractive", filters={"text_query": f"password={secret}"}, matched=3, evidence_event_ids=[],
            citations=[], created_at=datetime.now(UTC),
        ))  # fmt: skip
    assert any(form in clear for form in FORBIDDEN), "the old-style store should hold clear secrets"

    assert_no_secret(json.dumps(compute_stats(store, StatQuery(top=100)), default=str), "stat on an old store")
    assert_no_secret(json.dumps(show_session(store, "old"), default=str), "sessions show on an old store")
    answer = ask(store, settings, AskRequest("which passwords were used most?", use_llm=False, session="old"))
    assert_no_secret(json.dumps(answer.to_json()), "ask on an old store")
