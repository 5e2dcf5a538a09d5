"""Accounts, failed logins, token revocations and login throttling state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from logchat.storage.models.base import Base, UTCMicros


class User(Base):
    __tablename__ = "users"
    # Never reuse the id of a removed account: tokens name their user by id.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored lower-case: user names are case-insensitive everywhere.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Copied into every token; bumping it (password change, disable) invalidates every token at once.
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCMicros)
    updated_at: Mapped[datetime] = mapped_column(UTCMicros)
    password_changed_at: Mapped[datetime] = mapped_column(UTCMicros)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCMicros)


class LoginFailure(Base):
    """One refused sign-in, kept for the audit trail (unknown user names included)."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_username_occurred_at", "username", "occurred_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCMicros, index=True)
    # As submitted (lower-cased, cut to the column size), so that guesses at unknown names show too.
    username: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    client_address: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))  # unknown_user | wrong_password | disabled | throttled


class TokenRevocation(Base):
    """A revoked access token (logout), a revoked sign-in family, or a refresh token already used.

    Used when no Redis is configured; rows are useless after ``expires_at`` and are purged."""

    __tablename__ = "token_revocations"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # access | family | refresh_used
    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCMicros, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCMicros)


class LoginThrottle(Base):
    """Failed-login counter and lock for one user name or one client address (when no Redis)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)  # "user:<name>" | "addr:<address>"
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCMicros)
    # The counter is forgotten after this instant (a quiet window after the last failure).
    expires_at: Mapped[datetime] = mapped_column(UTCMicros, index=True)
