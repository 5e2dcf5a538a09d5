"""Usage records: one row per question answered, for the analysts' view of how logchat is used."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from logchat.storage.models.base import Base, UTCMicros


class UsageRecord(Base):
    """One answered question: who asked, through which front end, how it was answered and how long
    it took. The question itself is kept only as its shape (variable parts replaced by placeholders);
    its text is in the audit trail."""

    __tablename__ = "usage_questions"
    __table_args__ = (
        Index("ix_usage_questions_at", "at"),
        Index("ix_usage_questions_actor_at", "actor", "at"),
        Index("ix_usage_questions_shape_at", "shape", "at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCMicros)
    # An account name, or `os:<user>` for the command line (as the audit trail names actors).
    actor: Mapped[str] = mapped_column(String(96))
    # No foreign key: the history of a removed account is still part of the usage.
    actor_id: Mapped[int | None] = mapped_column(Integer)
    front_end: Mapped[str] = mapped_column(String(8))  # cli, http, ws
    mode: Mapped[str] = mapped_column(String(16))  # llm, extractive
    matched: Mapped[int] = mapped_column(BigInteger)
    total_ms: Mapped[float] = mapped_column(Float)
    parse_ms: Mapped[float] = mapped_column(Float)
    retrieve_ms: Mapped[float] = mapped_column(Float)
    llm_ms: Mapped[float] = mapped_column(Float)
    first_token_ms: Mapped[float | None] = mapped_column(Float)
    # Why the model's answer was replaced by the extractive one (unreachable, failed, too slow).
    llm_error: Mapped[str | None] = mapped_column(String(256))
    session: Mapped[str | None] = mapped_column(String(200))
    shape: Mapped[str] = mapped_column(String(256))
    request_id: Mapped[str | None] = mapped_column(String(128))


class UsageScope(Base):
    """What a question was about: the sources and hosts it was filtered to (``source``, ``host``) and
    the sources whose events answered it (``answered_from``). A row per value, so that the most asked
    about sources are a GROUP BY."""

    __tablename__ = "usage_scopes"
    __table_args__ = (Index("ix_usage_scopes_kind_value", "kind", "value"),)

    usage_id: Mapped[int] = mapped_column(ForeignKey("usage_questions.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(256), primary_key=True)
