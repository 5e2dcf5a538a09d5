"""FAISS index keyed by store ids: add/replace/remove, search, atomic save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from logchat.retrieval.vector_store import VectorIndex


def _unit(index: int, dims: int = 8) -> np.ndarray:
    vector = np.zeros(dims, dtype=np.float32)
    vector[index] = 1.0
    return vector


def test_search_returns_ids_of_the_store_best_first() -> None:
    index = VectorIndex(8)
    index.add([101, 202, 303], np.stack([_unit(0), _unit(1), _unit(2)]))
    hits = index.search(_unit(1) * 0.9 + _unit(2) * 0.1, 2)
    assert [vector_id for vector_id, _ in hits] == [202, 303]
    assert hits[0][1] > hits[1][1]
    assert index.search(_unit(0), 10)[0] == (101, pytest.approx(1.0))
    assert len(index.search(_unit(0), 10)) == 3


def test_adding_an_existing_id_replaces_its_vector() -> None:
    index = VectorIndex(8)
    index.add([7], _unit(0)[None])
    index.add([7], _unit(5)[None])
    assert len(index) == 1
    assert index.search(_unit(5), 1) == [(7, pytest.approx(1.0))]
    assert np.array_equal(index.reconstruct(7), _unit(5))


def test_remove_and_reconstruct() -> None:
    index = VectorIndex(8)
    index.add([1, 2, 3], np.stack([_unit(0), _unit(1), _unit(2)]))
    assert index.remove([2, 99]) == 1
    assert sorted(index.ids().tolist()) == [1, 3]
    assert index.reconstruct(2) is None
    assert index.search(_unit(1), 3)[0][0] in (1, 3)


def test_save_is_atomic_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "vectors" / "templates.faiss"
    index = VectorIndex(8)
    index.add([5, 6], np.stack([_unit(3), _unit(4)]))
    index.save(path)
    index.add([7], _unit(6)[None])
    index.save(path)  # overwrites in place through a temporary file
    assert sorted(p.name for p in path.parent.iterdir()) == ["templates.faiss"]
    loaded = VectorIndex.load(path)
    assert loaded is not None and len(loaded) == 3
    assert loaded.search(_unit(6), 1)[0][0] == 7
    assert VectorIndex.load(tmp_path / "missing.faiss") is None


def test_the_file_is_a_faiss_index_not_a_pickle(tmp_path: Path) -> None:
    import faiss

    path = tmp_path / "windows.faiss"
    index = VectorIndex(8)
    index.add([1], _unit(0)[None])
    index.save(path)
    assert not path.read_bytes().startswith(b"\x80")  # no pickle protocol header
    assert faiss.read_index(str(path)).ntotal == 1


def test_wrong_shapes_are_refused() -> None:
    index = VectorIndex(8)
    with pytest.raises(ValueError):
        index.add([1, 2], _unit(0)[None])
    with pytest.raises(ValueError):
        index.add([1], np.zeros((1, 4), dtype=np.float32))
    assert index.search(_unit(0), 5) == []
