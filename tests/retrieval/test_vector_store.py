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


# --- upkeep of the vector files beside a store ------------------------------------------------------------

LINES_A = [f"2026-02-01T10:00:0{i}+00:00 db-01 postgres[7]: authentication failed for user app{i}" for i in range(5)]
LINES_B = [f"2026-02-01T11:00:0{i}+00:00 web-01 nginx[9]: upstream timed out after {i} seconds" for i in range(5)]

# Runs `logchat ARGS...` with the vector files' save held open: the temporary file is there and the
# process sits in the vector step until the test kills it.
_HELD_IN_VECTOR_STEP = """
import os, runpy, sys, tempfile, time
from logchat.retrieval import vector_store

def held_save(self, path):
    handle, _ = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    time.sleep(600)

vector_store.VectorIndex.save = held_save
sys.argv = ["logchat", *sys.argv[1:]]
runpy.run_module("logchat", run_name="__main__")
"""


def _logchat_command(data_dir: Path, database_url: str) -> list[str]:
    return ["--data-dir", str(data_dir), "--database-url", database_url]


def test_index_killed_in_the_vector_step_builds_the_vectors_on_the_next_run(
    database_url: str, data_dir: Path, tmp_path: Path
) -> None:
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    log = tmp_path / "auth.log"
    log.write_text("\n".join(LINES_A) + "\n", encoding="utf-8")
    args = [*_logchat_command(data_dir, database_url), "index", str(log), "--json"]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LOGCHAT_")}
    held = subprocess.Popen([sys.executable, "-c", _HELD_IN_VECTOR_STEP, *args], env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    vectors = data_dir / "vectors"
    deadline = time.monotonic() + 120  # a hang guard, not a timing assertion
    try:
        while not list(vectors.glob(".templates.faiss.*.tmp")):
            assert held.poll() is None, held.stderr.read().decode() if held.stderr else held.returncode
            assert time.monotonic() < deadline, "the index run never reached the vector step"
            time.sleep(0.05)
        os.kill(held.pid, signal.SIGKILL)
    finally:
        held.kill()
        held.wait()
    assert not (vectors / "meta.json").exists()
    again = subprocess.run([sys.executable, "-m", "logchat", *args], env=environment, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert result["new_events"] == 0 and result["sources"][0]["status"] == "unchanged"
    assert result["vectors"] is not None and result["vectors"]["template_vectors"] == 1
    assert result["vectors"]["window_vectors"] >= 1
    assert not list(vectors.glob(".*.tmp"))
    third = subprocess.run([sys.executable, "-m", "logchat", *args], env=environment, capture_output=True, text=True,
                           timeout=120)
    assert json.loads(third.stdout)["vectors"] is None  # up to date: nothing to do


@pytest.mark.parametrize("other_backend", ["sqlite", "postgresql"])
def test_vectors_cached_for_another_database_are_not_used(
    other_backend: str, data_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from sqlalchemy import select

    from logchat.config import load_settings
    from logchat.services.ingest import index_inputs
    from logchat.services.vectors import load_vectors, update_vector_index, vector_index_current
    from logchat.storage.db import open_store
    from logchat.storage.models import Template

    other_url = f"sqlite:///{tmp_path / 'other.db'}" if other_backend == "sqlite" else request.getfixturevalue(
        "postgres_url")
    settings_a = load_settings(data_dir=data_dir, database={"url": f"sqlite:///{data_dir / 'logchat.db'}"})
    settings_b = load_settings(data_dir=data_dir, database={"url": other_url})
    store_a, store_b = open_store(settings_a.database_url), open_store(settings_b.database_url)
    try:
        (tmp_path / "a.log").write_text("\n".join(LINES_A) + "\n", encoding="utf-8")
        (tmp_path / "b.log").write_text("\n".join(LINES_B * 3) + "\n", encoding="utf-8")
        assert not index_inputs(store_a, settings_a, [str(tmp_path / "a.log")]).failed
        update_vector_index(store_a, settings_a)
        assert vector_index_current(store_a, settings_a)
        assert not index_inputs(store_b, settings_b, [str(tmp_path / "b.log")]).failed
        # Same data directory, another database: its ids would name other rows.
        assert load_vectors(settings_b, store_b) is None
        assert not vector_index_current(store_b, settings_b)
        report = update_vector_index(store_b, settings_b)
        assert report.rebuilt
        loaded = load_vectors(settings_b, store_b)
        assert loaded is not None
        with store_b.session() as session:
            assert set(loaded.templates.ids().tolist()) == set(session.scalars(select(Template.id)))
        # The files now cache B's vectors; A's come back from A's own database, not from B's files.
        assert not vector_index_current(store_a, settings_a)
        again = load_vectors(settings_a, store_a)
        assert again is not None
        with store_a.session() as session:
            assert set(again.templates.ids().tolist()) == set(session.scalars(select(Template.id)))
        assert again.store_id != loaded.store_id
    finally:
        store_a.close()
        store_b.close()
