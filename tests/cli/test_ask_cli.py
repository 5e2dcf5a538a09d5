"""`logchat ask` and `logchat sessions` as a user and CI see them: output, JSON Lines, exit codes, streaming."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fake_ollama import FakeOllama

QUESTION = "how many failed password attempts for root from 183.62.140.253?"


def logchat(*args: str, data_dir: Path, database_url: str, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "logchat", "--data-dir", str(data_dir), "--database-url", database_url]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LOGCHAT_")}
    environment.update(env or {})
    return subprocess.run([*command, *args], capture_output=True, text=True, cwd=cwd, timeout=120, env=environment)


@pytest.fixture
def indexed(settings: Any, store: Any, loghub: Path) -> dict[str, Any]:
    from logchat.services.ingest import index_inputs

    index_inputs(store, settings, [str(loghub / "OpenSSH" / "OpenSSH_2k.log")])
    return {"data_dir": settings.data_dir, "database_url": settings.database_url}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_no_llm_json_answer(indexed: dict[str, Any], tmp_path: Path) -> None:
    done = logchat("ask", "--no-llm", "--json", QUESTION, **indexed, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["mode"] == "extractive" and result["matched"] == 276
    keys = {"question", "answer", "time_range", "filters", "patterns", "evidence", "citations", "timings_ms"}
    assert set(result) >= keys
    assert done.stdout.count("\n") == 1


def test_file_of_questions_gives_json_lines(indexed: dict[str, Any], tmp_path: Path) -> None:
    questions = tmp_path / "nightly-questions.txt"
    questions.write_text(f"# nightly checks\n{QUESTION}\n\nwhich IP had the most failed password attempts?\n")
    done = logchat("ask", "--file", str(questions), "--json", "--no-llm", **indexed, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["question"] for line in lines] == [QUESTION, "which IP had the most failed password attempts?"]
    # Named fields are read at ingest by default: the top address is computed over every matching event.
    assert lines[1]["top_values"]["ip"][0] == ["183.62.140.253", 286]
    assert lines[1]["result"]["exact"] is True
    assert lines[1]["answer"].startswith("The most frequent from was 183.62.140.253 (286 events)")


def test_llm_answer_is_streamed_with_sources(indexed: dict[str, Any], tmp_path: Path) -> None:
    with FakeOllama(reply="Failures come from 183.62.140.253 [E1].") as server:
        done = logchat("ask", QUESTION, **indexed, cwd=tmp_path, env={"LOGCHAT_LLM__BASE_URL": server.url})
    assert done.returncode == 0, done.stderr
    # The computed result leads, then the model's words.
    assert done.stdout.startswith("There were 276 matching events.\nFailures come from 183.62.140.253 [E1].")
    assert "Sources:" in done.stdout and "OpenSSH_2k.log:" in done.stdout
    assert "(llm; 276 matching events" in done.stdout


def test_notices_after_a_streamed_answer_start_a_line_of_their_own(indexed: dict[str, Any], tmp_path: Path) -> None:
    # stdout and stderr into one pipe, as on a terminal where both land on the same screen.
    command = [sys.executable, "-m", "logchat", "--data-dir", str(indexed["data_dir"]), "--database-url",
               indexed["database_url"], "ask", QUESTION]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LOGCHAT_")}
    with FakeOllama(reply="There were 251 such events [E99].") as server:
        environment["LOGCHAT_LLM__BASE_URL"] = server.url
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
                              timeout=120, env=environment)
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()
    # The count computed by code leads, on its own line; then the model's words.
    assert lines[:2] == ["There were 276 matching events.", "There were 251 such events [E99]."]
    assert "logchat: note: the answer cites unknown evidence ids: E99" in lines
    assert "Unverified numbers (no tool result or evidence line gives them): 251" in lines


def test_unreachable_llm_is_a_notice_and_exit_code_zero(indexed: dict[str, Any], tmp_path: Path) -> None:
    env = {"LOGCHAT_LLM__BASE_URL": f"http://127.0.0.1:{_closed_port()}"}
    done = logchat("ask", QUESTION, **indexed, cwd=tmp_path, env=env)
    assert done.returncode == 0
    assert "logchat: note: no LLM reachable" in done.stderr
    assert done.stdout.startswith("There were 276 matching events.\n") and "OpenSSH_2k.log:" in done.stdout


def test_a_model_dying_mid_answer_falls_back(indexed: dict[str, Any], tmp_path: Path) -> None:
    with FakeOllama(reply="The logs show a long story about failures [E1] and more.") as server:
        server.die_after_chunks = 2
        done = logchat("ask", QUESTION, **indexed, cwd=tmp_path, env={"LOGCHAT_LLM__BASE_URL": server.url})
    assert done.returncode == 0
    assert "--- extractive answer ---" in done.stdout and "There were 276 matching events." in done.stdout
    assert "logchat: note:" in done.stderr


def test_sessions_list_show_delete(indexed: dict[str, Any], tmp_path: Path) -> None:
    asked = logchat("ask", "--no-llm", "--session", "incident-42", QUESTION, **indexed, cwd=tmp_path)
    assert asked.returncode == 0, asked.stderr
    follow = logchat("ask", "--no-llm", "--json", "--session", "incident-42", "and which IPs were involved?",
                     **indexed, cwd=tmp_path)
    assert json.loads(follow.stdout)["filters"]["from_session"] is True
    listed = logchat("sessions", "list", "--json", **indexed, cwd=tmp_path)
    assert [(s["name"], s["turns"]) for s in json.loads(listed.stdout)] == [("incident-42", 2)]
    shown = logchat("sessions", "show", "incident-42", **indexed, cwd=tmp_path)
    assert "and which IPs were involved?" in shown.stdout
    assert logchat("sessions", "delete", "incident-42", **indexed, cwd=tmp_path).returncode == 0
    missing = logchat("sessions", "show", "incident-42", **indexed, cwd=tmp_path)
    assert missing.returncode == 1 and "no session named 'incident-42'" in missing.stderr


def test_usage_errors_exit_2(indexed: dict[str, Any], tmp_path: Path) -> None:
    assert logchat("ask", **indexed, cwd=tmp_path).returncode == 2
    bad_level = logchat("ask", "--no-llm", "--level", "loud", "errors", **indexed, cwd=tmp_path)
    assert bad_level.returncode == 2 and "loud" in bad_level.stderr
    bad_now = logchat("ask", "--no-llm", "--now", "the day after never", "errors", **indexed, cwd=tmp_path)
    assert bad_now.returncode == 2 and "--now" in bad_now.stderr
    missing = logchat("ask", "--file", str(tmp_path / "nope.txt"), **indexed, cwd=tmp_path)
    assert missing.returncode == 2 and "nope.txt" in missing.stderr


def test_no_llm_path_imports_no_langchain(indexed: dict[str, Any], tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from logchat.cli.app import app\n"
        f"app(['--data-dir', {str(indexed['data_dir'])!r}, '--database-url', {indexed['database_url']!r},"
        f" 'ask', '--no-llm', '--json', {QUESTION!r}], standalone_mode=False)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('langchain_core', 'langchain_ollama', 'ollama')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def _ask_in_new_process(data: Path, database_url: str, question: str, cwd: Path) -> tuple[dict[str, Any], set[str]]:
    """The JSON answer of `ask --no-llm` run in a process of its own, and the top-level modules it imported."""
    code = (
        "import sys\n"
        "from logchat.cli.app import app\n"
        f"app(['--data-dir', {str(data)!r}, '--database-url', {database_url!r},"
        f" 'ask', '--no-llm', '--json', {question!r}], standalone_mode=False)\n"
        "print(sorted(m for m in sys.modules if '.' not in m or m.startswith('sqlalchemy.dialects.')))\n"
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LOGCHAT_")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=120, env=environment
    )
    assert done.returncode == 0, done.stderr
    answer, modules = done.stdout.strip().splitlines()[-2:]
    return json.loads(answer), set(json.loads(modules.replace("'", '"')))


def test_no_llm_on_sqlite_loads_only_what_the_answer_needs(loghub: Path, tmp_path: Path) -> None:
    # Start-up is most of an answer's CPU time. A SQLite store does not pay for the PostgreSQL dialect (its
    # column types and index options are resolved only on a PostgreSQL connection), and a question with an id
    # that no line contains does not pay for the vector stage (FAISS, numpy, the index files). One whose words
    # are all there starts loading the vectors while its events are counted, so it pays even when no line
    # has them all.
    data = tmp_path / "data"
    database_url = f"sqlite:///{data / 'logchat.db'}"
    indexed = logchat("index", str(loghub / "OpenSSH" / "OpenSSH_2k.log"), data_dir=data, database_url=database_url)
    assert indexed.returncode == 0, indexed.stderr
    answer, modules = _ask_in_new_process(data, database_url, QUESTION, tmp_path)
    assert answer["matched"] == 276
    assert any("vector" in line["retrieved_by"] for line in answer["evidence"])
    assert {"faiss", "numpy"} <= modules
    assert not {"sqlalchemy.dialects.postgresql", "psycopg"} & modules
    nothing, modules = _ask_in_new_process(data, database_url, "what happened to job_zzz_12?", tmp_path)
    assert nothing["matched"] == 0
    assert not {"faiss", "numpy", "sqlalchemy.dialects.postgresql", "psycopg"} & modules
    apart, modules = _ask_in_new_process(data, database_url, "how many failed password attempts from 10.99.99.99?",
                                         tmp_path)  # fmt: skip
    assert apart["matched"] == 0
    assert {"faiss", "numpy"} <= modules


def test_the_ask_commands_import_nothing_heavy_at_start_up() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import logchat.cli.ask, logchat.cli.sessions\n"
        "heavy = ('sqlalchemy', 'faiss', 'numpy', 'langchain_core', 'langchain_ollama', 'aiohttp')\n"
        "print(sorted({m.split('.')[0] for m in set(sys.modules) - before} & set(heavy)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_ask_on_a_damaged_store_is_one_line_naming_the_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log = tmp_path / "auth.log"
    log.write_text("".join(
        f"Nov  3 10:{i // 60:02d}:{i % 60:02d} web-01 sshd[{i}]: Failed password for root from 10.0.0.{i % 250} "
        f"port {4000 + i} ssh2\n" for i in range(2000)
    ))
    database = data / "logchat.db"
    indexed = logchat("index", str(log), data_dir=data, database_url=f"sqlite:///{database}")
    assert indexed.returncode == 0, indexed.stderr
    pages = database.stat().st_size // 4096
    with database.open("r+b") as handle:  # a stray write over the data pages
        for page in range(pages // 10, pages, 3):
            handle.seek(page * 4096)
            handle.write(b"\x00\xff" * 2048)
    asked = logchat("ask", QUESTION, data_dir=data, database_url=f"sqlite:///{database}")
    assert asked.returncode == 1
    assert "Traceback" not in asked.stderr
    assert asked.stderr.startswith(f"logchat: error: {database} is not a logchat database or is corrupt (")
    assert asked.stderr.endswith("  hint: restore it from a backup, or move it away and index the logs again\n")


def test_the_json_printed_is_the_answer_objects_json(indexed: dict[str, Any], tmp_path: Path, settings: Any,
                                                     store: Any) -> None:
    from logchat.services.ask import AskRequest, ask

    done = logchat("ask", "--no-llm", "--json", QUESTION, **indexed, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    answered = ask(store, settings, AskRequest(QUESTION, use_llm=False)).to_json()
    # The same object but for how long each stage took.
    assert set(printed["timings_ms"]) == set(answered["timings_ms"])
    assert {k: v for k, v in printed.items() if k != "timings_ms"} == {
        k: v for k, v in json.loads(json.dumps(answered)).items() if k != "timings_ms"
    }


def test_the_terminal_shows_the_chunks_in_order(indexed: dict[str, Any], tmp_path: Path) -> None:
    with FakeOllama(reply="There were 251 such events [E1] and [E99]") as server:
        env = {"LOGCHAT_LLM__BASE_URL": server.url, "LOGCHAT_LLM__PROVIDER": "ollama"}
        done = logchat("ask", QUESTION, **indexed, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # The computed sentence, the model's line ended before anything else, the unverified number, the sources.
    assert lines[:2] == ["There were 276 matching events.", server.reply]
    assert lines[2:4] == ["", "Unverified numbers (no tool result or evidence line gives them): 251"]
    assert lines[4:6] == ["", "Sources:"] and lines[6].startswith("  [E1] ")
    assert lines[-1].startswith("(llm; 276 matching events;")
    assert "logchat: note: the answer cites unknown evidence ids: E99" in done.stderr.splitlines()
