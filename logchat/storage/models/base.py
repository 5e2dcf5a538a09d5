"""Declarative base and portable column types."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator, TypeEngine

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


class PortableJSON(TypeDecorator[Any]):
    """JSON, stored as JSONB on PostgreSQL: typed access (jsonb_typeof) and a binary form that is read
    without re-parsing.

    Chosen per dialect when a connection first needs it rather than with ``JSON().with_variant(JSONB())``,
    which would import SQLAlchemy's whole PostgreSQL dialect (tens of milliseconds) in every process that
    imports the models, SQLite readers such as `logchat ask` included.
    """

    impl = JSON
    cache_ok = True
    # As JSON() itself: a Python None is written as JSON null, never dropped from an INSERT.
    should_evaluate_none = True

    def load_dialect_impl(self, dialect: Any) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())
