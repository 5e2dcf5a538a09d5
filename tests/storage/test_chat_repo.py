"""Chat history as stored: what a question may contain never stops its turn from being kept."""

from __future__ import annotations

from typing import Any

from logchat.services.ask import AskRequest, ask
from logchat.services.sessions import record_turn, show_session


def test_a_question_with_nul_bytes_is_answered_and_kept(small_store: Any, settings: Any) -> None:
    # PostgreSQL text cannot hold NUL; a question typed or sent with one must still be answered and stored.
    answer = ask(small_store, settings, AskRequest("failed\x00 password", session="nul-test", use_llm=False))
    assert answer.to_json()["matched"] == 3
    record_turn(small_store, answer)
    turns = show_session(small_store, "nul-test")["turns"]
    assert [turn["question"] for turn in turns] == ["failed\ufffd password"]
