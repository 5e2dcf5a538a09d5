"""Retention of log events on SQLite and PostgreSQL: after a prune, `stat` and `ask` give exactly what a
fresh store fed only the kept lines gives; derived rows (rollup, templates, sources, vector windows and
vectors) follow; untimed events and checkpoints stay, so a reload reads nothing again."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from logchat.services.ask import AskRequest, ask
from logchat.services.ingest import index_inputs
from logchat.services.maintenance import events_cutoff, prune, vacuum
from logchat.services.stats import StatQuery, compute_stats
from logchat.storage.db import open_store
from logchat.storage.models import Event, EventRollup, Source, Template, VectorSignature, VectorWindow

START = datetime(2026, 3, 1, 0, 7, 13, tzinfo=UTC)
NOW = datetime(2026, 3, 11, 9, 41, 0, tzinfo=UTC)  # 10 days after START and a bit
MESSAGES = [  # (level, message); the variable parts are masked, so templates do not depend on which lines
    ("info", "request served path=/api/items/{n} status=200 in {ms} ms"),
    ("info", "user {user} signed in from 10.0.{a}.{b}"),
    ("warning", "slow query took {ms} ms on table orders"),
    ("error", "payment gateway timeout after {ms} ms for order {n}"),
    ("error", "disk usage above 90% on /var/lib/data"),
    ("debug", "cache refreshed with {n} entries"),
]


def _lines(rng: random.Random, start: datetime, days: int, *, rare_until: datetime) -> list[tuple[datetime, str]]:
    """JSON lines every few minutes over ``days``; one pattern only before ``rare_until``."""
    lines, moment = [], start
    while moment < start + timedelta(days=days):
        level, text = rng.choice(MESSAGES)
        if moment < rare_until and rng.random() < 0.1:
            level, text = "error", "certificate for legacy.example.com expired"
        message = text.format(n=rng.randint(1, 99999), ms=rng.randint(5, 9000), user=rng.choice(["ann", "bob"]),
                              a=rng.randint(0, 9), b=rng.randint(1, 250))
        record = {"time": moment.isoformat().replace("+00:00", "Z"), "level": level,
                  "host": rng.choice(["web-01", "web-02", "db-01"]), "logger": rng.choice(["api", "worker"]),
                  "msg": message}
        lines.append((moment, json.dumps(record)))
        moment += timedelta(seconds=rng.randint(60, 900))
    return lines


def _write(path: Path, lines: list[tuple[datetime, str]]) -> Path:
    path.write_text("".join(line + "\n" for _, line in lines), encoding="utf-8")
    return path


@pytest.fixture
def fresh_settings(settings: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Settings of a second, empty store on the same backend (its own data dir, file or schema)."""
    from logchat.config import load_settings

    if settings.database_url.startswith("sqlite"):
        data = tmp_path / "fresh"
        yield load_settings(data_dir=data, database={"url": f"sqlite:///{data / 'logchat.db'}"})
        return
    yield load_settings(data_dir=tmp_path / "fresh", database={"url": request.getfixturevalue("postgres_url")})


def _view(store: Any, settings: Any) -> dict[str, Any]:
    """What a user sees: stat's counts, histogram and top patterns, and an ask's numbers."""
    stats = compute_stats(store, StatQuery(top=20))
    for entry in stats["by_source"]:
        entry.pop("location")  # the two stores read files of different paths
    for entry in stats["top_templates"]:
        entry.pop("template_id")  # the miner numbers clusters in the order it meets them
    answer = ask(store, settings, AskRequest(question="payment gateway timeout errors", use_llm=False,
                                             now=NOW)).to_json()
    return {"stat": stats, "ask": {key: answer[key] for key in ("matched", "time_span")},
            "ask_patterns": [(p["template"], p["count"]) for p in answer["patterns"]]}


def _count(store: Any, model: Any, *where: Any) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_after_a_prune_the_store_answers_as_if_only_the_kept_lines_were_read(
        store: Any, settings: Any, fresh_settings: Any, tmp_path: Path) -> None:
    rng = random.Random(7)
    cutoff = events_cutoff(NOW, 3)
    assert cutoff == datetime(2026, 3, 8, 9, 0, tzinfo=UTC)  # back to the start of the hour
    app = _lines(rng, START, 11, rare_until=START + timedelta(days=2))
    jobs = _lines(rng, START + timedelta(hours=5), 9, rare_until=START)
    untimed = tmp_path / "untimed.log"
    untimed.write_text("boot sequence started\nboot sequence finished\n", encoding="utf-8")
    paths = [_write(tmp_path / "app.jsonl", app), _write(tmp_path / "jobs.jsonl", jobs), untimed]
    assert not index_inputs(store, settings, [str(p) for p in paths]).failed

    from logchat.services.vectors import update_vector_index

    update_vector_index(store, settings)
    with store.session() as session:
        lost_template = session.scalar(select(Template.id).where(Template.template.contains("legacy")))
    windows_before = _count(store, VectorWindow)

    settings.retention.events_days = 3
    expired = sum(1 for moment, _ in app + jobs if moment < cutoff)
    assert 0 < expired < len(app) + len(jobs)
    planned = prune(store, settings, dry_run=True, now=NOW)["kinds"]["events"]
    assert planned["deleted"] == expired and _count(store, Event) == len(app) + len(jobs) + 2

    from logchat.services import maintenance

    done = maintenance.prune_events(store, settings, cutoff, batch_rows=150)  # several batches
    assert done["deleted"] == expired and done["batches"] > 3
    assert 0 < done["windows_deleted"] < windows_before
    assert _count(store, Event) == len(app) + len(jobs) + 2 - expired
    assert _count(store, Event, Event.ts < cutoff) == 0
    assert _count(store, Event, Event.ts.is_(None)) == 2  # untimed events are kept
    assert _count(store, EventRollup, EventRollup.hour >= 0, EventRollup.hour < int(cutoff.timestamp()) * 10**6) == 0
    if store.is_sqlite:
        # The full-text index forgot exactly the pruned events, host column included (compared with the events).
        with store.engine.connect() as conn:
            conn.exec_driver_sql("INSERT INTO events_fts(events_fts, rank) VALUES ('integrity-check', 1)")

    kept = [(tmp_path / "app.kept.jsonl", [x for x in app if x[0] >= cutoff]),
            (tmp_path / "jobs.kept.jsonl", [x for x in jobs if x[0] >= cutoff])]
    fresh = open_store(fresh_settings.database_url)
    try:
        kept_paths = [_write(path, lines) for path, lines in kept]
        # Same source names as the pruned store's (the file's name): name the copies alike.
        renamed = []
        for path, name in zip(kept_paths, ("app.jsonl", "jobs.jsonl"), strict=True):
            target = path.parent / "kept" / name
            target.parent.mkdir(exist_ok=True)
            renamed.append(path.rename(target))
        (tmp_path / "kept" / "untimed.log").write_text(untimed.read_text(encoding="utf-8"), encoding="utf-8")
        renamed.append(tmp_path / "kept" / "untimed.log")
        assert not index_inputs(fresh, fresh_settings, [str(p) for p in renamed]).failed
        view = _view(store, settings)
        assert view["ask"]["matched"] > 0 and len(view["stat"]["top_templates"]) > 3 and view["stat"]["by_host"]
        assert view == _view(fresh, fresh_settings)
        with store.session() as pruned_session, fresh.session() as fresh_session:
            def templates(session: Any) -> set[tuple[Any, ...]]:
                return {tuple(row) for row in session.execute(
                    select(Template.template, Template.count, Template.first_seen, Template.last_seen)
                    .where(Template.count > 0))}

            def sources(session: Any) -> dict[str, int]:
                return {name: n for name, n in session.execute(select(Source.name, Source.event_count))}

            assert templates(pruned_session) == templates(fresh_session)
            assert sources(pruned_session) == sources(fresh_session)
    finally:
        fresh.close()

    with store.session() as session:
        gone = session.get_one(Template, lost_template)
        assert (gone.count, gone.first_seen, gone.last_seen) == (0, None, None)
        empty_signatures = set(session.scalars(select(VectorSignature.id).where(VectorSignature.window_count == 0)))
        # Every window still holds an event of its source.
        orphans = session.scalar(select(func.count()).select_from(VectorWindow).where(~select(Event.id).where(
            Event.source_id == VectorWindow.source_id, Event.id.between(VectorWindow.first_event_id,
                                                                        VectorWindow.last_event_id)).exists()))
        assert orphans == 0

    template_vectors, window_vectors = stored_vectors(store, settings)
    assert lost_template not in template_vectors and empty_signatures
    assert not (empty_signatures & window_vectors)
    # Nothing is read again, and the next update embeds nothing it already has.
    again = index_inputs(store, settings, [str(p) for p in paths])
    assert again.new_events == 0
    report = update_vector_index(store, settings)
    assert report.templates_embedded == 0 and report.signatures_embedded == 0
    assert prune(store, settings, now=NOW)["kinds"]["events"]["deleted"] == 0
    assert vacuum(store)["backend"] in {"sqlite", "postgresql"}


def stored_vectors(store: Any, settings: Any) -> tuple[set[int], set[int]]:
    """The template and window-content ids that have a vector, in the database and in this process's
    cache of it, which must agree."""
    from logchat.retrieval.embeddings import embedder_identity
    from logchat.services.vectors import load_vectors
    from logchat.storage import vector_repo

    identity = embedder_identity(settings.embeddings)
    with store.session() as session:
        templates = set(vector_repo.embedding_hashes(session, identity, vector_repo.TEMPLATE))
        windows = set(vector_repo.embedding_hashes(session, identity, vector_repo.WINDOW))
    loaded = load_vectors(settings, store)
    cached = (set(), set()) if loaded is None else (set(loaded.templates.ids().tolist()),
                                                    set(loaded.windows.ids().tolist()))
    assert cached == (templates, windows)
    return templates, windows


def test_a_pattern_that_comes_back_is_embedded_again(store: Any, settings: Any, tmp_path: Path) -> None:
    from logchat.services.maintenance import prune_events
    from logchat.services.vectors import update_vector_index

    old = [(START, json.dumps({"time": "2026-03-01T00:00:00Z", "level": "error", "msg": "fan 3 failed"}))]
    assert not index_inputs(store, settings, [str(_write(tmp_path / "a.jsonl", old))]).failed
    update_vector_index(store, settings)
    prune_events(store, settings, events_cutoff(NOW, 3))
    with store.session() as session:
        template_id = session.scalar(select(Template.id))
    assert template_id not in stored_vectors(store, settings)[0]

    new = [(NOW, json.dumps({"time": "2026-03-11T09:00:00Z", "level": "error", "msg": "fan 4 failed"}))]
    assert not index_inputs(store, settings, [str(_write(tmp_path / "b.jsonl", new))]).failed
    report = update_vector_index(store, settings)
    assert report.templates_embedded == 1 and report.signatures_embedded == 1
    assert template_id in stored_vectors(store, settings)[0]


def test_a_prune_waits_for_a_running_ingest_and_deletes_nothing_when_it_gives_up(
        store: Any, settings: Any, tmp_path: Path) -> None:
    from logchat.errors import StoreBusy
    from logchat.services.maintenance import prune_events
    from logchat.storage.locks import ingest_lock

    old = [(START, json.dumps({"time": "2026-03-01T00:00:00Z", "level": "info", "msg": "old line"}))]
    assert not index_inputs(store, settings, [str(_write(tmp_path / "a.jsonl", old))]).failed
    settings.ingest.lock_timeout_seconds = 0.5
    with ingest_lock(store, settings.data_dir), pytest.raises(StoreBusy):  # an ingest holds the lock
        prune_events(store, settings, events_cutoff(NOW, 3))
    assert _count(store, Event) == 1
    assert prune_events(store, settings, events_cutoff(NOW, 3))["deleted"] == 1


def test_ids_of_deleted_events_are_never_given_again(store: Any, settings: Any, tmp_path: Path) -> None:
    """The newest events expire too (an old archive indexed last): lines read afterwards get ids above
    every id given before, so an answer that cited an old id never names a new line."""
    from logchat.services.maintenance import prune_events

    old = [(START, json.dumps({"time": "2026-03-01T00:00:00Z", "level": "error", "msg": f"fan {n} failed"}))
           for n in range(5)]
    assert not index_inputs(store, settings, [str(_write(tmp_path / "old.jsonl", old))]).failed
    with store.session() as session:
        given = session.scalar(select(func.max(Event.id)))
    assert prune_events(store, settings, events_cutoff(NOW, 3))["deleted"] == 5
    new = [(NOW, json.dumps({"time": "2026-03-11T09:00:00Z", "level": "error", "msg": "fan 9 failed"}))]
    assert not index_inputs(store, settings, [str(_write(tmp_path / "new.jsonl", new))]).failed
    with store.session() as session:
        ids = list(session.scalars(select(Event.id)))
    assert len(ids) == 1 and ids[0] > given
