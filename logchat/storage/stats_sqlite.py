"""The `stat` overview read from a SQLite store through plain sqlite3, without SQLAlchemy.

`logchat stat` is a start-up-bound command: on a million events its queries take tens of
milliseconds, while importing SQLAlchemy and the ORM models costs most of a second. A SQLite file
whose schema is already at head is therefore read here, with the same SQL that stats_repo builds
(the hourly rollup, plus the events themselves for the partial hours at the edges of a time
filter), so the numbers are the same; tests/storage/test_stats_sqlite.py holds the two side by side.
Anything else (another database, a store to migrate, a missing or damaged file, any sqlite3
error) gets None from open_reader() or StatsReadFailed, and the caller takes the ordinary path,
which migrates, reports damage in its words, and so on.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from logchat.errors import StoreError
from logchat.redaction import mask_secrets
from logchat.storage.micros import from_micros, to_micros
from logchat.vocabulary import LEVEL_RANK, LEVELS

HOUR_US = 3_600_000_000
_BUCKETS_SECONDS = (1, 5, 15, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400, 30 * 86400)
# Only the URL shape that settings build for the data directory (and its explicit-driver twin):
# anything fancier (query options, in-memory) takes the ordinary path.
_PLAIN_SQLITE_URL = re.compile(r"sqlite(?:\+pysqlite)?:///(?P<path>[^?]+)")


# Runs one statement (``:name`` placeholders) and returns its rows: sqlite3 here, a SQLAlchemy session in stats_repo.
Runner = Callable[[str, dict[str, Any]], list[Any]]


def sqlite3_runner(connection: sqlite3.Connection) -> Runner:
    return lambda sql, params: connection.execute(sql, params).fetchall()


class StatsReadFailed(Exception):
    """The plain read could not answer; the ordinary path will (and says why, if it cannot either)."""


def choose_bucket_seconds(span_seconds: float, max_buckets: int = 48) -> int:
    for bucket in _BUCKETS_SECONDS:
        if span_seconds / bucket <= max_buckets:
            return bucket
    return _BUCKETS_SECONDS[-1]


def open_reader(url: str, *, quick_check_max_bytes: int) -> sqlite3.Connection | None:
    """A sqlite3 connection to the store at ``url`` if it is an existing, sound SQLite file already
    at the newest schema revision; else None."""
    from logchat.storage.migrate import head_revision
    from logchat.storage.sqlite_files import _quick_check, prepare_private_file

    match = _PLAIN_SQLITE_URL.fullmatch(url)
    if match is None or match["path"] == ":memory:":
        return None
    database = Path(match["path"])
    try:
        if not database.is_file():
            return None
        prepare_private_file(database)  # tightens an older 0644 file, as opening the store does
        if database.stat().st_size <= quick_check_max_bytes and _quick_check(database):
            return None
        connection = sqlite3.connect(database, timeout=10)
    except (OSError, sqlite3.Error, StoreError):
        return None
    try:
        # The pragmas of the ordinary engine that matter to a reader (see db._sqlite_pragmas).
        connection.execute("PRAGMA busy_timeout=10000")
        connection.execute("PRAGMA temp_store=MEMORY")
        connection.execute("PRAGMA cache_size=-65536")
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        if row is None or row[0] != head_revision():
            connection.close()
            return None
    except sqlite3.Error:
        connection.close()
        return None
    return connection


class _Params:
    """Named parameters for one statement (sqlite3 takes :name). The SQL here is built from fixed text,
    column names chosen in this module and placeholders; every value is a parameter."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f":{name}"

    def in_list(self, column: str, values: list[Any]) -> str:
        return f"{column} IN ({', '.join(self.add(v) for v in values)})"


def matching_source_ids(run: Runner, patterns: list[str]) -> list[int]:
    """Sources whose name equals a pattern or whose location contains it (as stats_repo: LIKE, '/' escapes)."""
    params = _Params()
    clauses = []
    for pattern in patterns:
        escaped = pattern.replace("/", "//").replace("%", "/%").replace("_", "/_")
        name, part = params.add(pattern), params.add(escaped)
        clauses.append(f"(name = {name} OR location LIKE '%' || {part} || '%' ESCAPE '/')")
    sql = f"SELECT id FROM sources WHERE {' OR '.join(clauses)}"  # nosec B608
    return [row[0] for row in run(sql, params.values)]


class _Filter:
    def __init__(self, run: Runner, *, since: datetime | None, until: datetime | None,
                 levels: list[str], sources: list[str], hosts: list[str], processes: list[str]) -> None:
        self.since = to_micros(since) if since is not None else None
        self.until = to_micros(until) if until is not None else None
        self.levels, self.hosts, self.processes = levels, hosts, processes
        self.source_ids = matching_source_ids(run, sources) if sources else None
        self.materialised = False

    def materialise(self, connection: sqlite3.Connection) -> None:
        """Compute the facts once for the several queries that read them: with a time window they
        include events counted one by one in the edge hours, worth not scanning seven times. Only on a
        connection of our own (sqlite3), which is closed afterwards, so the temporary table goes with it."""
        params = _Params()
        connection.execute(f"CREATE TEMP TABLE stat_facts AS {self.facts(params)}", params.values)  # nosec B608
        self.materialised = True

    def dimensions(self, params: _Params) -> list[str]:
        conds = []
        if self.levels:
            conds.append(params.in_list("level", self.levels))
        if self.hosts:
            conds.append(params.in_list("host", self.hosts))
        if self.processes:
            conds.append(params.in_list("process", self.processes))
        if self.source_ids is not None:
            conds.append(params.in_list("source_id", self.source_ids) if self.source_ids else "1 = 0")
        return conds

    def event_conditions(self, params: _Params) -> list[str]:
        conds = self.dimensions(params)
        if self.since is not None:
            conds.append(f"ts >= {params.add(self.since)}")
        if self.until is not None:
            conds.append(f"ts < {params.add(self.until)}")
        return conds

    def facts(self, params: _Params) -> str:
        """SQL for rows (hour, source_id, level, host, process, template_id, n, first_ts, last_ts)
        summing exactly to the matching events (stats_repo.facts)."""
        if self.materialised:
            return "SELECT * FROM temp.stat_facts"
        since, until = self.since, self.until
        if since is None and until is None:
            return self._rollup(params, None, None, timed_only=False)
        lo = -(-since // HOUR_US) * HOUR_US if since is not None else None
        hi = until // HOUR_US * HOUR_US if until is not None else None
        if lo is not None and hi is not None and lo >= hi:
            return self._events(params, since, until)
        parts = [self._rollup(params, lo, hi, timed_only=True)]
        if since is not None and since != lo:
            parts.append(self._events(params, since, lo))
        if until is not None and until != hi:
            parts.append(self._events(params, hi, until))
        return " UNION ALL ".join(parts)

    def _rollup(self, params: _Params, lo: int | None, hi: int | None, *, timed_only: bool) -> str:
        conds = self.dimensions(params)
        if timed_only:
            conds.append("hour >= 0")
        if lo is not None:
            conds.append(f"hour >= {params.add(lo)}")
        if hi is not None:
            conds.append(f"hour < {params.add(hi)}")
        return ("SELECT hour, source_id, level, host, process, template_id, count AS n, first_ts, last_ts "  # nosec B608
                f"FROM event_rollup{_where(conds)}")

    def _events(self, params: _Params, lo: int | None, hi: int | None) -> str:
        conds = self.dimensions(params)
        conds.append("ts IS NOT NULL")
        if lo is not None:
            conds.append(f"ts >= {params.add(lo)}")
        if hi is not None:
            conds.append(f"ts < {params.add(hi)}")
        hour = f"(ts / {HOUR_US}) * {HOUR_US}"
        return (f"SELECT {hour} AS hour, source_id, coalesce(level, '') AS level, coalesce(host, '') AS host, "  # nosec B608
                "coalesce(process, '') AS process, template_id, count(*) AS n, min(ts) AS first_ts, "
                f"max(ts) AS last_ts FROM events{_where(conds)} "
                f"GROUP BY {hour}, source_id, coalesce(level, ''), coalesce(host, ''), coalesce(process, ''), "
                "template_id")


def _where(conds: list[str]) -> str:
    return f" WHERE {' AND '.join(conds)}" if conds else ""


def overview(connection: sqlite3.Connection, *, since: datetime | None, until: datetime | None,
             levels: list[str], sources: list[str], hosts: list[str], processes: list[str],
             top: int) -> dict[str, Any] | None:
    """The numbers of services.stats' overview: total and span, counts by level/source/host/process,
    histogram, top templates. None when nothing matches. Raises StatsReadFailed on any sqlite3 error."""
    try:
        run = sqlite3_runner(connection)
        flt = _Filter(run, since=since, until=until, levels=levels, sources=sources, hosts=hosts,
                      processes=processes)
        if since is not None or until is not None:
            flt.materialise(connection)
        return overview_with(run, flt, top)
    except sqlite3.Error as exc:
        raise StatsReadFailed(str(exc)) from exc


def make_filter(run: Runner, *, since: datetime | None, until: datetime | None, levels: list[str],
                sources: list[str], hosts: list[str], processes: list[str]) -> _Filter:
    return _Filter(run, since=since, until=until, levels=levels, sources=sources, hosts=hosts, processes=processes)


def _query(run: Runner, flt: _Filter, select: str, extra: dict[str, Any] | None = None
           ) -> list[Any]:
    params = _Params()
    facts = flt.facts(params)
    # Only SQL built here from fixed text and placeholders is interpolated; every value is a parameter.
    sql = f"WITH facts AS ({facts}) {select}"
    return run(sql, {**params.values, **(extra or {})})


def _counts_by(run: Runner, flt: _Filter, column: str, limit: int) -> list[tuple[str | None, int]]:
    rows = _query(run, flt, f"SELECT {column}, sum(n) AS total FROM facts GROUP BY {column} "  # nosec B608
                                   f"ORDER BY total DESC, {column} LIMIT :limit", {"limit": limit})
    return [(value or None, int(n)) for value, n in rows]


def overview_with(run: Runner, flt: _Filter, top: int) -> dict[str, Any] | None:
    total, first_us, last_us = _query(
        run, flt, "SELECT coalesce(sum(n), 0), min(first_ts), max(last_ts) FROM facts")[0]
    if not total:
        return None
    first = from_micros(first_us) if first_us is not None else None
    last = from_micros(last_us) if last_us is not None else None
    sources = _query(run, flt,
                     "SELECT sources.name, sources.location, sub.n FROM sources JOIN "
                     "(SELECT source_id, sum(n) AS n FROM facts GROUP BY source_id ORDER BY n DESC LIMIT :limit) "
                     "AS sub ON sub.source_id = sources.id ORDER BY sub.n DESC", {"limit": top})
    result: dict[str, Any] = {
        "total": int(total), "first": first, "last": last,
        "by_level": _counts_by(run, flt, "level", len(LEVELS) + 1),
        "by_source": [(name, location, int(n)) for name, location, n in sources],
        "by_host": _counts_by(run, flt, "host", top),
        "by_process": _counts_by(run, flt, "process", top),
        "histogram": _histogram(run, flt, first, last) if first is not None and last is not None else None,
        "top_templates": _top_templates(run, flt, top),
    }
    return result


def _histogram(run: Runner, flt: _Filter, first: datetime, last: datetime,
               max_buckets: int = 48) -> tuple[int, list[tuple[datetime, int]]]:
    bucket = choose_bucket_seconds((last - first).total_seconds() + 1, max_buckets)
    width = bucket * 1_000_000
    origin = (to_micros(first) // width) * width
    extra = {"origin": origin, "width": width}
    if width % HOUR_US == 0:
        rows = _query(run, flt, "SELECT (hour - :origin) / :width AS b, sum(n) FROM facts "
                                       "WHERE hour >= 0 GROUP BY b", extra)
    else:
        params = _Params()
        conds = [*flt.event_conditions(params), "ts IS NOT NULL"]
        sql = f"SELECT (ts - :origin) / :width AS b, count(*) FROM events{_where(conds)} GROUP BY b"  # nosec B608
        rows = run(sql, {**params.values, **extra})
    counts = {int(b): int(n) for b, n in rows}
    n_buckets = int((to_micros(last) - origin) // width) + 1
    return bucket, [(from_micros(origin + i * width), counts.get(i, 0)) for i in range(n_buckets)]


def _top_templates(run: Runner, flt: _Filter, limit: int) -> list[dict[str, Any]]:
    rank = " ".join(f"WHEN level = '{name}' THEN {rank}" for name, rank in LEVEL_RANK.items())
    rows = _query(
        run, flt,
        "SELECT sub.template_id, sub.n, sub.first_us, sub.last_us, sub.worst, templates.template FROM "  # nosec B608
        f"(SELECT template_id, sum(n) AS n, min(first_ts) AS first_us, max(last_ts) AS last_us, "
        f"max(CASE {rank} ELSE -1 END) AS worst FROM facts GROUP BY template_id) AS sub "
        "LEFT OUTER JOIN templates ON templates.id = sub.template_id "
        "ORDER BY CASE WHEN sub.worst >= :error THEN 1 ELSE 0 END DESC, sub.n DESC, sub.template_id LIMIT :limit",
        {"error": LEVEL_RANK["ERROR"], "limit": limit},
    )
    return [
        {
            "template_id": template_id,
            # Templates stored before they were mined from masked messages may hold secrets.
            "template": mask_secrets(template or ""),
            "count": int(n),
            "first_seen": from_micros(first_us) if first_us is not None else None,
            "last_seen": from_micros(last_us) if last_us is not None else None,
            "level": LEVELS[worst] if worst is not None and worst >= 0 else None,
        }
        for template_id, n, first_us, last_us, worst, template in rows
    ]
