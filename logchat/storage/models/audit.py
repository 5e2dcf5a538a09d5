"""The audit trail: who did what, to what, with which outcome, from where."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from logchat.storage.models.base import Base, UTCMicros


class AuditEntry(Base):
    """One security-relevant action. Rows are only ever appended (and pruned oldest first by
    retention); each holds the hash of the row before it and its own, so an edited or deleted row
    breaks the chain (`logchat audit verify`)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor_at", "actor", "at"),
        Index("ix_audit_log_action_at", "action", "at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCMicros)
    # An account name, `os:<user>` for a command run on the store directly, or `scheduler`.
    actor: Mapped[str] = mapped_column(String(96))
    actor_id: Mapped[int | None] = mapped_column(Integer)  # the account's id, when an account acted
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(512))
    outcome: Mapped[str] = mapped_column(String(16))  # ok, failed, denied
    client: Mapped[str | None] = mapped_column(String(64))  # the client's address, for the daemon
    request_id: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[str | None] = mapped_column(Text)  # JSON text, hashed as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
