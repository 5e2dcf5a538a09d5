"""What each part of an event costs PostgreSQL when ingest writes it: the server CPU per event of the same
batches written into the shipped schema and into variants of it without one part each.

The generated corpus of bench_ingest.py is parsed and mined in this process into the batches `logchat
index` writes; each variant is a fresh schema at the newest migration, changed by a few statements, into
which every batch is written as ingest writes it (events COPY, templates, rollup, checkpoint, one
transaction each). The CPU time of the one server backend doing it is read from /proc (server and
benchmark on the same machine), which a busy machine disturbs far less than wall time. Variants run
interleaved, the best of ``--repeat`` is printed.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_pg_write_costs.py \\
        --url postgresql+psycopg://postgres@127.0.0.1:5432/bench [--lines 400000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import generate_corpus

TICKS = os.sysconf("SC_CLK_TCK")
_TEXT = "coalesce(process, '') || ' ' || message"

_DROP_TRIGGERS = ["DROP TRIGGER events_search_on_insert ON events", "DROP TRIGGER events_search_on_update ON events"]
# Migration 0011's text: every ASCII character but a letter or digit turned into a space.
_GENERATED = f"regexp_replace({_TEXT}, E'[\\\\x01-\\\\x2F\\\\x3A-\\\\x40\\\\x5B-\\\\x60\\\\x7B-\\\\x7F]+', ' ', 'g')"

# name -> (statements changing the shipped schema, how ingest writes: "client" builds the vectors, "server"
# leaves them to the database, "text" is the text COPY, which leaves them to the database too)
VARIANTS: dict[str, tuple[list[str], str]] = {
    "as shipped (vectors by ingest)": ([], "client"),
    "vectors by the trigger": ([], "server"),
    "generated column (before)": (
        [
            *_DROP_TRIGGERS,
            "DROP INDEX ix_events_search",
            "ALTER TABLE events DROP COLUMN search",
            "ALTER TABLE events ADD COLUMN search tsvector GENERATED ALWAYS AS "
            f"(to_tsvector('english', {_GENERATED})) STORED",
            "CREATE INDEX ix_events_search ON events USING gin (search)",
        ],
        "server",
    ),
    "no insert trigger": (["DROP TRIGGER events_search_on_insert ON events"], "client"),
    "GIN pending list 64 MB": (["ALTER INDEX ix_events_search SET (gin_pending_list_limit = 65536)"], "client"),
    "GIN without fastupdate": (["ALTER INDEX ix_events_search SET (fastupdate = off)"], "client"),
    "no foreign key check": (["ALTER TABLE events DROP CONSTRAINT fk_events_source_id_sources"], "client"),
    "no btree on ts, template": (["DROP INDEX ix_events_ts", "DROP INDEX ix_events_template_ts"], "client"),
    "no GIN index": (["DROP INDEX ix_events_search"], "client"),
    "no search column": (
        [*_DROP_TRIGGERS, "DROP INDEX ix_events_search", "ALTER TABLE events DROP COLUMN search"],
        "server",
    ),
    "text COPY, vectors by trigger": ([], "text"),
}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def make_batches(corpus: Path) -> list[dict[str, Any]]:
    from logchat.ingest.detect import detect_format
    from logchat.ingest.formats import make_parser
    from logchat.ingest.pipeline import BatchPlan, produce_batches
    from logchat.ingest.sources import LineReader, sample_lines
    from logchat.ingest.templates import TemplateMiner
    from logchat.ingest.timestamps import TimeContext

    miner = TemplateMiner()
    batches, next_id = [], 1
    for source_id, path in enumerate(sorted(corpus.iterdir()), start=1):
        with path.open("rb") as handle:
            fmt = detect_format(sample_lines(handle.read(8192)))
            handle.seek(0)
            plan = BatchPlan(source_id=source_id, generation=0, first_id=next_id, batch_size=20_000, multiline=True)
            reader = LineReader(handle, start_line=0, start_offset=0, max_line_bytes=65536)
            for batch in produce_batches(reader, make_parser(fmt, TimeContext()), miner, plan):
                batches.append({"location": str(path), "source_id": source_id, "batch": batch})
                if batch.rows:
                    next_id = batch.rows[-1][0] + 1
    return batches


def measure(url: str, name: str, batches: list[dict[str, Any]]) -> float:
    """Server CPU seconds to write every batch into a fresh schema changed as ``name`` says."""
    from sqlalchemy import create_engine, text

    from logchat.storage import ingest_writer as writer
    from logchat.storage.db import open_store

    statements, path = VARIANTS[name]
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    store = open_store(f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}")
    try:
        with store.engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
        with store.session() as session:
            for item in batches:
                if writer.get_source(session, item["location"]) is None:
                    writer.create_source(
                        session, location=item["location"], name=item["location"], kind="file", fmt=None
                    )
        os.environ["LOGCHAT_PG_COPY"] = "text" if path == "text" else "binary"
        os.environ["LOGCHAT_PG_SEARCH"] = "server" if path == "server" else "client"
        with store.engine.connect() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        before = cpu_seconds(pid)
        for item in batches:
            batch = item["batch"]
            with store.session() as session:
                rows = batch.rows
                assert session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one() == pid
                writer.write_batch(
                    session,
                    item["source_id"],
                    rows,
                    batch.template_stats(),
                    batch.rollup,
                    batch.changed_templates,
                    batch.miner_state,
                    writer.Checkpoint(
                        generation=0, offset=batch.end_offset, line_count=batch.end_line, size=batch.end_offset
                    ),
                )
        return cpu_seconds(pid) - before
    finally:
        os.environ.pop("LOGCHAT_PG_COPY", None)
        os.environ.pop("LOGCHAT_PG_SEARCH", None)
        store.close()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="a PostgreSQL URL; each variant makes and drops a schema")
    parser.add_argument("--lines", type=int, default=400_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", nargs="*", choices=list(VARIANTS), help="measure only these variants")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="logchat-bench-pgw-") as work:
        corpus = Path(work)
        generate_corpus(corpus, args.lines)
        started = time.perf_counter()
        batches = make_batches(corpus)
    events = sum(len(item["batch"].rows) for item in batches)
    print(
        f"{events:,} events in {len(batches)} batches, parsed in {time.perf_counter() - started:.1f} s", file=sys.stderr
    )
    names = args.only or list(VARIANTS)
    best: dict[str, float] = {}
    for attempt in range(args.repeat):
        for name in names:
            seconds = measure(args.url, name, batches)
            print(f"  {name}, run {attempt + 1}: {seconds:.2f} s server CPU", file=sys.stderr)
            best[name] = min(seconds, best.get(name, seconds))
    shipped = best.get("as shipped (vectors by ingest)")
    print(f"\n{'schema / path':<28} {'server CPU s':>12} {'us/event':>9} {'vs shipped':>10}")
    for name, seconds in best.items():
        ratio = f"{seconds / shipped:>9.2f}x" if shipped else f"{'-':>10}"
        print(f"{name:<28} {seconds:>12.2f} {seconds / events * 1e6:>9.1f} {ratio}")
    print(
        f"\n{events:,} events of the generated corpus; server CPU of the backend writing them, best of {args.repeat}."
    )


if __name__ == "__main__":
    main()
