"""Use case: conversations kept by `ask --session NAME` (`logchat sessions list|show|delete`)."""

from __future__ import annotations

import re
from typing import Any

from logchat.errors import NotFound, UsageError
from logchat.redaction import mask_secrets, mask_tree
from logchat.storage import chat_repo
from logchat.storage.db import Store
from logchat.storage.models import ChatTurn

MAX_NAME = 200
# How much of the earlier conversation a follow-up question carries to the model.
SUMMARY_TURNS = 4
SUMMARY_ANSWER_CHARS = 400
_NAME_RX = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


def check_session_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME or not _NAME_RX.fullmatch(cleaned):
        raise UsageError(
            f"invalid session name {name!r}", hint=f"use 1 to {MAX_NAME} printable characters, e.g. incident-42"
        )
    return cleaned


def summarise_turns(turns: list[ChatTurn]) -> str:
    """A bounded summary of earlier turns: the questions, and the start of each answer."""
    lines = []
    for turn in turns[-SUMMARY_TURNS:]:
        answer = " ".join(turn.answer.split())
        if len(answer) > SUMMARY_ANSWER_CHARS:
            answer = answer[: SUMMARY_ANSWER_CHARS - 1] + "…"
        lines.append(f"Q{turn.position}: {' '.join(turn.question.split())}")
        lines.append(f"A{turn.position} ({turn.mode}, {turn.matched} matching events): {answer}")
    # Turns stored before answers were masked on write still hold secrets.
    return mask_secrets("\n".join(lines))


def _turn_dict(turn: ChatTurn) -> dict[str, Any]:
    # Masked on read too: turns stored before answers were masked on write still hold secrets.
    return mask_tree({
        "position": turn.position,
        "question": turn.question,
        "answer": turn.answer,
        "mode": turn.mode,
        "matched": turn.matched,
        "filters": turn.filters,
        "evidence_event_ids": turn.evidence_event_ids,
        "citations": turn.citations,
        "created_at": turn.created_at,
    })


def list_sessions(store: Store) -> list[dict[str, Any]]:
    with store.session() as session:
        return [
            {"name": mask_secrets(chat.name), "turns": turns, "created_at": chat.created_at,
             "updated_at": chat.updated_at}
            for chat, turns in chat_repo.list_sessions(session)
        ]


def show_session(store: Store, name: str) -> dict[str, Any]:
    name = check_session_name(name)
    with store.session() as session:
        chat = chat_repo.find_session(session, name)
        if chat is None:
            raise NotFound(f"no session named {name!r}", hint="see `logchat sessions list`")
        turns = chat_repo.recent_turns(session, chat.id)
        return {
            "name": chat.name,
            "created_at": chat.created_at,
            "updated_at": chat.updated_at,
            "turns": [_turn_dict(turn) for turn in turns],
        }


def delete_session(store: Store, name: str) -> None:
    name = check_session_name(name)
    with store.session() as session:
        if not chat_repo.delete_session(session, name):
            raise NotFound(f"no session named {name!r}", hint="see `logchat sessions list`")
