"""How long migration 0011 (PostgreSQL's events.search split into the words FTS5 sees) takes on a big
table, against rebuilding the column as it was before (the same table rewrite without regexp_replace,
which is what its downgrade does), and what a full-text count costs with each.

A fresh schema is migrated to 0010 and filled with N events whose messages are the shipped example logs'
lines, repeated (their dotted class names, URL paths and ids are what 0011 splits); then:
- split: upgrade 0010 -> 0011 (drop the column and its GIN index, add both back, built from the
  text with ASCII punctuation turned into spaces);
- whole: downgrade 0011 -> 0010 (the same rewrite with the former expression).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_pg_search_rebuild.py \
        --url postgresql+psycopg://postgres@127.0.0.1:5432/test [--events 1000000]
"""

from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from logchat.storage.migrate import alembic_config

EXAMPLES = Path(__file__).resolve().parent.parent / "logchat" / "examples"


def example_lines() -> list[str]:
    lines: list[str] = []
    for path in sorted(EXAMPLES.iterdir()):
        lines.extend(line for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return lines


def fill(connection, events: int) -> None:  # type: ignore[no-untyped-def]
    connection.execute(text(
        "INSERT INTO sources (id, name, kind, location, generation, size, \"offset\", line_count, head_length, "
        "event_count, created_at) "
        "VALUES (1, 'bench', 'file', '/bench.log', 0, 0, 0, 0, 0, 0, 0)"))
    connection.execute(text("CREATE TEMP TABLE bench_lines (n int PRIMARY KEY, line text)"))
    lines = example_lines()
    connection.execute(text("INSERT INTO bench_lines VALUES (:n, :line)"),
                       [{"n": n, "line": line} for n, line in enumerate(lines)])
    connection.execute(text(
        "INSERT INTO events (id, source_id, generation, line_no, line_end, byte_offset, ts, process, message, raw) "
        "SELECT g, 1, 0, g, g, g * 100, g, 'app', l.line, l.line "
        "FROM generate_series(1, :events) AS g JOIN bench_lines l ON l.n = g % :count"),
        {"events": events, "count": len(lines)})


def timed(action) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def count_payments(engine) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    query = text("SELECT count(*) FROM events WHERE search @@ plainto_tsquery('english', 'payments')")
    with engine.connect() as connection:
        started = time.perf_counter()
        found = int(connection.execute(query).scalar_one())
        return found, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a PostgreSQL URL (a scratch schema is made and dropped)")
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in args.url else "?"
    engine = create_engine(f"{args.url}{separator}options=-csearch_path%3D{schema}")
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0010_event_id_high")
        with engine.begin() as connection:
            fill_seconds = timed(lambda: fill(connection, args.events))
        before = count_payments(engine)
        with engine.begin() as connection:
            split = timed(lambda: command.upgrade(alembic_config(connection), "0011_pg_search_tokens"))
        after = count_payments(engine)
        with engine.begin() as connection:
            whole = timed(lambda: command.downgrade(alembic_config(connection), "0010_event_id_high"))
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    print(f"{args.events:,} events (inserted in {fill_seconds:.1f} s)")
    print(f"| {'rebuild of events.search':<44} | {'seconds':>8} | {'events/s':>9} | {'payments hits':>13} "
          f"| {'count ms':>8} |")
    print(f"|{'-' * 46}|{'-' * 10}|{'-' * 11}|{'-' * 15}|{'-' * 10}|")
    for label, seconds, (hits, count_seconds) in (
        ("whole (0010 expression, downgrade)", whole, before),
        ("split (0011, regexp_replace, upgrade)", split, after),
    ):
        print(f"| {label:<44} | {seconds:>8.1f} | {args.events / seconds:>9,.0f} | {hits:>13,} | "
              f"{count_seconds * 1000:>8.1f} |")
    print(f"ratio split/whole: {split / whole:.2f}")


if __name__ == "__main__":
    main()
