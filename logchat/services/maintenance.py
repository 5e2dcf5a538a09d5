"""Use cases the daemon runs in the background: bringing the vector index up to date after a reload,
and deleting chat history past its retention period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from logchat.config import Settings
from logchat.storage.db import Store

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
        return (rebuild_vector_index if rebuild else update_vector_index)(store, settings).to_dict()
    except (LogchatError, OSError) as exc:
        return {"error": str(exc)}


def purge_chat_history(store: Store, older_than_days: float, *, now: datetime | None = None) -> dict[str, Any]:
    """Delete chat turns older than ``older_than_days`` and the sessions they leave empty."""
    from logchat.storage.retention_repo import delete_chat_turns_before

    cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
    with store.session() as session:
        turns, sessions = delete_chat_turns_before(session, cutoff)
    return {"cutoff": cutoff, "turns_deleted": turns, "sessions_deleted": sessions}
