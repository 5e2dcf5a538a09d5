"""PostgreSQL's binary COPY of events stores exactly what SQLite stores from the same logs, and exactly
what the former text COPY stored, full-text column included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from logchat.config import load_settings
from logchat.ingest import sources as src
from logchat.retrieval.fulltext import parse_text_query, resolve_query
from logchat.services.ingest import PARALLEL_MIN_BYTES, Ingester, Progress, SourceReport, TimeWindow, index_inputs
from logchat.storage import fulltext_repo, ingest_writer, pg_bulk
from logchat.storage.db import Store, open_store
from logchat.storage.pg_bulk import COPY_FORMAT_VARIABLE, NUL_STANDIN, without_nul

EXAMPLES = Path(__file__).parents[2] / "logchat" / "examples"

# Lines that stress the binary encoding: NUL bytes, non-ASCII text, quotes and backslashes, tabs, huge
# and negative-looking numbers, JSON with nested values (named fields), a pid, no timestamp at all.
AWKWARD = [
    "2026-11-03T05:00:00+00:00 app-01 orders[101]: GET /api/v1/orders/ORD-2026_0042?expand=items returned 404",
    "2026-11-03T05:00:01+00:00 app-01 orders[101]: nul\x00inside the message and a tab\there",
    "2026-11-03T05:00:02+00:00 app-02 kernel: café naïve — ünïcode 日本語 emoji \U0001f600 done",
    "2026-11-03T05:00:03+00:00 app-02 worker[2147483647]: quote ' double \" backslash \\ end \\N",
    "2026-11-03T05:00:04+00:00 app-03 worker[7]: user=jane.doe@example.org took=1.5e3ms bytes=18446744073709551616",
    "no timestamp here, only text with a path /var/lib/x.pdf and an id 7f3a9c",
    "2026-11-03T05:00:05+00:00 app-03 sshd[10]: Failed password for root from 10.0.0.1 port 22 ssh2",
    "2026-11-03T05:00:06+00:00 app-03 worker[4294967303]: a pid wider than PostgreSQL's integer column",
]
HUGE_PID = 4294967303
JSON_LINES = [
    json.dumps({"time": "2026-11-03T05:00:06Z", "level": "error", "msg": "payment failed", "order": 42,
                "nested": {"a": [1, 2, "x"]}, "note": "nul\u0000char"}),
    json.dumps({"time": "2026-11-03T05:00:07Z", "level": "info", "msg": "cache refreshed", "user_id": 7}),
]
QUERIES = ["payments", "orders", "café", "nul", "failed password", "10.0.0.1", "jane", "backslash", "7f3a9c",
           "日本語", "api v1"]


def _logs(tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir()
    for example in EXAMPLES.iterdir():
        (logs / example.name).write_bytes(example.read_bytes())
    # Past the first bytes, where a NUL would make the whole file binary data.
    filler = [f"2026-11-03T04:{n // 60:02d}:{n % 60:02d}+00:00 app-0{n % 3} worker[{n}]: warming up step {n}"
              for n in range(300)]
    (logs / "awkward.log").write_text("\n".join(filler + AWKWARD) + "\n", encoding="utf-8")
    (logs / "service.jsonl").write_text("\n".join(JSON_LINES) + "\n", encoding="utf-8")
    return logs


def _index(data_dir: Path, url: str, logs: Path) -> Store:
    settings = load_settings(data_dir=data_dir, database={"url": url}, ingest={"fields": True})
    store = open_store(settings.database_url)
    report = index_inputs(store, settings, [str(logs)])
    assert not report.failed, report.to_dict()
    assert report.new_events > 100
    return store


def _contents(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row that ingest writes, keyed by line rather than by database-specific ids."""
    queries = {
        "events": "SELECT s.location, e.generation, e.line_no, e.line_end, e.byte_offset, e.ts, e.level, e.host, "
                  "e.process, e.pid, t.template, e.message, e.raw, e.fields "
                  "FROM events e JOIN sources s ON s.id = e.source_id JOIN templates t ON t.id = e.template_id",
        "templates": "SELECT template, count, first_seen, last_seen FROM templates",
        "template_fields": "SELECT t.template, f.name, f.type, f.kind, f.unit, f.count "
                           "FROM template_fields f JOIN templates t ON t.id = f.template_id",
        "rollup": "SELECT r.hour, s.location, r.level, r.host, r.process, t.template, r.count, r.first_ts, r.last_ts "
                  "FROM event_rollup r JOIN sources s ON s.id = r.source_id JOIN templates t ON t.id = r.template_id",
        "sources": "SELECT location, \"offset\", line_count, event_count, head_checksum FROM sources",
    }
    contents: dict[str, list[tuple[Any, ...]]] = {}
    with store.session() as session:
        for name, query in queries.items():
            rows = []
            for row in session.execute(text(query)):
                # PostgreSQL text cannot hold NUL: what SQLite keeps as NUL is stored there as U+FFFD.
                values = [value.replace("\x00", NUL_STANDIN) if isinstance(value, str) else value for value in row]
                if name == "events":
                    values[0] = Path(values[0]).name
                    if values[9] == HUGE_PID:
                        values[9] = None  # events.pid is a 4-byte integer on PostgreSQL: no pid rather than a wrong one
                    fields = values[-1]
                    if isinstance(fields, str):
                        values[-1] = json.loads(fields.replace("\\u0000", NUL_STANDIN))
                elif name in ("rollup", "sources"):
                    index = 1 if name == "rollup" else 0
                    values[index] = Path(values[index]).name
                rows.append(tuple(values))
            contents[name] = sorted(rows, key=repr)
    return contents


def _matches(store: Store) -> dict[str, list[tuple[str, int]]]:
    found = {}
    with store.session() as session:
        for query_text in QUERIES:
            resolved = resolve_query(session, parse_text_query(query_text, ()))
            ids = [event_id for event_id, _ in fulltext_repo.search_events(session, resolved, [], 10_000)]
            rows = session.execute(
                text("SELECT s.location, e.line_no FROM events e JOIN sources s ON s.id = e.source_id "
                     "WHERE e.id = ANY(:ids)" if store.dialect == "postgresql" else
                     "SELECT s.location, e.line_no FROM events e JOIN sources s ON s.id = e.source_id "
                     f"WHERE e.id IN ({', '.join(map(str, ids)) or 'NULL'})"),  # ids are integers from the store
                {"ids": ids} if store.dialect == "postgresql" else {},
            )
            found[query_text] = sorted((Path(location).name, line_no) for location, line_no in rows)
    return found


@pytest.fixture
def stores(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Store]]:
    """The same logs in SQLite, in PostgreSQL through binary COPY, and in PostgreSQL through text COPY."""
    from sqlalchemy import create_engine

    logs = _logs(tmp_path)
    text_schema = f"{postgres_url.rsplit('%3D', 1)[1]}_text"
    admin = create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{text_schema}"'))
    opened: dict[str, Store] = {}
    try:
        opened["sqlite"] = _index(tmp_path / "sqlite", f"sqlite:///{tmp_path / 'sqlite.db'}", logs)
        opened["binary"] = _index(tmp_path / "binary", postgres_url, logs)
        monkeypatch.setenv(COPY_FORMAT_VARIABLE, "text")
        opened["text"] = _index(tmp_path / "text", f"{postgres_url.rsplit('%3D', 1)[0]}%3D{text_schema}", logs)
        monkeypatch.delenv(COPY_FORMAT_VARIABLE)
        yield opened
    finally:
        for store in opened.values():
            store.close()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{text_schema}" CASCADE'))
        admin.dispose()


def test_binary_copy_stores_what_sqlite_stores(stores: dict[str, Store]) -> None:
    on_sqlite, on_postgresql = _contents(stores["sqlite"]), _contents(stores["binary"])
    for table in on_sqlite:
        assert on_postgresql[table] == on_sqlite[table], table
    # The awkward lines came through: NUL only replaced (PostgreSQL text cannot hold it), the rest verbatim.
    raws = {row[12] for row in on_postgresql["events"]}
    assert AWKWARD[2] in raws and AWKWARD[3] in raws
    assert AWKWARD[1].replace("\x00", "\ufffd") in raws
    assert {"order": 42, "note": f"nul{NUL_STANDIN}char"} in [row[-1] for row in on_postgresql["events"]]
    huge = [row for row in on_postgresql["events"] if row[12] == AWKWARD[-1]]
    assert len(huge) == 1 and huge[0][8] == "worker" and huge[0][9] is None


def test_binary_copy_finds_the_same_lines_as_sqlite(stores: dict[str, Store]) -> None:
    on_sqlite, on_postgresql = _matches(stores["sqlite"]), _matches(stores["binary"])
    assert all(on_sqlite[query] for query in QUERIES), on_sqlite  # every query finds something
    assert on_postgresql == on_sqlite


def test_binary_copy_stores_exactly_what_text_copy_stored(stores: dict[str, Store]) -> None:
    def everything(store: Store) -> list[tuple[Any, ...]]:
        with store.session() as session:
            return [tuple(row) for row in session.execute(text(
                "SELECT id, source_id, generation, line_no, line_end, byte_offset, ts, level, host, process, pid, "
                "template_id, message, raw, fields::text, search::text FROM events ORDER BY id"))]

    binary, former = everything(stores["binary"]), everything(stores["text"])
    assert len(binary) > 100
    assert binary == former
    assert all(row[-1] for row in binary)  # every event has its full-text vector


def test_nul_in_a_rollup_key_folds_into_the_key_it_becomes() -> None:
    hour = 1_793_678_400_000_000
    rollup = {
        (hour, 1, "INFO", "web\x00", "app", 3): [2, hour + 10, hour + 20],
        (hour, 1, "INFO", f"web{NUL_STANDIN}", "app", 3): [1, hour + 5, None],
        (hour, 1, "INFO", "web", "app", 3): [4, None, None],
    }
    templates = {3: "job <*> for web\x00"}
    fields = [(3, "user", "string", "name", None, 1, "ro\x00ot")]
    changed, folded, examples = without_nul(templates, rollup, fields)
    assert folded == {
        (hour, 1, "INFO", f"web{NUL_STANDIN}", "app", 3): [3, hour + 5, hour + 20],
        (hour, 1, "INFO", "web", "app", 3): [4, None, None],
    }
    assert changed == {3: f"job <*> for web{NUL_STANDIN}"}
    assert examples == [(3, "user", "string", "name", None, 1, f"ro{NUL_STANDIN}ot")]
    clean = {(hour, 1, "INFO", "web", "app", 3): [4, None, None]}
    assert without_nul({}, clean, [])[1] is clean  # nothing to replace: the batch's own objects


# Migration 0011's text and expression, which every stored vector must equal.
_SERVER_VECTOR = (
    "to_tsvector('english', regexp_replace(coalesce(process, '') || ' ' || message, "
    "E'[\\\\x01-\\\\x2F\\\\x3A-\\\\x40\\\\x5B-\\\\x60\\\\x7B-\\\\x7F]+', ' ', 'g'))"
)


def test_batches_prepared_ahead_store_what_sqlite_stores(
    tmp_path: Path, postgres_url: str, datasets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file large enough for a reader process has its batches' COPY rows built ahead, by another thread on a
    connection of its own: the store holds what SQLite holds, and the server's own vector for every event."""
    log = datasets / "loghub_full" / "Linux" / "Linux.log"
    assert log.stat().st_size > PARALLEL_MIN_BYTES
    sent_prepared: list[int] = []
    copy_prepared = pg_bulk._copy_prepared

    def counting(cursor: Any, rows: list[tuple[Any, ...]]) -> None:
        sent_prepared.append(len(rows))
        copy_prepared(cursor, rows)

    monkeypatch.setattr(pg_bulk, "_copy_prepared", counting)
    stores: dict[str, Store] = {}
    try:
        for name, url in (("sqlite", f"sqlite:///{tmp_path / 'linux.db'}"), ("postgresql", postgres_url)):
            settings = load_settings(
                data_dir=tmp_path / name, database={"url": url}, ingest={"fields": True, "batch_size": 2_000}
            )
            stores[name] = open_store(settings.database_url)
            report = index_inputs(stores[name], settings, [str(log)])
            assert not report.failed and report.new_events > 20_000, report.to_dict()
        on_sqlite, on_postgresql = _contents(stores["sqlite"]), _contents(stores["postgresql"])
        for table in on_sqlite:
            assert on_postgresql[table] == on_sqlite[table], table
        # Every batch but the reader's short first one went out as prepared.
        assert len(sent_prepared) >= report.new_events // 2_000 and sum(sent_prepared) > 0.9 * report.new_events
        with stores["postgresql"].session() as session:
            differing = session.execute(text(f"SELECT count(*) FROM events WHERE search <> {_SERVER_VECTOR}"))
            assert differing.scalar_one() == 0
    finally:
        for store in stores.values():
            store.close()


def test_rows_renumbered_after_they_were_prepared_are_written_as_renumbered(postgres_url: str) -> None:
    """Another source's batches may take the ids a batch was numbered with: its prepared rows no longer fit,
    and the rows themselves are written, with their own vectors."""
    store = open_store(postgres_url)
    try:
        with store.session() as session:
            source = ingest_writer.create_source(session, location="/var/log/auth.log", name="auth", kind="file",
                                                 fmt=None)  # fmt: skip
            source_id = source.id
            session.execute(text("INSERT INTO templates (id, template, count) VALUES (1, 'Failed password <*>', 0)"))
        messages = ["Failed password for root from 10.0.0.1 port 22 ssh2", "Failed password for invalid user oracle"]
        rows = [
            (number + 1, source_id, 0, number + 1, number + 1, number * 80, None, "WARNING", "web-01", "sshd",
             4242, 1, message, f"sshd[4242]: {message}", None)
            for number, message in enumerate(messages)
        ]  # fmt: skip
        preparer = pg_bulk.EventPreparer(store.engine)
        prepared = preparer.prepare(rows)
        preparer.close()
        assert prepared is not None and prepared.fits(rows)
        renumbered = [(row[0] + 10, *row[1:]) for row in rows]
        assert not prepared.fits(renumbered)
        with store.session() as session:
            pg_bulk.copy_events(session.connection(), renumbered, prepared)
        with store.session() as session:
            stored = session.execute(
                text(f"SELECT id, message, search = {_SERVER_VECTOR}, search::text FROM events ORDER BY id")
            ).all()
        assert [(row[0], row[1], row[2]) for row in stored] == [(11, messages[0], True), (12, messages[1], True)]
        assert "'oracl'" in stored[1][3]
    finally:
        store.close()


class _CommitCounter(Progress):
    def __init__(self) -> None:
        self.commits = 0

    def advance(self, report: SourceReport, bytes_done: int, lines_done: int) -> None:
        self.commits += 1


def test_a_run_stopped_between_prepared_batches_resumes_to_what_sqlite_stores(
    tmp_path: Path, postgres_url: str, datasets: Path
) -> None:
    """Stopped after its first commits, with the next batch already taken and prepared by the other thread (and
    the reader process still reading), a run leaves its checkpoint at its last commit: the next run stores the
    rest once, and the whole equals SQLite's store of the same file."""
    log = datasets / "loghub_full" / "Proxifier" / "Proxifier.log"
    stores: dict[str, Store] = {}
    try:
        for name, url in (("sqlite", f"sqlite:///{tmp_path / 'proxifier.db'}"), ("postgresql", postgres_url)):
            settings = load_settings(
                data_dir=tmp_path / name, database={"url": url}, ingest={"fields": True, "batch_size": 1_000}
            )
            stores[name] = store = open_store(settings.database_url)
            if name == "postgresql":
                (spec,) = src.expand_inputs([str(log)]).specs
                progress = _CommitCounter()
                ingester = Ingester(store, settings, window=TimeWindow(), progress=progress)
                ingester.should_stop = lambda progress=progress: progress.commits >= 3  # type: ignore[misc]
                first = ingester.ingest(spec)
                assert not first.failed and 0 < first.new_events < 10_000, first
                with store.session() as session:
                    stored = session.execute(text('SELECT count(*), max(line_no) FROM events')).one()
                    offset = session.execute(text('SELECT "offset", line_count FROM sources')).one()
                assert stored[0] == first.new_events and offset[1] >= stored[1]
            report = index_inputs(store, settings, [str(log)])
            assert not report.failed, report.to_dict()
        on_sqlite, on_postgresql = _contents(stores["sqlite"]), _contents(stores["postgresql"])
        for table in ("events", "templates", "template_fields", "sources"):
            assert on_postgresql[table] == on_sqlite[table], table
    finally:
        for store in stores.values():
            store.close()
