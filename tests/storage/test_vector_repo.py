"""Window bookkeeping rows: reading new events in chunks, saving windows and signatures, forgetting them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from logchat.services.ingest import index_inputs
from logchat.services.vectors import update_vector_index
from logchat.storage import vector_repo
from logchat.storage.models import Event, VectorSignature, VectorWindow
from logchat.storage.models.base import to_micros
from logchat.storage.vector_repo import NewSignature, NewWindow

EXAMPLES = Path(__file__).resolve().parents[2] / "logchat" / "examples"


@pytest.fixture
def indexed(store: Any, settings: Any) -> Any:
    report = index_inputs(store, settings, [str(EXAMPLES)])
    assert not report.failed and report.new_events > 3000
    with store.session() as session:
        # The ingest cut its events' windows itself: these tests start from events without any.
        vector_repo.lock_windows(session)
        vector_repo.lock_embeddings(session)
        vector_repo.forget_windows(session)
    return store


def test_events_after_reads_every_event_once_in_id_order_and_in_bounded_chunks(indexed: Any) -> None:
    with indexed.session() as session:
        newest = vector_repo.newest_event_id(session)
        expected = [
            (event_id, source_id, template_id, to_micros(ts) if ts is not None else None)
            for event_id, source_id, template_id, ts in session.execute(
                select(Event.id, Event.source_id, Event.template_id, Event.ts).order_by(Event.id)
            )
        ]
        assert newest == expected[-1][0]
        chunks = list(vector_repo.events_after(session, 0, newest, chunk=700))
        assert all(len(chunk) <= 700 for chunk in chunks)
        assert [tuple(row) for chunk in chunks for row in chunk] == expected

        middle = expected[len(expected) // 2][0]
        tail = [tuple(row) for chunk in vector_repo.events_after(session, middle, newest) for row in chunk]
        assert tail == [row for row in expected if row[0] > middle]
        assert list(vector_repo.events_after(session, newest, newest)) == []


def test_save_windows_sets_new_counts_and_adds_to_existing_ones(indexed: Any) -> None:
    with indexed.session() as session:
        assert vector_repo.windowed_upto(session) == 0
        assert vector_repo.max_signature_id(session) == 0
        first, second = (tuple(row) for row in next(vector_repo.events_after(session, 0, 2, chunk=2)))
        source_id, stamp = first[1], first[3]
        vector_repo.save_windows(
            session,
            [NewSignature(1, "key-a", "1 2"), NewSignature(2, "key-b", "3")],
            [
                NewWindow(source_id, 1, first[0], first[0], stamp, stamp, 1),
                NewWindow(source_id, 1, second[0], second[0], None, None, 1),
                NewWindow(source_id, 2, second[0], second[0], stamp, stamp, 1),
            ],
            {1: 2, 2: 1},
        )
    with indexed.session() as session:
        vector_repo.save_windows(
            session, [NewSignature(3, "key-c", "")], [NewWindow(source_id, 1, 3, 4, None, None, 2)], {1: 1, 3: 1}
        )
    with indexed.session() as session:
        counts = dict(session.execute(select(VectorSignature.id, VectorSignature.window_count)).all())
        assert counts == {1: 3, 2: 1, 3: 1}
        assert vector_repo.signature_ids_by_key(session) == {"key-a": 1, "key-b": 2, "key-c": 3}
        assert vector_repo.signature_contents(session) == [(1, "1 2"), (2, "3"), (3, "")]
        assert vector_repo.max_signature_id(session) == 3
        assert vector_repo.windowed_upto(session) == 4
        stamps = session.execute(
            select(VectorWindow.first_ts, VectorWindow.last_ts).order_by(VectorWindow.id)
        ).all()
        assert stamps[0][0] is not None and to_micros(stamps[0][0]) == stamp == to_micros(stamps[0][1])
        assert stamps[1] == (None, None)

        vector_repo.forget_windows(session)
    with indexed.session() as session:
        assert vector_repo.windowed_upto(session) == 0
        assert vector_repo.signature_contents(session) == []


def test_windows_cut_from_real_logs_cover_every_event_once(indexed: Any, settings: Any) -> None:
    update_vector_index(indexed, settings)
    with indexed.session() as session:
        windows = session.execute(
            select(VectorWindow.source_id, VectorWindow.first_event_id, VectorWindow.last_event_id,
                   VectorWindow.event_count, VectorWindow.signature_id)
        ).all()
        events = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
        assert vector_repo.windowed_upto(session) == events == vector_repo.newest_event_id(session)
        assert sum(window.event_count for window in windows) == len(list(session.scalars(select(Event.id))))
        per_signature: dict[int, int] = {}
        for window in windows:
            per_signature[window.signature_id] = per_signature.get(window.signature_id, 0) + 1
        stored = dict(session.execute(select(VectorSignature.id, VectorSignature.window_count)).all())
        assert stored == per_signature
        texts = vector_repo.all_template_texts(session)
        assert texts and all(isinstance(body, str) for body in texts.values())
        for _, ids in vector_repo.signature_contents(session):
            assert all(int(tid) in texts for tid in ids.split())


def test_lock_windows_excludes_a_second_writer_on_postgresql(indexed: Any, database_url: str) -> None:
    with indexed.session() as session:
        vector_repo.lock_windows(session)  # a no-op on SQLite, whose writers are serialised anyway
        if indexed.dialect != "postgresql":
            return
        other = create_engine(indexed.engine.url)
        try:
            with other.connect() as connection:
                taken = connection.scalar(
                    text(f"SELECT pg_try_advisory_xact_lock({vector_repo.WINDOW_LOCK_KEY_SQL})")
                )
                assert taken is False
        finally:
            other.dispose()
