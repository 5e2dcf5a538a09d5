"""Use case: what is in the store (`logchat stat`, the daemon's /api/logs/stats)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from logchat.errors import UsageError
from logchat.ingest.levels import normalize_level
from logchat.redaction import mask_tree
from logchat.retrieval.timerange import check_range_order
from logchat.storage import stats_repo
from logchat.storage.db import Store
from logchat.vocabulary import LEVELS


@dataclass
class StatQuery:
    since: datetime | None = None
    until: datetime | None = None
    level: str | None = None  # this level and above
    sources: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    processes: list[str] = field(default_factory=list)
    top: int = 10


def resolve_level(text: str) -> str:
    level = normalize_level(text)
    if level is None:
        raise UsageError(f"unknown level {text!r}; use one of: {', '.join(name.lower() for name in LEVELS)}")
    return level


def compute_stats(store: Store, query: StatQuery) -> dict[str, Any]:
    """The overview `stat` prints; every text in it is secret-masked (a viewer may read it)."""
    check_range_order(query.since, query.until, phrase=f"since {query.since} until {query.until}")
    return mask_tree(_stats(store, query))  # type: ignore[no-any-return]


def _stats(store: Store, query: StatQuery) -> dict[str, Any]:
    flt = stats_repo.EventFilter(
        since=query.since,
        until=query.until,
        levels=stats_repo.levels_at_least(query.level) if query.level else [],
        sources=query.sources,
        hosts=query.hosts,
        processes=query.processes,
    )
    with store.session() as session:
        overview = stats_repo.summary(session, flt)
        result: dict[str, Any] = {
            "filters": {
                "since": query.since, "until": query.until, "level": query.level,
                "sources": query.sources, "hosts": query.hosts, "processes": query.processes,
            },
            "total": overview["total"],
            "time_span": {"first": overview["first"], "last": overview["last"]},
            "by_level": {},
            "by_source": [],
            "by_host": [],
            "by_process": [],
            "histogram": {"bucket_seconds": None, "buckets": []},
            "top_templates": [],
        }
        if overview["total"] == 0:
            return result
        by_level = dict(stats_repo.counts_by(session, flt, "level", limit=len(LEVELS) + 1))
        result["by_level"] = {name: by_level[name] for name in reversed(LEVELS) if name in by_level}
        if None in by_level:
            result["by_level"]["NONE"] = by_level[None]
        result["by_source"] = [
            {"name": name, "location": location, "count": n}
            for name, location, n in stats_repo.counts_by_source(session, flt, limit=query.top)
        ]
        result["by_host"] = [
            {"host": host, "count": n} for host, n in stats_repo.counts_by(session, flt, "host", query.top) if host
        ]
        result["by_process"] = [
            {"process": proc, "count": n}
            for proc, n in stats_repo.counts_by(session, flt, "process", query.top)
            if proc
        ]
        if overview["first"] is not None:
            bucket, buckets = stats_repo.histogram(session, flt, overview["first"], overview["last"])
            result["histogram"] = {
                "bucket_seconds": bucket,
                "buckets": [{"start": start, "count": n} for start, n in buckets],
            }
        result["top_templates"] = stats_repo.top_templates(session, flt, limit=query.top)
    return result


def list_sources(store: Store, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every source in the store with its checkpoint, and its lag: how long ago its newest event happened
    (None for a source with no timed event), with its last read (success, error). Locations that were
    tried but never read (a missing path, a glob matching nothing) are listed too, with an empty
    checkpoint. Secret-masked like `stat`: a viewer may read it."""
    from logchat.storage import sources_repo

    now = now or datetime.now(UTC)
    with store.session() as session:
        sources = stats_repo.source_overview(session)
        statuses = sources_repo.statuses(session)
    for source in sources:
        newest = source["newest_event_at"]
        source["lag_seconds"] = round((now - newest).total_seconds(), 3) if newest is not None else None
        source.update(_last_read(statuses.pop(source["location"], None)))
    for status in statuses.values():  # never read: no checkpoint
        sources.append({
            "name": status.name, "location": status.location, "kind": status.kind, "format": None,
            "generation": 0, "offset": 0, "size": 0, "line_count": 0, "event_count": 0,
            "created_at": status.first_attempt_at, "last_indexed_at": None, "newest_event_at": None,
            "lag_seconds": None, **_last_read(status),
        })
    sources.sort(key=lambda source: (source["name"], source["location"]))
    return mask_tree(sources)  # type: ignore[no-any-return]


def _last_read(status: Any) -> dict[str, Any]:
    fields = ("last_attempt_at", "last_status", "last_success_at", "last_error", "last_error_at")
    return {name: getattr(status, name) if status is not None else None for name in fields}
