"""Use cases the daemon runs in the background: bringing the vector index up to date after a reload,
and deleting log events, chat history, audit entries and usage records past their retention periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from logchat.config import Settings
from logchat.storage.db import Store

# Expired events deleted per transaction: bounded work (and lock time) per commit, whatever the backlog.
EVENT_BATCH_ROWS = 20_000
_HOUR = timedelta(hours=1)

if TYPE_CHECKING:
    from logchat.services.ingest import IngestReport


def refresh_vectors_after(
    store: Store, settings: Settings, report: IngestReport, *, rebuild: bool = False
) -> dict[str, Any] | None:
    """What `logchat reload` does after reading the sources: embed what was just stored, so `ask` is
    ready. None when there was nothing to do (no new events and the index is current, or the store
    failed); ``{"error": …}`` when it failed (an embeddings server that is down): the events stay
    stored and searchable by full text either way. ``rebuild``: embed everything again."""
    from logchat.errors import LogchatError
    from logchat.services.vectors import rebuild_vector_index, update_vector_index, vector_index_current

    if report.error is not None:
        return None  # after a store failure there is nothing sound to build vectors from
    if not rebuild and report.new_events == 0 and vector_index_current(store, settings):
        return None
    try:
        if rebuild:
            return rebuild_vector_index(store, settings).to_dict()
        return update_vector_index(store, settings, cut=report.windows_cut).to_dict()
    except (LogchatError, OSError) as exc:
        return {"error": str(exc)}


def purge_chat_history(store: Store, older_than_days: float, *, now: datetime | None = None) -> dict[str, Any]:
    """Delete chat turns older than ``older_than_days`` and the sessions they leave empty."""
    from logchat.storage.retention_repo import delete_chat_turns_before

    cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
    with store.session() as session:
        turns, sessions = delete_chat_turns_before(session, cutoff)
    return {"cutoff": cutoff, "turns_deleted": turns, "sessions_deleted": sessions}


def events_cutoff(now: datetime, days: float) -> datetime:
    """The instant before which events expire: ``days`` before ``now``, back to the start of its hour,
    so that whole hours of the rollup go and the counts that stay are exactly those of the kept events."""
    cutoff = now.astimezone(UTC) - timedelta(days=days)
    return cutoff.replace(minute=0, second=0, microsecond=0)


def prune_events(store: Store, settings: Settings, cutoff: datetime, *, dry_run: bool = False,
                 batch_rows: int = EVENT_BATCH_ROWS) -> dict[str, Any]:
    """Delete the events timestamped before ``cutoff``, oldest first, ``batch_rows`` a transaction, each
    under the ingest lock (an ingest waits for one batch, never for the whole prune; none runs
    between a batch's reads and writes). Everything derived follows in the same transaction; the
    vectors of what is left without events go last (:func:`logchat.services.vectors.forget_windows`).
    Events without a timestamp are kept; checkpoints are not touched, so no deleted line is read again."""
    from logchat.services.vectors import forget_windows
    from logchat.storage import retention_repo, vector_repo
    from logchat.storage.locks import ingest_lock
    from logchat.storage.models.base import to_micros
    from logchat.storage.transactions import begin_write, busy_means_try_again

    cutoff_us = to_micros(cutoff)
    if dry_run:
        with store.session() as session:
            return {"deleted": retention_repo.count_events_before(session, cutoff_us)}
    totals = {"deleted": 0, "batches": 0, "windows_deleted": 0}
    signature_ids: list[int] = []
    template_ids: list[int] = []
    while True:
        with ingest_lock(store, settings.data_dir, wait_seconds=settings.ingest.lock_timeout_seconds), \
                busy_means_try_again("prune log events"), store.session() as session:
            begin_write(session)
            vector_repo.lock_windows(session)  # no window is cut while this batch removes windows
            end_us = retention_repo.next_event_batch_end(session, cutoff_us, batch_rows)
            if end_us is None:
                break
            pruned = retention_repo.delete_events_before(session, end_us)
        totals["deleted"] += pruned.events
        totals["batches"] += 1
        totals["windows_deleted"] += pruned.windows
        signature_ids.extend(pruned.signature_ids)
        template_ids.extend(pruned.template_ids)
    # A template emptied in one batch may have had events again in a later one; only the empty count.
    with store.session() as session:
        template_ids = retention_repo.templates_without_events(session, sorted(set(template_ids)))
        signature_ids = retention_repo.signatures_without_windows(session, sorted(set(signature_ids)))
    forgotten = forget_windows(store, signature_ids=signature_ids, template_ids=template_ids)
    return {**totals, "templates_emptied": len(template_ids), **forgotten}


def prune(store: Store, settings: Settings, *, dry_run: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """Delete what is older than its retention period (docs/operations.md, "Retention"): log events
    (retention.events_days), chat turns (serve.chat_retention_days), audit entries
    (retention.audit_days) and usage records (retention.usage_days); 0 days keeps a kind forever.
    ``dry_run`` only counts. A real prune is recorded in the audit trail, after the audit entries were
    pruned, so its own entry stays."""
    from logchat.services import audit
    from logchat.storage import audit_repo, retention_repo, usage_repo
    from logchat.storage.transactions import begin_write, busy_means_try_again

    now = now or datetime.now(UTC)
    periods = {"events": settings.retention.events_days, "chat": settings.serve.chat_retention_days,
               "audit": settings.retention.audit_days, "usage": settings.retention.usage_days}
    kinds: dict[str, dict[str, Any]] = {}
    for kind, days in periods.items():
        if days <= 0:
            kinds[kind] = {"days": 0, "cutoff": None, "deleted": 0}
            continue
        if kind == "events":
            cutoff = events_cutoff(now, days)
            kinds[kind] = {"days": days, "cutoff": cutoff,
                           **prune_events(store, settings, cutoff, dry_run=dry_run)}
            continue
        cutoff = now - timedelta(days=days)
        with busy_means_try_again(f"prune {kind}"), store.session() as session:
            if not dry_run:
                begin_write(session)
            if kind == "chat":
                count = retention_repo.count_chat_before if dry_run else retention_repo.delete_chat_turns_before
                turns, sessions = count(session, cutoff)
                kinds[kind] = {"days": days, "cutoff": cutoff, "deleted": turns, "sessions_deleted": sessions}
            elif kind == "audit":
                deleted = (retention_repo.count_audit_before(session, cutoff) if dry_run
                           else audit_repo.delete_before(session, cutoff))
                kinds[kind] = {"days": days, "cutoff": cutoff, "deleted": deleted}
            else:
                deleted = (retention_repo.count_usage_before(session, cutoff) if dry_run
                           else usage_repo.delete_before(session, cutoff))
                kinds[kind] = {"days": days, "cutoff": cutoff, "deleted": deleted}
    result = {"dry_run": dry_run, "at": now, "kinds": kinds}
    if not dry_run:
        audit.record(store, "maintenance.prune", detail={
            kind: facts["deleted"] for kind, facts in kinds.items() if facts["days"]})
    return result


def vacuum(store: Store) -> dict[str, Any]:
    """Give the space of deleted rows back (SQLite: VACUUM; PostgreSQL: VACUUM ANALYZE of logchat's tables)."""
    from logchat.storage.retention_repo import vacuum as vacuum_store

    return vacuum_store(store)
