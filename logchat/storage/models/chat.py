"""Conversations kept by `ask --session`, and the bookkeeping behind the vector index.

The vector index itself (FAISS files) lives in the data dir; what is stored here is what every
machine sharing the database agrees on: which windows of neighbouring events exist and which
distinct window contents ("signatures") they have. A million windows of the same lines share one
signature, and so one embedding.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from logchat.storage.models.base import Base, UTCMicros


class ChatSession(Base):
    """A conversation. ``owner_id`` is the account it belongs to; None for the command line's."""

    __tablename__ = "chat_sessions"
    # Names are unique per owner; sessions without an owner (NULLs are distinct in a unique index)
    # need a partial index to keep theirs unique among themselves: uq_chat_sessions_name_no_owner, on
    # name WHERE owner_id IS NULL, made by migration 0005. It is not declared here because a `postgresql_where`
    # argument loads SQLAlchemy's whole PostgreSQL dialect in every process that imports the models (see
    # migrate.UNMODELLED).
    __table_args__ = (Index("uq_chat_sessions_owner_id_name", "owner_id", "name", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Deleting an account deletes its sessions (see migration 0005 for why not SET NULL).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCMicros)
    updated_at: Mapped[datetime] = mapped_column(UTCMicros)


class ChatTurn(Base):
    """One question and its answer, with what the answer rested on."""

    __tablename__ = "chat_turns"
    __table_args__ = (UniqueConstraint("session_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("chat_sessions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16))
    # The resolved filters, so that a follow-up without filters of its own can reuse them.
    filters: Mapped[dict[str, Any]] = mapped_column(JSON)
    matched: Mapped[int] = mapped_column(BigInteger)
    # events.id of the evidence lines, in evidence order (E1 first), and the ids the answer cited.
    evidence_event_ids: Mapped[list[int]] = mapped_column(JSON)
    citations: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCMicros)


class VectorSignature(Base):
    """A distinct window content: the sorted set of template ids of its events."""

    __tablename__ = "vector_signatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    template_ids: Mapped[str] = mapped_column(Text)  # space-separated, ascending
    window_count: Mapped[int] = mapped_column(BigInteger)


class VectorWindow(Base):
    """Up to ``retrieval.window_size`` consecutive events of one source."""

    __tablename__ = "vector_windows"
    __table_args__ = (
        Index("ix_vector_windows_signature_id_last_ts", "signature_id", "last_ts"),
        Index("ix_vector_windows_last_event_id", "last_event_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    signature_id: Mapped[int] = mapped_column(ForeignKey("vector_signatures.id", ondelete="CASCADE"))
    first_event_id: Mapped[int] = mapped_column(BigInteger)
    last_event_id: Mapped[int] = mapped_column(BigInteger)
    first_ts: Mapped[datetime | None] = mapped_column(UTCMicros)
    last_ts: Mapped[datetime | None] = mapped_column(UTCMicros)
    event_count: Mapped[int] = mapped_column(Integer)
