"""Queries for the sources kept in the store and for the last read of each location."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from logchat.errors import Conflict
from logchat.storage.models import ConfiguredSource, Source, SourceStatus


class SourceNameTaken(Conflict):
    """Another source kept in the store already has the name."""


# --- sources kept in the store -------------------------------------------------------------------


def list_configured(session: Session) -> list[ConfiguredSource]:
    return list(session.scalars(select(ConfiguredSource).order_by(ConfiguredSource.name)))


def get_configured(session: Session, name: str) -> ConfiguredSource | None:
    return session.scalars(select(ConfiguredSource).where(ConfiguredSource.name == name)).one_or_none()


def add_configured(session: Session, source: ConfiguredSource) -> ConfiguredSource:
    """Insert ``source``; SourceNameTaken when the name is held, even by a concurrent insert."""
    session.add(source)
    _flush_naming(session, source.name)
    return source


def save_configured(session: Session, source: ConfiguredSource) -> ConfiguredSource:
    """Write the changes made to ``source`` (a rename may meet a name taken meanwhile)."""
    _flush_naming(session, source.name)
    return source


def delete_configured(session: Session, source: ConfiguredSource) -> None:
    session.delete(source)
    session.flush()


def _flush_naming(session: Session, name: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise SourceNameTaken(f"a source named {name!r} already exists") from exc


# --- the last read of each location --------------------------------------------------------------


_ROWS_PER_STATEMENT = 500


@dataclass(frozen=True)
class Attempt:
    """One location read (or tried) by an ingest run."""

    location: str
    name: str
    kind: str
    status: str
    error: str | None  # None: the read succeeded


def record_attempts(session: Session, attempts: Sequence[Attempt], at: datetime) -> None:
    """Upsert each location's last attempt: a success sets ``last_success_at``, a failure the error and
    its time. Neither clears the other, so a source that failed at night and reads again now still
    shows what went wrong and when."""
    insert = _insert(session)
    # One row per location (the same missing path may be configured twice): an upsert may not touch a
    # row twice in one statement.
    latest = {_storable(attempt.location, 4096): attempt for attempt in attempts}
    for failed in (False, True):
        rows = [
            {
                "location": location, "name": _storable(attempt.name, 255),
                "kind": attempt.kind[:16], "first_attempt_at": at, "last_attempt_at": at,
                "last_status": attempt.status[:16], "last_success_at": None if failed else at,
                "last_error": _storable(attempt.error, None) if attempt.error is not None else None,
                "last_error_at": at if failed else None,
            }
            for location, attempt in latest.items()
            if (attempt.error is not None) == failed
        ]
        if not rows:
            continue
        changed = ["name", "kind", "last_attempt_at", "last_status"]
        changed += ["last_error", "last_error_at"] if failed else ["last_success_at"]
        # In chunks: a directory of thousands of files must stay under SQLite's limit of bound values.
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            statement = insert.values(rows[start:start + _ROWS_PER_STATEMENT])
            statement = statement.on_conflict_do_update(
                index_elements=[SourceStatus.location],
                set_={column: statement.excluded[column] for column in changed},
            )
            session.execute(statement)


def _storable(text: str, limit: int | None) -> str:
    """``text`` as both databases take it: a path given on the command line may hold a NUL byte, a file
    name bytes that are not UTF-8 (lone surrogates in Python), or be longer than any real path."""
    text = text.replace("\0", "\\0").encode("utf-8", "backslashreplace").decode("utf-8")
    return text if limit is None else text[:limit]


def statuses(session: Session) -> dict[str, SourceStatus]:
    """Every location's last attempt, by location."""
    return {row.location: row for row in session.scalars(select(SourceStatus))}


def forget_unread_before(session: Session, instant: datetime) -> int:
    """Delete the status of locations never read into the store (no checkpoint) and not tried since
    ``instant``: a path fixed or removed from the sources stops being listed as failing."""
    stored = select(Source.location).where(Source.location == SourceStatus.location)
    result = session.execute(
        delete(SourceStatus).where(SourceStatus.last_attempt_at < instant, ~stored.exists())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _insert(session: Session) -> Any:
    # INSERT ... ON CONFLICT is spelled the same on both backends but built by dialect-specific constructs.
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(SourceStatus)
