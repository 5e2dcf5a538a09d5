"""Deleting what has been kept long enough (chat turns, audit entries, usage records), counting what
would go, and giving the space back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, select, text
from sqlalchemy.orm import Session

from logchat.storage.db import Store
from logchat.storage.models import AuditEntry, Base, ChatSession, ChatTurn
from logchat.storage.models.usage import UsageRecord


def delete_chat_turns_before(session: Session, cutoff: datetime) -> tuple[int, int]:
    """Delete chat turns created before ``cutoff``, then the sessions left without any turn that
    were last used before it (a session just created, still empty, stays). Returns (turns, sessions)."""
    turns = session.execute(delete(ChatTurn).where(ChatTurn.created_at < cutoff))
    has_turns = exists(select(ChatTurn.id).where(ChatTurn.session_id == ChatSession.id))
    sessions = session.execute(delete(ChatSession).where(ChatSession.updated_at < cutoff, ~has_turns))
    return int(turns.rowcount or 0), int(sessions.rowcount or 0)


def count_chat_before(session: Session, cutoff: datetime) -> tuple[int, int]:
    """What delete_chat_turns_before would delete: (turns, sessions left empty)."""
    turns = session.scalar(select(func.count()).select_from(ChatTurn).where(ChatTurn.created_at < cutoff)) or 0
    kept_turn = exists(select(ChatTurn.id).where(ChatTurn.session_id == ChatSession.id,
                                                 ChatTurn.created_at >= cutoff))
    sessions = session.scalar(select(func.count()).select_from(ChatSession)
                              .where(ChatSession.updated_at < cutoff, ~kept_turn)) or 0
    return int(turns), int(sessions)


def count_audit_before(session: Session, cutoff: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.at < cutoff)) or 0)


def count_usage_before(session: Session, cutoff: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(UsageRecord).where(UsageRecord.at < cutoff)) or 0)


def vacuum(store: Store) -> dict[str, Any]:
    """Give the space of deleted rows back: SQLite rewrites the file (VACUUM); PostgreSQL's autovacuum
    reuses space on its own, and VACUUM ANALYZE of logchat's tables here makes it happen now."""
    engine = store.engine
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        from pathlib import Path

        before = Path(path).stat().st_size if path else None
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM"))
        after = Path(path).stat().st_size if path else None
        return {"backend": "sqlite", "bytes_before": before, "bytes_after": after}
    tables = sorted(Base.metadata.tables)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in tables:
            conn.execute(text(f'VACUUM (ANALYZE) "{name}"'))
    return {"backend": "postgresql", "tables": len(tables)}
