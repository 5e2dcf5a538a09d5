"""Deleting what has been kept long enough: chat turns past the retention period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from logchat.storage.models import ChatSession, ChatTurn


def delete_chat_turns_before(session: Session, cutoff: datetime) -> tuple[int, int]:
    """Delete chat turns created before ``cutoff``, then the sessions left without any turn that
    were last used before it (a session just created, still empty, stays). Returns (turns, sessions)."""
    turns = session.execute(delete(ChatTurn).where(ChatTurn.created_at < cutoff))
    has_turns = exists(select(ChatTurn.id).where(ChatTurn.session_id == ChatSession.id))
    sessions = session.execute(delete(ChatSession).where(ChatSession.updated_at < cutoff, ~has_turns))
    return int(turns.rowcount or 0), int(sessions.rowcount or 0)
