"""Queries on chat sessions and their turns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from logchat.redaction import mask_secrets, mask_tree
from logchat.storage.models import ChatSession, ChatTurn


def find_session(session: Session, name: str) -> ChatSession | None:
    return session.scalars(select(ChatSession).where(ChatSession.name == name)).first()


def get_or_create_session(session: Session, name: str) -> ChatSession:
    found = find_session(session, name)
    if found is not None:
        return found
    now = datetime.now(UTC)
    created = ChatSession(name=name, created_at=now, updated_at=now)
    session.add(created)
    session.flush()
    return created


def recent_turns(session: Session, session_id: int, limit: int | None = None) -> list[ChatTurn]:
    """Turns oldest first; with ``limit``, only the last ``limit`` of them."""
    statement = select(ChatTurn).where(ChatTurn.session_id == session_id).order_by(ChatTurn.position.desc())
    if limit is not None:
        statement = statement.limit(limit)
    return list(reversed(session.scalars(statement).all()))


def add_turn(
    session: Session,
    chat: ChatSession,
    *,
    question: str,
    answer: str,
    mode: str,
    filters: dict[str, Any],
    matched: int,
    evidence_event_ids: Sequence[int],
    citations: Sequence[str],
) -> ChatTurn:
    # Kept masked: the history is shown to anyone who may read sessions, and sent to the model.
    question, answer, filters = _storable(mask_secrets(question)), _storable(mask_secrets(answer)), mask_tree(filters)
    position = int(session.scalar(select(func.max(ChatTurn.position)).where(ChatTurn.session_id == chat.id)) or 0)
    now = datetime.now(UTC)
    turn = ChatTurn(
        session_id=chat.id, position=position + 1, question=question, answer=answer, mode=mode, filters=filters,
        matched=matched, evidence_event_ids=list(evidence_event_ids), citations=list(citations), created_at=now,
    )
    session.add(turn)
    chat.updated_at = now
    session.flush()
    return turn


def _storable(text: str) -> str:
    # PostgreSQL text cannot hold NUL (SQLite can): keep the turn, lose only the byte, as ingest does.
    return text.replace("\x00", "\ufffd")


def list_sessions(session: Session) -> list[tuple[ChatSession, int]]:
    """Every session with its number of turns, most recently used first."""
    counts = (
        select(ChatTurn.session_id, func.count().label("turns")).group_by(ChatTurn.session_id).subquery()
    )
    rows = session.execute(
        select(ChatSession, func.coalesce(counts.c.turns, 0))
        .join(counts, counts.c.session_id == ChatSession.id, isouter=True)
        .order_by(ChatSession.updated_at.desc(), ChatSession.id.desc())
    ).all()
    return [(chat, int(turns)) for chat, turns in rows]


def delete_session(session: Session, name: str) -> bool:
    chat = find_session(session, name)
    if chat is None:
        return False
    # Explicit, so that SQLite without foreign-key enforcement loses no rows to orphans either.
    session.execute(delete(ChatTurn).where(ChatTurn.session_id == chat.id))
    session.delete(chat)
    session.flush()
    return True
