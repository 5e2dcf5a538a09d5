"""The vectors of a question load once, in the caller's thread or in the prefetching one, and a failure while
prefetching is raised where the vectors are asked for."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logchat.errors import StoreError
from logchat.services.answer.retrieval import LazyVectors
from logchat.services.vectors import PendingVectors, load_vectors, update_vector_index


def _counted(load: object) -> tuple[PendingVectors, list[str]]:
    threads: list[str] = []

    def counted() -> object:
        threads.append(threading.current_thread().name)
        return load() if callable(load) else load

    return PendingVectors(1, counted), threads  # type: ignore[arg-type]


def test_prefetched_vectors_are_the_ones_loaded_without_prefetch(indexed_store: tuple[Any, Any]) -> None:
    settings, store = indexed_store
    pending, threads = _counted(lambda: load_vectors(settings, store, keep_files=False))
    lazy = LazyVectors(pending)
    lazy.prefetch()
    lazy.prefetch()  # a second reading that finds its words starts nothing more
    side = lazy()
    assert lazy() is side
    assert threads == ["logchat-vectors"]
    plain, _ = _counted(lambda: load_vectors(settings, store, keep_files=False))  # type: ignore[arg-type]
    unprefetched = LazyVectors(plain)()
    assert side is not None and unprefetched is not None
    assert len(side.templates) == len(unprefetched.templates) > 0
    assert len(side.windows) == len(unprefetched.windows) > 0


def test_without_prefetch_the_vectors_load_in_the_callers_thread() -> None:
    pending, threads = _counted(None)
    lazy = LazyVectors(pending)
    assert lazy() is None
    assert lazy() is None
    assert threads == [threading.current_thread().name]


def test_a_store_without_events_never_loads_even_when_prefetched() -> None:
    lazy = LazyVectors(None)
    lazy.prefetch()
    assert lazy() is None


def test_a_failure_while_prefetching_is_raised_where_the_vectors_are_asked_for() -> None:
    def broken() -> None:
        raise StoreError("the vector index file is damaged")

    lazy = LazyVectors(PendingVectors(1, broken))
    lazy.prefetch()
    with pytest.raises(StoreError, match="damaged"):
        lazy()


@pytest.fixture
def indexed_store(settings: Any, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    from logchat.services.ingest import index_inputs
    from logchat.storage.db import open_store

    log = tmp_path / "app.log"
    log.write_text("".join(f"2026-11-03T10:00:{i % 60:02d}Z ERROR worker-{i % 3} job {i} failed\n" for i in range(300)))
    store = open_store(settings.database_url)
    assert not index_inputs(store, settings, [str(log)]).failed
    update_vector_index(store, settings)
    yield settings, store
    store.close()
