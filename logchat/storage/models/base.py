"""Declarative base and portable column types."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Defined without SQLAlchemy so that plain-sqlite3 readers share them; named here for the models' users.
from logchat.storage.micros import _EPOCH, from_micros, to_micros  # noqa: F401

# Stable constraint names keep migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCMicros(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime stored as BIGINT microseconds since the epoch.

    Integers sort, compare and bucket identically on SQLite and PostgreSQL, so time filters and
    histograms are the same SQL on both and need no per-row date functions.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> int | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return to_micros(value)

    def process_result_value(self, value: int | None, dialect: object) -> datetime | None:
        return None if value is None else from_micros(value)
