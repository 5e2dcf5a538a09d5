"""PostgreSQL's full-text vector of an event, built by ingest, is exactly the one the server computes; the
trigger computes it for every other writer; migration 0014 keeps a used store's vectors both ways."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from logchat.config import load_settings
from logchat.services.ingest import index_inputs
from logchat.storage.db import Store, open_store
from logchat.storage.pg_bulk import SEARCH_VARIABLE, _VectorDumper
from logchat.storage.pg_search import vectors_for

REVISION = "0014_pg_search_plain"
# The server's own value: migration 0011's expression over the stored text.
SERVER_VECTOR = (
    "to_tsvector('english', regexp_replace(coalesce(process, '') || ' ' || message, "
    r"E'[\\x01-\\x2F\\x3A-\\x40\\x5B-\\x60\\x7B-\\x7F]+', ' ', 'g'))"
)
DIFFERING = f"SELECT count(*) FROM events WHERE search::text IS DISTINCT FROM ({SERVER_VECTOR})::text"

# Texts at the edges of what a vector holds: only stop words, nothing at all, a word of one token that
# the parser splits (non-ASCII punctuation inside), a token too long to be indexed (left out without a
# position), a lexeme repeated past the 255 positions a lexeme keeps, positions past 16383 (all become
# 16383), stems, numbers of every shape, the character that stands for NUL.
EDGES = [
    "the of and a",
    "",
    " ",
    "-- ... ::",
    "naïve—ünïcode 日本語 x²y café ﬁle Ünïcödé",
    "x" * 2100 + " and the running " + "y" * 2047 + " jumps",
    "running " * 300 + "tail",
    "a " * 16390 + "tail tail words",
    "word " * 5 + "b " * 16380 + "word again",
    "1.5e3 0x1F 007 42 18446744073709551616 v1 2rc1 1e5",
    "nul\ufffdinside and \ufffd alone",
    "Running runs RAN ran run's connections connected connecting",
]


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _differences(url: str, texts: list[str]) -> list[tuple[Any, ...]]:
    """The texts whose vector built by ingest is not the server's, with both vectors."""
    with psycopg.connect(_psycopg_url(url)) as connection, connection.cursor() as cursor:
        vectors = vectors_for(connection, cursor, texts)
        cursor.execute("CREATE TEMPORARY TABLE built (n int, process text, message text, search tsvector)")
        cursor.adapters.register_dumper(None, _VectorDumper)
        with cursor.copy("COPY built (n, process, message, search) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "text", "text", "tsvector"])
            for number, (line, vector) in enumerate(zip(texts, vectors, strict=True)):
                copy.write_row((number, None, line, vector))
        cursor.execute(
            f"SELECT n, message, search::text, ({SERVER_VECTOR})::text FROM built "  # nosec B608 - constant SQL
            f"WHERE search::text IS DISTINCT FROM ({SERVER_VECTOR})::text ORDER BY n"
        )
        return cursor.fetchall()


def test_vectors_built_by_ingest_are_the_servers_for_every_loghub_line(loghub: Path, postgres_url: str) -> None:
    lines = [
        line
        for path in sorted(loghub.glob("*/*.log"))
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
    ]
    assert len(lines) >= 30_000
    assert _differences(postgres_url, lines) == []


def test_vectors_at_the_edges_of_the_format_are_the_servers(postgres_url: str) -> None:
    assert _differences(postgres_url, EDGES) == []
    # Asked again, every word now comes from the cache: still the server's values.
    with psycopg.connect(_psycopg_url(postgres_url)) as connection, connection.cursor() as cursor:
        first = vectors_for(connection, cursor, EDGES)
        assert vectors_for(connection, cursor, EDGES) == first


def _index(store: Store, tmp_path: Path, name: str, lines: list[str]) -> None:
    settings = load_settings(data_dir=tmp_path / "data", database={"url": store.url})
    log = tmp_path / name
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = index_inputs(store, settings, [str(log)])
    assert not report.failed, report.to_dict()
    assert report.new_events == len(lines)


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[Store]:
    store = open_store(postgres_url)
    try:
        yield store
    finally:
        store.close()


def test_ingested_loghub_events_carry_the_servers_vector(pg_store: Store, loghub: Path, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", database={"url": pg_store.url})
    logs = [str(loghub / system) for system in ("Apache", "OpenSSH", "HDFS", "Linux", "Proxifier", "Mac")]
    report = index_inputs(pg_store, settings, logs)
    assert not report.failed, report.to_dict()
    with pg_store.session() as session:
        assert session.scalar(text("SELECT count(*) FROM events WHERE search IS NOT NULL")) >= 10_000
        assert session.scalar(text(DIFFERING)) == 0


def test_a_row_written_without_a_vector_gets_the_servers_from_the_trigger(pg_store: Store, tmp_path: Path) -> None:
    _index(
        pg_store,
        tmp_path,
        "app.log",
        [
            "2026-01-05T10:00:00+00:00 web-01 app[1]: com.example.payments.GatewayClient: timeout after 30 s",
        ],
    )
    with pg_store.session() as session:
        # Another writer (a copy, a hand-written INSERT) sends no vector: the trigger computes it.
        session.execute(
            text(
                "INSERT INTO events (id, source_id, generation, line_no, line_end, byte_offset, process, "
                "template_id, message, raw) SELECT id + 1, source_id, generation, line_no + 1, line_end + 1, "
                "byte_offset, 'billing', template_id, 'The refunds of /api/v1/orders were running late', raw "
                "FROM events"
            )
        )
        inserted = session.scalar(text("SELECT search::text FROM events WHERE process = 'billing'"))
        assert inserted == "'api':5 'bill':1 'late':10 'order':7 'refund':3 'run':9 'v1':6"
        # A changed text gets its own vector, whatever vector came with it; another change keeps the vector.
        session.execute(
            text(
                "UPDATE events SET message = 'disk full on sda1', search = to_tsvector('stale') "
                "WHERE process = 'billing'"
            )
        )
        session.execute(text("UPDATE events SET fields = '{\"a\": 1}' WHERE process = 'billing'"))
        assert (
            session.scalar(text("SELECT search::text FROM events WHERE process = 'billing'"))
            == "'bill':1 'disk':2 'full':3 'sda1':5"
        )
        assert session.scalar(text(DIFFERING)) == 0


def _migration_neighbour(store: Store) -> str:
    """The revision before 0014: the one it undoes to (the chain may gain revisions around it)."""
    from alembic.script import ScriptDirectory

    from logchat.storage.migrate import alembic_config

    with store.engine.connect() as conn:
        down = ScriptDirectory.from_config(alembic_config(conn)).get_revision(REVISION).down_revision
    assert isinstance(down, str)
    return down


def _generated(store: Store) -> str:
    with store.session() as session:
        return str(
            session.scalar(
                text("SELECT attgenerated FROM pg_attribute WHERE attrelid = 'events'::regclass AND attname = 'search'")
            )
        )


def test_migration_keeps_a_used_stores_vectors_both_ways(
    pg_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alembic import command

    from logchat.storage.migrate import alembic_config, upgrade_to_head

    lines = [
        f"2026-01-05T10:00:{n:02d}+00:00 web-01 sshd[{n}]: Failed password for root from 10.0.0.{n} port 22"
        for n in range(20)
    ]
    with pg_store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), _migration_neighbour(pg_store))
    assert _generated(pg_store) == "s"
    # Written as ingest wrote before 0014: without a vector, which the generated column computes.
    monkeypatch.setenv(SEARCH_VARIABLE, "server")
    # Nor were there counts of values before 0015.
    from logchat.storage import value_counts_repo

    counting = value_counts_repo.add_events
    monkeypatch.setattr(value_counts_repo, "add_events", lambda *args, **kwargs: None)
    _index(pg_store, tmp_path, "before.log", lines)
    monkeypatch.delenv(SEARCH_VARIABLE)
    monkeypatch.setattr(value_counts_repo, "add_events", counting)

    def vectors() -> list[tuple[int, str]]:
        with pg_store.session() as session:
            return [tuple(row) for row in session.execute(text("SELECT id, search::text FROM events ORDER BY id"))]

    written = vectors()
    assert len(written) == 20 and all(vector for _, vector in written)
    assert upgrade_to_head(pg_store) is True
    assert _generated(pg_store) == ""
    assert vectors() == written  # the upgrade rewrote nothing
    _index(pg_store, tmp_path, "after.log", [line.replace("root", "admin") for line in lines])
    with pg_store.session() as session:
        assert session.scalar(text(DIFFERING)) == 0
        assert session.scalar(text("SELECT count(*) FROM events WHERE search @@ to_tsquery('admin')")) == 20
    both = vectors()
    with pg_store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), _migration_neighbour(pg_store))
    assert _generated(pg_store) == "s"
    assert vectors() == both
    with pg_store.session() as session:
        # This schema's index only: other tests' schemas create and drop theirs meanwhile.
        index = session.scalar(text("SELECT indexdef FROM pg_indexes "
                                    "WHERE schemaname = current_schema() AND indexname = 'ix_events_search'"))
        assert index is not None and "gin" in index
        assert (
            session.scalar(
                text("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal")
            )
            == 0
        )
    assert upgrade_to_head(pg_store) is True
