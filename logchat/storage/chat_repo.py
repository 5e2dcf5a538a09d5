"""Queries on chat sessions and their turns.

Every lookup is scoped by owner: an account's id, or None for the command line's sessions. A
session of another owner is never found, so it cannot be read or changed by mistake.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from logchat.errors import Conflict
from logchat.redaction import mask_secrets, mask_tree
from logchat.storage.models import ChatSession, ChatTurn


def _owned_by(owner: int | None) -> ColumnElement[bool]:
    return ChatSession.owner_id.is_(None) if owner is None else ChatSession.owner_id == owner


def find_session(session: Session, name: str, owner: int | None = None) -> ChatSession | None:
    return session.scalars(select(ChatSession).where(_owned_by(owner), ChatSession.name == name)).first()


class SessionNameTaken(Conflict):
    code = "session_exists"


def create_session(session: Session, name: str, owner: int | None = None) -> ChatSession:
    """A new empty session; SessionNameTaken when the owner has one of that name, even one made
    by a concurrent transaction (the unique indexes decide)."""
    now = datetime.now(UTC)
    created = ChatSession(owner_id=owner, name=name, created_at=now, updated_at=now)
    session.add(created)
    _flush_name(session, name)
    return created


def _flush_name(session: Session, name: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise SessionNameTaken(f"a session named {mask_secrets(name)!r} already exists") from exc


def get_or_create_session(session: Session, name: str, owner: int | None = None) -> ChatSession:
    found = find_session(session, name, owner)
    return found if found is not None else create_session(session, name, owner)


def rename_session(session: Session, chat: ChatSession, name: str) -> None:
    chat.name = name
    chat.updated_at = datetime.now(UTC)
    _flush_name(session, name)


def turn_count(session: Session, session_id: int) -> int:
    return int(session.scalar(select(func.count()).where(ChatTurn.session_id == session_id)) or 0)


def turns_page(session: Session, session_id: int, *, limit: int, before: int | None = None) -> list[ChatTurn]:
    """Up to ``limit`` turns with a position below ``before`` (from the newest when None), newest first."""
    statement = select(ChatTurn).where(ChatTurn.session_id == session_id)
    if before is not None:
        statement = statement.where(ChatTurn.position < before)
    return list(session.scalars(statement.order_by(ChatTurn.position.desc()).limit(limit)).all())


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
    # Questions in one session may be answered at once (several sockets, or a client that does not
    # wait): the session's row lock makes their turns take positions one after the other (on
    # SQLite, begin_write's database lock does).
    session.execute(select(ChatSession.id).where(ChatSession.id == chat.id).with_for_update())
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


def list_sessions(session: Session, owner: int | None = None) -> list[tuple[ChatSession, int]]:
    """The owner's sessions with their number of turns, most recently used first."""
    counts = (
        select(ChatTurn.session_id, func.count().label("turns")).group_by(ChatTurn.session_id).subquery()
    )
    rows = session.execute(
        select(ChatSession, func.coalesce(counts.c.turns, 0))
        .join(counts, counts.c.session_id == ChatSession.id, isouter=True)
        .where(_owned_by(owner))
        .order_by(ChatSession.updated_at.desc(), ChatSession.id.desc())
    ).all()
    return [(chat, int(turns)) for chat, turns in rows]


def delete_session(session: Session, name: str, owner: int | None = None) -> bool:
    chat = find_session(session, name, owner)
    if chat is None:
        return False
    # Explicit, so that SQLite without foreign-key enforcement loses no rows to orphans either.
    session.execute(delete(ChatTurn).where(ChatTurn.session_id == chat.id))
    session.delete(chat)
    session.flush()
    return True
