"""The audit trail (docs/audit.md): record an action, list and export entries, verify the chain.

Recording never makes the action fail: the action has happened (or been refused) by the time it is
recorded, so a store that cannot take the entry is logged as an error and the caller goes on.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from logchat.errors import LogchatError, StoreCorrupt
from logchat.observability.audit import Actor, current_actor
from logchat.observability.logs import current as log_context

if TYPE_CHECKING:
    from logchat.storage.db import Store
    from logchat.storage.models import AuditEntry

log = logging.getLogger(__name__)

OK, FAILED, DENIED = "ok", "failed", "denied"
OUTCOMES = (OK, FAILED, DENIED)
EXPORT_FIELDS = ("id", "at", "actor", "actor_id", "action", "target", "outcome", "client", "request_id",
                 "detail", "prev_hash", "hash")  # fmt: skip


def record(store: Store, action: str, *, target: str | None = None, outcome: str = OK,
           detail: dict[str, Any] | None = None, actor: Actor | None = None) -> None:
    """Append one entry for ``actor`` (default: the current one, see observability/audit.py) and the
    current request."""
    from logchat.storage import audit_repo
    from logchat.storage.models import AuditEntry
    from logchat.storage.transactions import busy_means_try_again

    actor = actor or current_actor()
    entry = AuditEntry(
        at=datetime.now(UTC), actor=actor.name[:96], actor_id=actor.account_id, action=action,
        target=target[:512] if target else None, outcome=outcome, client=(actor.client or None),
        request_id=log_context("request_id"),
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str) if detail else None,
    )  # fmt: skip
    try:
        with busy_means_try_again(f"record {action} in the audit trail"), store.session() as session:
            audit_repo.append(session, entry)
    except StoreCorrupt:
        raise  # a damaged store fails the action with its own one clear error, not a side note
    except LogchatError as exc:  # busy or unreachable: one line, the action stands
        log.error("could not record %s on %s in the audit trail: %s", action, target, exc.message)
    except Exception:
        log.exception("could not record %s on %s in the audit trail", action, target)


def entry_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id, "at": entry.at.isoformat(), "actor": entry.actor, "actor_id": entry.actor_id,
        "action": entry.action, "target": entry.target, "outcome": entry.outcome, "client": entry.client,
        "request_id": entry.request_id, "detail": json.loads(entry.detail) if entry.detail else None,
        "prev_hash": entry.prev_hash, "hash": entry.hash,
    }  # fmt: skip


@dataclass(frozen=True)
class AuditQuery:
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None

    def as_filter(self):  # type: ignore[no-untyped-def]
        from logchat.storage.audit_repo import AuditFilter

        return AuditFilter(since=self.since, until=self.until, actor=self.actor, action=self.action,
                           outcome=self.outcome)


def list_entries(store: Store, query: AuditQuery, *, before_id: int | None = None,
                 limit: int = 100) -> tuple[list[dict[str, Any]], int | None]:
    """A page of entries, newest first, and the cursor of the next page (None on the last)."""
    from logchat.storage import audit_repo

    with store.session() as session:
        rows = audit_repo.page(session, query.as_filter(), before_id=before_id, limit=limit + 1)
        entries = [entry_dict(row) for row in rows[:limit]]
    return entries, (entries[-1]["id"] if len(rows) > limit else None)


def iter_entries(store: Store, query: AuditQuery) -> Iterator[dict[str, Any]]:
    """Every entry under ``query``, oldest first, without holding the trail in memory."""
    from logchat.storage import audit_repo

    with store.session() as session:
        for row in audit_repo.walk(session, query.as_filter()):
            yield entry_dict(row)


def export(store: Store, query: AuditQuery, fmt: str, out: IO[str]) -> int:
    """Write the entries as JSON lines or CSV; returns how many. The export itself is recorded."""
    count = 0
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    for entry in iter_entries(store, query):
        if writer is not None:
            writer.writerow({**entry, "detail": json.dumps(entry["detail"], sort_keys=True) if entry["detail"] else ""})
        else:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        count += 1
    record(store, "audit.export", detail={"format": fmt, "entries": count, **_query_detail(query)})
    return count


def _query_detail(query: AuditQuery) -> dict[str, Any]:
    return {key: value for key, value in vars(query).items() if value is not None}


@dataclass
class Verification:
    checked: int = 0
    first_id: int | None = None
    last_id: int | None = None
    head_hash: str | None = None
    broken_at: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "first_id": self.first_id, "last_id": self.last_id,
                "head_hash": self.head_hash, "broken_at": self.broken_at, "problem": self.problem}


def verify(store: Store) -> Verification:
    """Walk the chain oldest first: every row's hash must match its fields, and every row must name
    the hash of the row before it. An edited row fails the first test, a deleted one the second."""
    from logchat.storage import audit_repo

    result = Verification()
    previous: str | None = None
    with store.session() as session:
        for row in audit_repo.walk(session):
            if previous is not None and row.prev_hash != previous:
                result.broken_at = row.id
                result.problem = f"entry {row.id} does not follow entry {result.last_id}: an entry before it was " \
                                 "deleted or changed"
                return result
            if audit_repo.entry_hash(row, row.prev_hash) != row.hash:
                result.broken_at = row.id
                result.problem = f"entry {row.id} was changed after it was written"
                return result
            result.checked += 1
            result.first_id = result.first_id if result.first_id is not None else row.id
            result.last_id, result.head_hash, previous = row.id, row.hash, row.hash
    return result


def write_summary(verification: Verification) -> str:
    if verification.checked == 0 and verification.ok:
        return "the audit trail is empty"
    if verification.ok:
        return (f"the audit trail is intact: {verification.checked} entries, {verification.first_id}–"
                f"{verification.last_id}, head {verification.head_hash}")
    return f"the audit trail is broken: {verification.problem}"
