"""An ingest cuts its events into vector windows as it commits them, instead of the vector update reading
every new event back: the windows, their contents and the vectors must be those that reading back gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from logchat.services.ingest import index_inputs
from logchat.services.vectors import (
    rebuild_vector_index,
    save_ingested_windows,
    start_window_cutter,
    update_vector_index,
)
from logchat.storage import vector_repo
from logchat.storage.models import VectorEmbedding, VectorSignature, VectorWindow
from logchat.vocabulary import EVENT_COLUMNS

SYSTEMS = ("OpenSSH", "HDFS", "Spark")


def _small_batches(settings: Any) -> Any:
    # Batches of 50 events and windows of 7: windows straddle batches, and every source ends with a partial one.
    return settings.model_copy(update={
        "ingest": settings.ingest.model_copy(update={"batch_size": 50}),
        "retrieval": settings.retrieval.model_copy(update={"window_size": 7}),
    })  # fmt: skip


def _windows(store: Any) -> list[tuple[Any, ...]]:
    """Every window in the order it was saved, its signature named by its content, not by its id."""
    with store.session() as session:
        contents = dict(session.execute(select(VectorSignature.id, VectorSignature.template_ids)).all())
        rows = session.execute(select(
            VectorWindow.source_id, VectorWindow.signature_id, VectorWindow.first_event_id,
            VectorWindow.last_event_id, VectorWindow.first_ts, VectorWindow.last_ts, VectorWindow.event_count,
        ).order_by(VectorWindow.id)).all()  # fmt: skip
    return [(source, contents[signature], *rest) for source, signature, *rest in rows]


def _signatures(store: Any) -> list[tuple[Any, ...]]:
    with store.session() as session:
        return [tuple(row) for row in session.execute(select(
            VectorSignature.id, VectorSignature.key, VectorSignature.template_ids, VectorSignature.window_count,
        ).order_by(VectorSignature.id))]  # fmt: skip


def _vectors(store: Any) -> list[tuple[Any, ...]]:
    with store.session() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(VectorEmbedding.kind, VectorEmbedding.item_id, VectorEmbedding.text_hash, VectorEmbedding.vector)
                .where(VectorEmbedding.embedder != "")
                .order_by(VectorEmbedding.kind, VectorEmbedding.item_id)
            )
        ]


def _event_row(event_id: int, source_id: int, template_id: int | None, ts: int | None) -> tuple[Any, ...]:
    """A row as the ingest hands it to the writer, holding only what a window needs."""
    values = {"id": event_id, "source_id": source_id, "template_id": template_id, "ts": ts}
    return tuple(values.get(name) for name in EVENT_COLUMNS)


def _paths(loghub: Path, systems: tuple[str, ...]) -> list[str]:
    return [str(loghub / name / f"{name}_2k.log") for name in systems]


def test_an_ingest_saves_the_windows_that_reading_its_events_back_cuts(store: Any, settings: Any, loghub: Path) -> None:
    settings = _small_batches(settings)
    report = index_inputs(store, settings, _paths(loghub, SYSTEMS))
    assert not report.failed and report.new_events > 5000
    cut = report.windows_cut
    assert cut is not None and cut.events == report.new_events
    with store.session() as session:
        assert vector_repo.windowed_upto(session) == vector_repo.newest_event_id(session)
    updated = update_vector_index(store, settings, cut=cut)
    assert (updated.events_windowed, updated.windows_added, updated.signatures_added) == (
        cut.events,
        cut.windows,
        cut.signatures,
    )
    windows, signatures, vectors = _windows(store), _signatures(store), _vectors(store)
    assert len(windows) == cut.windows > report.new_events // 7

    rebuilt = rebuild_vector_index(store, settings)  # every event read back from the store and cut again
    assert (rebuilt.events_windowed, rebuilt.windows_added) == (cut.events, cut.windows)
    assert _windows(store) == windows
    assert _signatures(store) == signatures
    assert _vectors(store) == vectors


def test_a_second_run_goes_on_from_the_windows_of_the_first(store: Any, settings: Any, loghub: Path) -> None:
    settings = _small_batches(settings)
    first = index_inputs(store, settings, _paths(loghub, SYSTEMS[:2]))
    update_vector_index(store, settings, cut=first.windows_cut)
    second = index_inputs(store, settings, _paths(loghub, SYSTEMS[2:]))
    assert second.windows_cut is not None and second.windows_cut.events == second.new_events > 0
    update_vector_index(store, settings, cut=second.windows_cut)
    windows = _windows(store)
    # Each run closed its sources' last windows; a rebuild closes them at the end of all the events, so only
    # the order in which windows were saved may differ (the runs read different files).
    rebuild_vector_index(store, settings)
    assert sorted(_windows(store)) == sorted(windows)


def test_events_left_without_windows_are_read_back_by_the_update(store: Any, settings: Any, loghub: Path) -> None:
    settings = _small_batches(settings)
    index_inputs(store, settings, _paths(loghub, SYSTEMS[:1]))
    with store.session() as session:  # as a run killed between its last batch and its windows leaves them
        vector_repo.lock_windows(session)
        vector_repo.lock_embeddings(session)
        vector_repo.forget_windows(session)
    report = index_inputs(store, settings, _paths(loghub, SYSTEMS[1:2]))
    assert report.windows_cut is None  # the older events come first: only the store has them
    with store.session() as session:
        assert vector_repo.windowed_upto(session) == 0
    updated = update_vector_index(store, settings, cut=report.windows_cut)
    with store.session() as session:
        assert updated.events_windowed == vector_repo.newest_event_id(session)
    windows = _windows(store)
    rebuild_vector_index(store, settings)
    assert _windows(store) == windows


def test_windows_cut_by_another_process_meanwhile_are_not_saved_twice(store: Any, settings: Any, loghub: Path) -> None:
    settings = _small_batches(settings)
    index_inputs(store, settings, _paths(loghub, SYSTEMS[:1]))
    cutter = start_window_cutter(store, settings)
    assert cutter is not None
    # Events added and windowed by someone else after the cutter was made: fed to it all the same, its windows
    # would describe events that already have theirs.
    index_inputs(store, settings, _paths(loghub, SYSTEMS[1:2]))
    before = _windows(store)
    with store.session() as session:
        for rows in vector_repo.events_after(session, cutter.after, vector_repo.newest_event_id(session)):
            cutter.feed([_event_row(*row) for row in rows])
    assert cutter.events > 0
    assert save_ingested_windows(store, cutter) is None
    assert _windows(store) == before
