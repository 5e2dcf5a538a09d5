"""Use case: conversations kept by `ask --session NAME` (`logchat sessions list|show|delete`) and by
the daemon's chat.

Every function takes an ``owner``: the id of the account the session belongs to, or None for the
command line's sessions. Names are unique per owner; nobody reaches another owner's session through
these functions without naming that owner, which only a caller allowed to (`chat:read_all`) does.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from logchat.errors import NotFound, UsageError
from logchat.redaction import mask_secrets, mask_tree
from logchat.storage import chat_repo
from logchat.storage.db import Session, Store
from logchat.storage.models import ChatSession, ChatTurn

if TYPE_CHECKING:
    from logchat.config import Settings
    from logchat.services.answer.answer import Answer
    from logchat.services.ask import AskRequest

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


def _summary(chat: ChatSession, turns: int) -> dict[str, Any]:
    return {"name": mask_secrets(chat.name), "turns": turns, "created_at": chat.created_at,
            "updated_at": chat.updated_at}


def _not_found(name: str) -> NotFound:
    return NotFound(f"no session named {mask_secrets(name)!r}", hint="see `logchat sessions list`")


def _require(session: Session, name: str, owner: int | None) -> ChatSession:
    chat = chat_repo.find_session(session, name, owner)
    if chat is None:
        raise _not_found(name)
    return chat


def list_sessions(store: Store, owner: int | None = None) -> list[dict[str, Any]]:
    """The owner's sessions (None: the command line's), most recently used first."""
    with store.session() as session:
        return [_summary(chat, turns) for chat, turns in chat_repo.list_sessions(session, owner)]


def show_session(store: Store, name: str, owner: int | None = None) -> dict[str, Any]:
    name = check_session_name(name)
    with store.session() as session:
        chat = _require(session, name, owner)
        turns = chat_repo.recent_turns(session, chat.id)
        return {
            "name": chat.name,
            "created_at": chat.created_at,
            "updated_at": chat.updated_at,
            "turns": [_turn_dict(turn) for turn in turns],
        }


def delete_session(store: Store, name: str, owner: int | None = None) -> None:
    name = check_session_name(name)
    with store.session() as session:
        if not chat_repo.delete_session(session, name, owner):
            raise _not_found(name)


def create_session(store: Store, name: str, owner: int | None = None) -> dict[str, Any]:
    """A new empty session; Conflict when the owner already has one of that name."""
    name = check_session_name(name)
    with store.session() as session:
        return _summary(chat_repo.create_session(session, name, owner), 0)


def ensure_session(store: Store, name: str, owner: int | None = None) -> None:
    """Create the session unless the owner has it, tolerating a concurrent creation of the same one."""
    name = check_session_name(name)
    try:
        with store.session() as session:
            chat_repo.get_or_create_session(session, name, owner)
    except chat_repo.SessionNameTaken:
        pass  # another request created it between our look and our insert: it exists, as wanted


def rename_session(store: Store, name: str, new_name: str, owner: int | None = None) -> dict[str, Any]:
    """Rename one of the owner's sessions; Conflict when the new name is taken by another of theirs."""
    name, new_name = check_session_name(name), check_session_name(new_name)
    with store.session() as session:
        chat = _require(session, name, owner)
        if new_name != chat.name:
            chat_repo.rename_session(session, chat, new_name)
        return _summary(chat, chat_repo.turn_count(session, chat.id))


def session_messages(
    store: Store, name: str, owner: int | None = None, *, limit: int = 50, before: int | None = None
) -> dict[str, Any]:
    """One page of a session's turns, newest first: those with a position below ``before`` (from the
    newest when None). ``next_before`` is the cursor of the next, older page; None on the last page."""
    name = check_session_name(name)
    with store.session() as session:
        chat = _require(session, name, owner)
        page = chat_repo.turns_page(session, chat.id, limit=limit + 1, before=before)
        more = len(page) > limit
        page = page[:limit]
        return {
            **_summary(chat, chat_repo.turn_count(session, chat.id)),
            "messages": [_turn_dict(turn) for turn in page],
            "next_before": page[-1].position if more else None,
        }


def find_account(store: Store, username: str) -> tuple[int, str]:
    """(id, name) of the account named ``username``: the owner whose sessions a reader of every
    session asks for."""
    from logchat.services.accounts import is_valid_username
    from logchat.storage import auth_repo

    name = username.strip().lower()
    with store.session() as session:
        user = auth_repo.get_user_by_name(session, name) if is_valid_username(name) else None
        if user is None:
            raise NotFound(f"no user named {mask_secrets(username)!r}")
        return user.id, user.username


# --- keeping the turns of an answered question --------------------------------------------------------


def record_turn(store: Store, answer: Answer) -> None:
    """Keep a complete answer as the next turn of the session it was asked in (nothing when it was asked
    outside one); the session is created on its first turn."""
    from logchat.services.answer.contract import turn_record
    from logchat.storage.transactions import begin_write, busy_means_try_again

    question = answer.completed.question
    if question.session is None:
        return
    turn = turn_record(answer.completed)
    for attempt in (1, 2):
        try:
            with busy_means_try_again("keep this turn of the session"), store.session() as session:
                begin_write(session)  # SQLite: numbering the turn and writing it happen under one lock
                chat = chat_repo.get_or_create_session(session, question.session, question.owner)
                chat_repo.add_turn(session, chat, **turn)
            return
        except chat_repo.SessionNameTaken:
            # A concurrent question created the session first: the second attempt finds it.
            if attempt == 2:
                raise


def ask_in_session(store: Store, settings: Settings, request: AskRequest, *, session: str,
                   owner: int | None) -> Answer:
    """Answer ``request`` within the owner's session ``session`` (created when missing) and keep the turn: a
    follow-up reuses the scope of the session's last turn, as `ask --session` does."""
    from dataclasses import replace

    from logchat.services.ask import ask

    answer = ask(store, settings, replace(request, session=session, owner=owner))
    answer.to_json()
    record_turn(store, answer)
    return answer
