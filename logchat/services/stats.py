"""Use case: what is in the store (`logchat stat`, the daemon's /api/logs/stats)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from logchat.errors import UsageError
from logchat.ingest.levels import normalize_level
from logchat.redaction import mask_tree
from logchat.retrieval.timerange import check_range_order
from logchat.vocabulary import LEVEL_RANK, LEVELS

if TYPE_CHECKING:
    from logchat.storage.db import Store


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


def compute_stats_from_sqlite_file(database_url: str, query: StatQuery, *, quick_check_max_bytes: int | None = None
                                   ) -> dict[str, Any] | None:
    """compute_stats() for a SQLite store already at the newest schema, read through plain sqlite3 so that
    neither SQLAlchemy nor the models are imported (most of `logchat stat`'s time). None when the store is
    anything else or the read fails: the caller then opens the store and calls compute_stats()."""
    from logchat.storage import stats_sqlite
    from logchat.storage.sqlite_files import QUICK_CHECK_MAX_BYTES

    if quick_check_max_bytes is None:
        quick_check_max_bytes = QUICK_CHECK_MAX_BYTES
    check_range_order(query.since, query.until, phrase=f"since {query.since} until {query.until}")
    connection = stats_sqlite.open_reader(database_url, quick_check_max_bytes=quick_check_max_bytes)
    if connection is None:
        return None
    try:
        with connection:  # one transaction: every number from the same snapshot
            connection.execute("BEGIN")
            numbers = stats_sqlite.overview(
                connection, since=query.since, until=query.until, levels=_levels(query), sources=query.sources,
                hosts=query.hosts, processes=query.processes, top=query.top,
            )
    except stats_sqlite.StatsReadFailed:
        return None
    finally:
        connection.close()
    return mask_tree(_from_numbers(query, numbers))  # type: ignore[no-any-return]


def _from_numbers(query: StatQuery, numbers: dict[str, Any] | None) -> dict[str, Any]:
    if numbers is None:
        return _empty_result(query, total=0, first=None, last=None)
    result = _empty_result(query, total=numbers["total"], first=numbers["first"], last=numbers["last"])
    _fill(result, by_level=numbers["by_level"], by_source=numbers["by_source"], by_host=numbers["by_host"],
          by_process=numbers["by_process"], histogram=numbers["histogram"], top_templates=numbers["top_templates"])
    return result


def _levels(query: StatQuery) -> list[str]:
    return list(LEVELS[LEVEL_RANK[query.level]:]) if query.level else []


def _empty_result(query: StatQuery, *, total: int, first: datetime | None, last: datetime | None
                  ) -> dict[str, Any]:
    return {
        "filters": {
            "since": query.since, "until": query.until, "level": query.level,
            "sources": query.sources, "hosts": query.hosts, "processes": query.processes,
        },
        "total": total,
        "time_span": {"first": first, "last": last},
        "by_level": {},
        "by_source": [],
        "by_host": [],
        "by_process": [],
        "histogram": {"bucket_seconds": None, "buckets": []},
        "top_templates": [],
    }


def _fill(result: dict[str, Any], *, by_level: list[tuple[str | None, int]], by_source: list[tuple[str, str, int]],
          by_host: list[tuple[str | None, int]], by_process: list[tuple[str | None, int]],
          histogram: tuple[int, list[tuple[datetime, int]]] | None, top_templates: list[dict[str, Any]]) -> None:
    """The overview's shape from the repository's rows; shared by both ways of reading them."""
    levels = dict(by_level)
    result["by_level"] = {name: levels[name] for name in reversed(LEVELS) if name in levels}
    if None in levels:
        result["by_level"]["NONE"] = levels[None]
    result["by_source"] = [{"name": name, "location": location, "count": n} for name, location, n in by_source]
    result["by_host"] = [{"host": host, "count": n} for host, n in by_host if host]
    result["by_process"] = [{"process": proc, "count": n} for proc, n in by_process if proc]
    if histogram is not None:
        bucket, buckets = histogram
        result["histogram"] = {"bucket_seconds": bucket, "buckets": [{"start": s, "count": n} for s, n in buckets]}
    result["top_templates"] = top_templates


def _stats(store: Store, query: StatQuery) -> dict[str, Any]:
    from logchat.storage import stats_repo

    flt = stats_repo.EventFilter(
        since=query.since,
        until=query.until,
        levels=_levels(query),
        sources=query.sources,
        hosts=query.hosts,
        processes=query.processes,
    )
    with store.session() as session:
        numbers = stats_repo.overview(session, flt, query.top)
    return _from_numbers(query, numbers)


def list_sources(store: Store, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every source in the store with its checkpoint, and its lag: how long ago its newest event happened
    (None for a source with no timed event), with its last read (success, error). Locations that were
    tried but never read (a missing path, a glob matching nothing) are listed too, with an empty
    checkpoint. Secret-masked like `stat`: a viewer may read it."""
    from logchat.storage import sources_repo, stats_repo

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
