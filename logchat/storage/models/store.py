"""Facts about the store itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from logchat.storage.models.base import Base, UTCMicros


class StoreIdentity(Base):
    """One row: a random id given to the database when its schema is created.

    Files kept beside the database (the vector index) record it, so that pointing `database.url` at
    another database with the same data directory is noticed rather than mixing foreign row ids.

    ``event_id_high`` is the highest event id ever given out, kept by retention before it deletes
    events: new events are numbered above it, so an id cited by a stored answer never names another line.
    """

    __tablename__ = "store_identity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    store_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCMicros)
    event_id_high: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
