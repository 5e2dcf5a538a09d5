"""Retention benchmark: pruning the older half of a large store against the obvious alternative, indexing
the kept lines into a fresh store.

Generates the corpus of bench_ingest.py (syslog, nginx access, Java with stack traces, JSON lines; about
2.5 days of logs), indexes it with `logchat index`, then deletes the events before the median timestamp
(rounded down to the hour, as retention does) with the retention service, and vacuums. The alternative
cuts each file to the lines from its first kept event on and indexes those into an empty store. Both stores
are then compared with `stat --json` (they must agree). Prints a table.

    python benchmarks/bench_prune.py [--lines 1000000] [--database-url URL] [--keep DIR]

With --database-url (PostgreSQL), both stores live in schemas of their own in that database, dropped after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import generate_corpus

LOGCHAT = [sys.executable, "-m", "logchat"]


def _schema_url(base: str, schema: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


class Backend:
    """Where the stores live: a file per data dir, or a schema per store in one PostgreSQL database."""

    def __init__(self, database_url: str | None) -> None:
        self.database_url = database_url
        self.schemas: list[str] = []

    def url(self, data_dir: Path) -> str:
        if self.database_url is None:
            return f"sqlite:///{data_dir / 'logchat.db'}"
        schema = f"bench_prune_{uuid.uuid4().hex[:10]}"
        self._admin(f'CREATE SCHEMA "{schema}"')
        self.schemas.append(schema)
        return _schema_url(self.database_url, schema)

    def _admin(self, statement: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.database_url)
        with engine.begin() as conn:
            conn.execute(text(statement))
        engine.dispose()

    def close(self) -> None:
        for schema in self.schemas:
            self._admin(f'DROP SCHEMA "{schema}" CASCADE')


def index(paths: list[Path], data_dir: Path, url: str) -> tuple[float, dict]:
    env = {**os.environ, "LOGCHAT_DATABASE__URL": url}
    started = time.perf_counter()
    done = subprocess.run([*LOGCHAT, "--quiet", "--data-dir", str(data_dir), "index", "--json", *map(str, paths)],
                          capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"index failed: {done.stderr}")
    return elapsed, json.loads(done.stdout)


def stat(data_dir: Path, url: str) -> dict:
    env = {**os.environ, "LOGCHAT_DATABASE__URL": url}
    done = subprocess.run([*LOGCHAT, "--data-dir", str(data_dir), "stat", "--json", "--top", "50"],
                          capture_output=True, text=True, env=env, check=True)
    result = json.loads(done.stdout)
    for entry in result["by_source"]:
        entry.pop("location")
    for entry in result["top_templates"]:
        entry.pop("template_id")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines in the generated corpus")
    parser.add_argument("--database-url", help="a PostgreSQL URL (default: SQLite files)")
    parser.add_argument("--keep", type=Path, help="keep the generated data and stores here")
    args = parser.parse_args()

    from datetime import UTC

    from sqlalchemy import BigInteger, func, select, type_coerce

    from logchat.config import load_settings
    from logchat.services.maintenance import EVENT_BATCH_ROWS, prune_events, vacuum
    from logchat.storage.db import open_store
    from logchat.storage.models import Event, Source
    from logchat.storage.models.base import from_micros

    work = args.keep or Path(tempfile.mkdtemp(prefix="logchat-bench-prune-"))
    work.mkdir(parents=True, exist_ok=True)
    backend = Backend(args.database_url)
    try:
        corpus_dir = work / "corpus"
        corpus_dir.mkdir(exist_ok=True)
        print(f"generating {args.lines:,} lines ...", file=sys.stderr)
        corpus = generate_corpus(corpus_dir, args.lines)

        pruned_dir = work / "pruned"
        pruned_url = backend.url(pruned_dir)
        print("indexing the whole corpus ...", file=sys.stderr)
        full_seconds, full_report = index(corpus, pruned_dir, pruned_url)
        settings = load_settings(data_dir=pruned_dir, database={"url": pruned_url})
        store = open_store(settings.database_url)
        ts = type_coerce(Event.ts, BigInteger)
        with store.session() as session:
            events = int(session.scalar(select(func.count()).select_from(Event)) or 0)
            median = session.scalar(select(ts).where(ts.isnot(None)).order_by(ts).offset(events // 2).limit(1))
        cutoff = from_micros(int(median)).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        # The alternative's input: each file from its first kept event on (the files are in time order).
        with store.session() as session:
            first_kept = dict(session.execute(
                select(Source.location, func.min(Event.line_no)).join(Event, Event.source_id == Source.id)
                .where(ts >= int(cutoff.timestamp()) * 1_000_000).group_by(Source.location)).all())
        kept_dir = work / "kept"
        kept_dir.mkdir(exist_ok=True)
        kept_paths, kept_lines = [], 0
        for path in corpus:
            start = first_kept.get(str(path.resolve()))
            target = kept_dir / path.name
            with path.open(encoding="utf-8") as source, target.open("w", encoding="utf-8") as out:
                for number, line in enumerate(source, 1):
                    if start is not None and number >= start:
                        out.write(line)
                        kept_lines += 1
            kept_paths.append(target)

        print(f"pruning the events before {cutoff:%Y-%m-%d %H:%M} UTC ...", file=sys.stderr)
        started = time.perf_counter()
        pruned = prune_events(store, settings, cutoff)
        prune_seconds = time.perf_counter() - started
        started = time.perf_counter()
        vacuumed = vacuum(store)
        vacuum_seconds = time.perf_counter() - started
        store.close()

        fresh_dir = work / "fresh"
        fresh_url = backend.url(fresh_dir)
        print("indexing the kept lines into a fresh store ...", file=sys.stderr)
        fresh_seconds, fresh_report = index(kept_paths, fresh_dir, fresh_url)
        agree = stat(pruned_dir, pruned_url) == stat(fresh_dir, fresh_url)

        deleted = pruned["deleted"]
        kept_events = events - deleted
        backend_name = "PostgreSQL" if args.database_url else "SQLite"
        print(f"\n{backend_name}: {args.lines:,} generated lines, {events:,} events; cutoff {cutoff:%Y-%m-%d %H:%M} "
              f"UTC; {deleted:,} expired ({deleted / events:.0%}), {kept_events:,} kept ({kept_lines:,} lines); "
              f"batches of {EVENT_BATCH_ROWS:,}\n")
        rows = [
            ("index the whole corpus (for reference)", full_seconds, full_report.get("new_events", events), "events"),
            ("prune: delete the expired events", prune_seconds, deleted, "events deleted"),
            ("vacuum after the prune", vacuum_seconds, None, ""),
            ("alternative: index the kept lines into a fresh store", fresh_seconds,
             fresh_report.get("new_events", kept_events), "events"),
        ]
        print(f"| {'step':<55} | {'seconds':>8} | {'rows/s':>10} |")
        print(f"|{'-' * 57}|{'-' * 10}|{'-' * 12}|")
        for label, seconds, count, _ in rows:
            rate = f"{count / seconds:,.0f}" if count else "-"
            print(f"| {label:<55} | {seconds:>8.1f} | {rate:>10} |")
        print(f"\nprune + vacuum vs the alternative: {(fresh_seconds) / (prune_seconds + vacuum_seconds):.1f}x faster "
              f"(prune alone {fresh_seconds / prune_seconds:.1f}x); {pruned['batches']} batches, "
              f"{pruned['windows_deleted']:,} vector windows deleted")
        if vacuumed.get("backend") == "sqlite":
            print(f"database file: {vacuumed['bytes_before'] / 1e6:,.0f} MB before vacuum, "
                  f"{vacuumed['bytes_after'] / 1e6:,.0f} MB after")
        print(f"stat --json of the pruned store and of the fresh one agree: {'yes' if agree else 'NO'}")
    finally:
        backend.close()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
