"""`logchat ask --explain` and the plan in `ask --json`, as a user at a shell and a script see them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_ask_cli import _closed_port, logchat

QUESTION = "how many failed password attempts came from 183.62.140.253?"


@pytest.fixture
def indexed_with_fields(settings: Any, loghub: Path) -> dict[str, Any]:
    from logchat.config import load_settings
    from logchat.services.ingest import index_inputs
    from logchat.storage.db import open_store

    with_fields = load_settings(data_dir=settings.data_dir, database={"url": settings.database_url},
                                ingest={"fields": True})  # fmt: skip
    store = open_store(with_fields.database_url)
    try:
        report = index_inputs(store, with_fields, [str(loghub / "OpenSSH" / "OpenSSH_2k.log")])
        assert not report.failed
    finally:
        store.close()
    return {"data_dir": settings.data_dir, "database_url": settings.database_url}


FIELDS_ON = {"LOGCHAT_INGEST__FIELDS": "true"}


def test_explain_prints_the_plan_then_the_answer_without_asking_a_model(
    indexed_with_fields: dict[str, Any], tmp_path: Path
) -> None:
    env = {**FIELDS_ON, "OLLAMA_HOST": f"http://127.0.0.1:{_closed_port()}"}
    done = logchat("ask", "--explain", QUESTION, **indexed_with_fields, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    plan, _, answer = done.stdout.partition("\n\n")
    assert plan.splitlines()[0] == "Plan"
    lines: dict[str, str] = {}
    key = ""
    for line in plan.splitlines()[1:]:
        if line[:1].isspace():  # a long value wraps onto indented lines
            lines[key] += " " + " ".join(line.split())
        elif line.strip():
            key, _, value = line.partition(" ")
            lines[key] = " ".join(value.split())
    assert lines["operation"] == "count the matching events"
    assert lines["fields"] == "from = 183.62.140.253 (from “from 183.62.140.253”)"
    # "password attempts" may also be logged as one word, the way programs name things (PasswordAttempt).
    assert lines["text"] == (
        "failed (or failure, failures, fail, fails) AND password (or passwordattempt) AND attempts (or passwordattempt)"
    )
    assert answer.startswith("There were 286 matching events.\n")
    assert "LLM" not in done.stderr  # no model was asked, so none was missed


def test_explain_with_json_prints_only_the_json_object_with_its_plan(
    indexed_with_fields: dict[str, Any], tmp_path: Path
) -> None:
    done = logchat("ask", "--explain", "--json", QUESTION, **indexed_with_fields, env=FIELDS_ON, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    result = json.loads(done.stdout)
    assert result["mode"] == "extractive" and result["matched"] == 286
    assert result["plan"]["operation"] == {"kind": "count", "field": None, "by": None, "limit": None,
                                           "percentile": None, "interval": None}  # fmt: skip
    assert result["plan"]["conditions"] == [
        {"name": "from", "operator": "=", "value": "183.62.140.253", "source_text": "from 183.62.140.253"}
    ]


def test_json_always_carries_the_plan_and_says_when_fields_are_off(
    indexed_with_fields: dict[str, Any], tmp_path: Path
) -> None:
    done = logchat("ask", "--no-llm", "--json", "how many failed passwords per hour?", **indexed_with_fields,
                   env={"LOGCHAT_INGEST__FIELDS": "false"}, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)["plan"]
    assert plan["operation"]["kind"] == "series" and plan["operation"]["interval"] == 3600
    assert plan["conditions"] == []
    assert "named fields are off ([ingest] fields = true turns them on); values are matched as text" in plan["notes"]
    assert [term["text"] for term in plan["terms"]] == ["failed", "passwords"]


def test_explain_is_in_the_help(tmp_path: Path) -> None:
    done = logchat("ask", "--help", data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'x.db'}")
    assert done.returncode == 0
    assert "--explain" in done.stdout
