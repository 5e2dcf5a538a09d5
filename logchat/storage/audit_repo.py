"""The audit trail's rows: appended one at a time in a chain of hashes, listed by filters and keyset.

Each row's hash is SHA-256 over its own fields and the hash of the row before it (the first row's
predecessor is 64 zeros). Appends are serialised (SQLite's write lock; a PostgreSQL advisory lock)
so that two writers never chain onto the same row. Retention removes the oldest rows only: the chain
then starts at the oldest row kept, whose ``prev_hash`` is taken as given.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from logchat.storage.models import AuditEntry
from logchat.storage.models.base import to_micros
from logchat.storage.transactions import begin_write

GENESIS = "0" * 64
# The advisory-lock key space of audit appends (another space than the admin-change lock's).
_AUDIT_LOCK_SPACE = 0x6C6F6761  # "loga"


def entry_hash(entry: AuditEntry, prev_hash: str) -> str:
    """The hash of ``entry`` chained to ``prev_hash``: every field that says what happened."""
    fields = [entry.id, to_micros(entry.at), entry.actor, entry.actor_id, entry.action, entry.target,
              entry.outcome, entry.client, entry.request_id, entry.detail, prev_hash]  # fmt: skip
    canonical = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(session: Session, entry: AuditEntry) -> AuditEntry:
    """Add ``entry`` at the end of the chain; call on a session that has written nothing yet."""
    begin_write(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, CAST(CAST(CAST('audit_log' AS regclass) AS oid) AS integer))"),
            {"space": _AUDIT_LOCK_SPACE},
        )
    last = session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar_one_or_none()
    entry.prev_hash = last or GENESIS
    entry.hash = GENESIS  # placeholder until the id is known
    session.add(entry)
    session.flush()
    entry.hash = entry_hash(entry, entry.prev_hash)
    return entry


@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    action: str | None = None  # exact, or a prefix ending in '.' ("user." for every account change)
    outcome: str | None = None


def _filtered(query, wanted: AuditFilter):  # type: ignore[no-untyped-def]
    if wanted.since is not None:
        query = query.where(AuditEntry.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(AuditEntry.at < wanted.until)
    if wanted.actor is not None:
        query = query.where(AuditEntry.actor == wanted.actor)
    if wanted.action is not None:
        if wanted.action.endswith("."):
            query = query.where(AuditEntry.action.startswith(wanted.action, autoescape=True))
        else:
            query = query.where(AuditEntry.action == wanted.action)
    if wanted.outcome is not None:
        query = query.where(AuditEntry.outcome == wanted.outcome)
    return query


def page(session: Session, wanted: AuditFilter, *, before_id: int | None, limit: int) -> list[AuditEntry]:
    """Newest first; ``before_id`` continues after the last row of the previous page."""
    query = _filtered(select(AuditEntry), wanted)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))


def walk(session: Session, wanted: AuditFilter | None = None, *, batch: int = 1000) -> Iterator[AuditEntry]:
    """Every row (under ``wanted``), oldest first, read in batches by keyset."""
    after = 0
    while True:
        query = select(AuditEntry).where(AuditEntry.id > after)
        if wanted is not None:
            query = _filtered(query, wanted)
        rows = list(session.scalars(query.order_by(AuditEntry.id).limit(batch)))
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id
        session.expunge_all()  # a long walk keeps one batch in memory, not the whole trail


def delete_before(session: Session, moment: datetime) -> int:
    """Retention: remove the rows older than ``moment`` (always the oldest: ``at`` grows with ``id``)."""
    newest_old = session.scalar(select(AuditEntry.id).where(AuditEntry.at < moment).order_by(AuditEntry.id.desc())
                                .limit(1))
    if newest_old is None:
        return 0
    result = session.execute(delete(AuditEntry).where(AuditEntry.id <= newest_old))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
