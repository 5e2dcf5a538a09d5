"""Sources added over the API or `logchat sources` (beside the configuration file's `[[sources]]`), and
what happened the last time each location was read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from logchat.storage.models.base import Base, UTCMicros


class ConfiguredSource(Base):
    """A source an admin added; read by `reload` after the configuration file's sources."""

    __tablename__ = "configured_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # A local absolute path, glob or directory, as given.
    path: Mapped[str] = mapped_column(String(4096))
    format: Mapped[str] = mapped_column(String(64))  # "auto" or a parser's name
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCMicros)
    updated_at: Mapped[datetime] = mapped_column(UTCMicros)
    # An account name, or "cli:<system user>" for a change made with `logchat sources`.
    created_by: Mapped[str | None] = mapped_column(String(80))
    updated_by: Mapped[str | None] = mapped_column(String(80))


class SourceStatus(Base):
    """The last attempt to read one location (a file, or a configured path that could not be expanded).

    Kept apart from ``sources`` (the checkpoints): a path that never could be opened has no checkpoint,
    and it still needs somewhere to say why.
    """

    __tablename__ = "source_status"

    location: Mapped[str] = mapped_column(String(4096), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # file | gzip | stdin | unknown (could not be expanded)
    first_attempt_at: Mapped[datetime] = mapped_column(UTCMicros)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCMicros, index=True)
    last_status: Mapped[str] = mapped_column(String(16))  # as `reload --json` reports it: ok, unchanged, error…
    last_success_at: Mapped[datetime | None] = mapped_column(UTCMicros)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCMicros)
