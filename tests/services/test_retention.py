"""Retention on SQLite and PostgreSQL: a dry run counts exactly what a real prune then deletes (chat
turns and emptied sessions, audit entries, usage records), newer records and kinds kept forever stay,
the audit chain still verifies, and the prune is itself in the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from logchat.services import audit
from logchat.services.maintenance import prune
from logchat.storage.models import AuditEntry, ChatSession, ChatTurn
from logchat.storage.models.usage import UsageRecord


def _count(store: Any, model: Any) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _backdate(store: Any, model: Any, column: Any, ids: list[int], moment: datetime) -> None:
    with store.session() as session:
        session.execute(update(model).where(model.id.in_(ids)).values({column: moment}))


def _seed(store: Any, settings: Any, now: datetime) -> None:
    from logchat.services.ask import AskRequest, ask
    from logchat.services.sessions import record_turn
    from logchat.services.usage import record_answer

    old = now - timedelta(days=40)
    for n in range(4):  # two old, two recent chat turns in two sessions; usage records alike
        outcome = ask(store, settings, AskRequest(question=f"failed password {n}", use_llm=False,
                                                  session="old" if n < 2 else "recent"))
        record_answer(store, outcome, front_end="cli", total_ms=5.0)
        record_turn(store, outcome)
    for n in range(5):
        audit.record(store, "user.update", target=f"u{n}")
    with store.session() as session:
        old_session = session.scalar(select(ChatSession.id).where(ChatSession.name == "old"))
        old_turns = list(session.scalars(select(ChatTurn.id).where(ChatTurn.session_id == old_session)))
        usage_ids = sorted(session.scalars(select(UsageRecord.id)))[:2]
        audit_ids = sorted(session.scalars(select(AuditEntry.id)))[:3]
    _backdate(store, ChatTurn, "created_at", old_turns, old)
    _backdate(store, ChatSession, "updated_at", [old_session], old)
    _backdate(store, UsageRecord, "at", usage_ids, old)
    _backdate(store, AuditEntry, "at", audit_ids, old)


def test_a_dry_run_counts_what_the_prune_deletes(small_store: Any, settings: Any) -> None:
    store, now = small_store, datetime.now(UTC)
    _seed(store, settings, now)
    # The backdated audit rows no longer match their hashes: re-chain them as if written back then.
    _rechain(store)
    settings.serve.chat_retention_days = 30
    settings.retention.audit_days = 30
    settings.retention.usage_days = 30
    before = {model: _count(store, model) for model in (ChatTurn, ChatSession, AuditEntry, UsageRecord)}

    planned = prune(store, settings, dry_run=True, now=now)
    expected = {"events": 0, "chat": 2, "audit": 3, "usage": 2}
    assert {kind: facts["deleted"] for kind, facts in planned["kinds"].items()} == expected
    assert planned["kinds"]["chat"]["sessions_deleted"] == 1
    assert {model: _count(store, model) for model in before} == before  # nothing deleted

    done = prune(store, settings, now=now)
    assert {kind: facts["deleted"] for kind, facts in done["kinds"].items()} == expected
    assert _count(store, ChatTurn) == before[ChatTurn] - 2 and _count(store, ChatSession) == before[ChatSession] - 1
    assert _count(store, UsageRecord) == before[UsageRecord] - 2
    entries, _ = audit.list_entries(store, audit.AuditQuery(), limit=100)
    assert entries[0]["action"] == "maintenance.prune" and entries[0]["detail"] == {"chat": 2, "audit": 3, "usage": 2}
    assert audit.verify(store).ok  # the chain starts at the oldest entry kept


def test_kinds_without_a_period_are_kept(small_store: Any, settings: Any) -> None:
    store, now = small_store, datetime.now(UTC)
    _seed(store, settings, now)
    counts = {model: _count(store, model) for model in (ChatTurn, UsageRecord)}
    result = prune(store, settings, now=now)
    assert all(facts["deleted"] == 0 and facts["days"] == 0 for facts in result["kinds"].values())
    assert {model: _count(store, model) for model in counts} == counts


def _rechain(store: Any) -> None:
    from logchat.storage import audit_repo

    with store.session() as session:
        previous = audit_repo.GENESIS
        for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
            entry.prev_hash = previous
            entry.hash = audit_repo.entry_hash(entry, previous)
            previous = entry.hash


def test_vacuum_gives_space_back(small_store: Any) -> None:
    from logchat.services.maintenance import vacuum

    result = vacuum(small_store)
    if small_store.dialect == "sqlite":
        assert result["backend"] == "sqlite" and result["bytes_after"] <= result["bytes_before"]
    else:
        assert result == {"backend": "postgresql", "tables": result["tables"]} and result["tables"] > 10
