"""`ask` with a model that calls tools: the fake Ollama server scripted in Ollama's wire format, through
the real ChatOllama client, over a real store of loghub's OpenSSH sample (SQLite, and PostgreSQL when
configured). Expected numbers are read from the log file here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_ollama import FakeOllama, Turn, tool_call, tool_messages

from logchat.services.ask import Answer, AskRequest, ask
from logchat.services.ingest import index_inputs
from logchat.services.sessions import record_turn, show_session

QUESTION = "how many failed password attempts for root from 183.62.140.253?"
IP = "183.62.140.253"


class Recorder:
    """Reads an answer the way a front end does: its chunks, by kind, as they come."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.notices: list[str] = []
        self.fallbacks: list[str] = []

    def read(self, answer: Answer) -> Answer:
        for chunk in answer:
            if chunk.kind == "token":
                self.tokens.append(chunk.text)
            elif chunk.kind == "notice":
                self.notices.append(chunk.text)
            elif chunk.kind == "fallback":
                self.fallbacks.append(chunk.text)
        return answer


@pytest.fixture
def openssh_store(store: Any, settings: Any, loghub: Path) -> Any:
    assert not index_inputs(store, settings, [str(loghub / "OpenSSH" / "OpenSSH_2k.log")]).failed
    return store


@pytest.fixture
def server() -> Iterator[FakeOllama]:
    with FakeOllama() as running:
        yield running


@pytest.fixture
def with_llm(settings: Any, server: FakeOllama) -> Any:
    values = {"provider": "ollama", "model": "llama3.2", "base_url": server.url, "timeout_seconds": 10.0,
              "connect_timeout_seconds": 2.0}  # fmt: skip
    return settings.model_copy(update={"llm": settings.llm.model_copy(update=values)})


@pytest.fixture
def ip_lines(loghub: Path) -> int:
    text = (loghub / "OpenSSH" / "OpenSSH_2k.log").read_text(encoding="utf-8")
    return len(re.findall(r"(?<![\d.])" + re.escape(IP) + r"(?!\.?\d)", text))


def tool_result(message: dict[str, Any]) -> dict[str, Any]:
    return json.loads(message["content"].removeprefix("<logs>\n").removesuffix("\n</logs>"))  # type: ignore[no-any-return]


def test_a_counted_number_is_verified(openssh_store: Any, with_llm: Any, server: FakeOllama, ip_lines: int) -> None:
    def answer(messages: list[dict[str, Any]]) -> str:
        matched = tool_result([m for m in messages if m["role"] == "tool"][-1])["matched"]
        return f"{matched:,} lines mention {IP} [E1]."

    server.turns = [tool_call("count_events", text=IP), answer]
    listener = Recorder()
    result = listener.read(ask(openssh_store, with_llm, AskRequest(QUESTION))).to_json()
    # The count computed by code leads; the model's sentence follows.
    assert result["mode"] == "llm"
    lead = f"There were {result['matched']:,} matching events."
    assert result["answer"] == f"{lead}\n{ip_lines:,} lines mention {IP} [E1]."
    assert "".join(listener.tokens) == result["answer"]
    assert result["unverified_numbers"] == []
    assert result["tool_calls"] == [{"tool": "count_events", "arguments": {"text": IP}, "ok": True, "error": None}]
    assert result["citations"] == ["E1"] and result["citation_check"]["ok"]


def test_a_number_no_tool_gave_is_flagged(openssh_store: Any, with_llm: Any, server: FakeOllama) -> None:
    server.reply = "There were 251 such events [E1]."
    result = ask(openssh_store, with_llm, AskRequest(QUESTION)).to_json()
    assert result["mode"] == "llm" and result["matched"] != 251
    assert result["unverified_numbers"] == ["251"]
    assert result["tool_calls"] == []


def test_the_extractive_answer_has_nothing_unverified(openssh_store: Any, settings: Any) -> None:
    result = ask(openssh_store, settings, AskRequest(QUESTION, use_llm=False)).to_json()
    assert result["unverified_numbers"] == [] and result["tool_calls"] == []


def test_lines_a_tool_found_join_the_evidence_and_can_be_cited(
    openssh_store: Any, with_llm: Any, server: FakeOllama
) -> None:
    def answer(messages: list[dict[str, Any]]) -> str:
        found = tool_result([m for m in messages if m["role"] == "tool"][-1])["lines"]
        return f"The newest is [{found[0]['id']}]."

    server.turns = [tool_call("search_logs", text="Invalid user", limit=3), answer]
    answered = ask(openssh_store, with_llm, AskRequest(QUESTION, session="tools"))
    result = answered.to_json()
    record_turn(openssh_store, answered)
    sent = tool_result(tool_messages(server.last_chat_request)[0])["lines"]
    new_ids = [line["id"] for line in sent]
    by_id = {item["id"]: item for item in result["evidence"]}
    assert set(new_ids) <= set(by_id)
    assert result["citations"] == [new_ids[0]] and result["citation_check"]["unknown"] == []
    cited = by_id[new_ids[0]]
    assert "invalid user" in cited["text"].lower()
    assert [item["id"] for item in result["evidence"]] == [f"E{n}" for n in range(1, len(result["evidence"]) + 1)]
    # The session keeps every evidence line in id order, so E<n> of a stored turn is its n-th event.
    turn = show_session(openssh_store, "tools")["turns"][-1]
    assert turn["evidence_event_ids"][int(new_ids[0][1:]) - 1] == cited["event_id"]


def test_a_model_failing_mid_way_gives_the_rule_based_answer(
    openssh_store: Any, with_llm: Any, server: FakeOllama
) -> None:
    server.turns = [tool_call("count_events", text=IP), Turn(content="There were", error="the runner crashed")]
    listener = Recorder()
    result = listener.read(ask(openssh_store, with_llm, AskRequest(QUESTION))).to_json()
    assert result["mode"] == "extractive" and result["answer"].startswith("There were 276 matching events.\n")
    assert "the runner crashed" in result["llm_error"]
    assert any("the runner crashed" in notice for notice in listener.notices)
    assert result["unverified_numbers"] == [] and result["tool_calls"] == []


def test_unknown_tools_and_bad_arguments_do_not_stop_the_answer(
    openssh_store: Any, with_llm: Any, server: FakeOllama
) -> None:
    server.turns = [Turn(tool_calls=(("drop_table", {}), ("top_values", {"field": 7, "limit": "many"}))),
                    "I could not compute more [E1]."]
    result = ask(openssh_store, with_llm, AskRequest(QUESTION)).to_json()
    assert result["mode"] == "llm"
    assert result["answer"] == f"There were {result['matched']:,} matching events.\nI could not compute more [E1]."
    assert [(call["tool"], call["ok"]) for call in result["tool_calls"]] == [("drop_table", False),
                                                                            ("top_values", False)]
    assert "field" in result["tool_calls"][1]["error"] and "limit" in result["tool_calls"][1]["error"]


def test_no_tools_with_max_tool_steps_zero(openssh_store: Any, with_llm: Any, server: FakeOllama) -> None:
    settings = with_llm.model_copy(update={"llm": with_llm.llm.model_copy(update={"max_tool_steps": 0})})
    server.reply = "Failures from one address [E1]."
    result = ask(openssh_store, settings, AskRequest(QUESTION)).to_json()
    assert result["mode"] == "llm" and not server.chat_requests[0].get("tools")
