"""Several processes on one database, each with its own data directory: the database holds the vectors,
every process searches the same ones, and none embeds what another already embedded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select, text

from logchat.config import load_settings
from logchat.retrieval import fulltext
from logchat.retrieval.hybrid import VectorSide, hybrid_search
from logchat.services.ingest import index_inputs
from logchat.services.vectors import (
    LoadedVectors,
    load_vectors,
    rebuild_vector_index,
    update_vector_index,
    vector_index_current,
)
from logchat.storage import vector_repo
from logchat.storage.db import Store, open_store
from logchat.storage.models import Event, Template, VectorEmbedding, VectorSignature
from logchat.storage.stats_repo import EventFilter

UNREACHABLE = "http://127.0.0.1:9"  # nothing listens on the discard port: any model call fails

DAY_ONE = [
    f"2026-03-01T10:00:{s:02d}+00:00 db-01 postgres[7]: authentication failed for user app{s % 4}" for s in range(40)
] + [f"2026-03-01T10:01:{s:02d}+00:00 web-01 nginx[9]: GET /health 200 in {s} ms" for s in range(40)]
DAY_TWO = [
    f"2026-03-02T08:00:{s:02d}+00:00 disk-01 kernel[0]: EXT4-fs error on device sd{'abc'[s % 3]}: journal aborted"
    for s in range(30)
] + [f"2026-03-02T08:01:{s:02d}+00:00 disk-01 smartd[3]: reallocated sector count rose to {s}" for s in range(30)]


def _replica(data_dir: Path, database_url: str, base_url: str) -> Any:
    """The settings of one replica: its own data directory, the shared database, an Ollama embedder."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return load_settings(
        data_dir=data_dir,
        database={"url": database_url},
        embeddings={"provider": "ollama", "model": "nomic-embed-text", "base_url": base_url},
    )


def _embed_calls(server: Any) -> int:
    return sum(1 for request in server.requests if request.path == "/api/embed")


def _write(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _contents(index: Any) -> dict[int, bytes]:
    ids, matrix = index.items()
    return {int(item_id): np.asarray(vector, dtype="<f4").tobytes()
            for item_id, vector in zip(ids, matrix, strict=True)}


def _same_vectors(first: LoadedVectors, second: LoadedVectors) -> bool:
    return (_contents(first.templates), _contents(first.windows)) == (
        _contents(second.templates), _contents(second.windows))


def _db_ids(store: Store) -> tuple[set[int], set[int]]:
    with store.session() as session:
        return set(session.scalars(select(Template.id))), set(session.scalars(select(VectorSignature.id)))


def _vector_hits(store: Store, loaded: LoadedVectors, question: str) -> list[int]:
    """The events the vector side of a search finds for ``question``, best first."""
    with store.session() as session:
        query = fulltext.resolve_query(session, fulltext.parse_text_query(question))
        result = hybrid_search(session, query=query, query_text=question, flt=EventFilter(),
                               vectors=VectorSide(loaded.templates, loaded.windows, loaded.embedder), pool=50)
    return result.vector


@pytest.fixture
def two_stores(database_url: str) -> Iterator[tuple[Store, Store]]:
    # One engine each, as two processes would have.
    first, second = open_store(database_url), open_store(database_url)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def test_a_replica_searches_what_another_embedded_without_embedding_it_again(
    database_url: str, tmp_path: Path, fake_ollama: Any, two_stores: tuple[Store, Store]
) -> None:
    store_a, store_b = two_stores
    settings_a = _replica(tmp_path / "replica-a", database_url, fake_ollama.url)
    settings_b = _replica(tmp_path / "replica-b", database_url, fake_ollama.url)

    assert not index_inputs(store_a, settings_a, [_write(tmp_path / "day1.log", DAY_ONE)]).failed
    first = update_vector_index(store_a, settings_a)
    assert first.templates_embedded >= 2 and first.signatures_embedded >= 1
    calls = _embed_calls(fake_ollama)

    # B finds the windows A cut and the vectors A made: it loads them, it embeds nothing.
    report_b = update_vector_index(store_b, settings_b)
    assert (report_b.events_windowed, report_b.templates_embedded, report_b.signatures_embedded) == (0, 0, 0)
    assert report_b.vectors_loaded == first.template_vectors + first.window_vectors
    assert _embed_calls(fake_ollama) == calls
    loaded_a, loaded_b = load_vectors(settings_a, store_a), load_vectors(settings_b, store_b)
    assert loaded_a is not None and loaded_b is not None
    assert _same_vectors(loaded_a, loaded_b)
    assert vector_index_current(store_b, settings_b)

    # A ingests and embeds more; B's next question sees it, loading only the new rows.
    assert not index_inputs(store_a, settings_a, [_write(tmp_path / "day2.log", DAY_TWO)]).failed
    second = update_vector_index(store_a, settings_a)
    assert second.signatures_embedded >= 1 and not second.rebuilt
    calls = _embed_calls(fake_ollama)
    loaded_b = load_vectors(settings_b, store_b)
    assert _embed_calls(fake_ollama) == calls  # loading took no model call
    loaded_a = load_vectors(settings_a, store_a)
    assert loaded_a is not None and loaded_b is not None
    assert _same_vectors(loaded_a, loaded_b)
    templates, signatures = _db_ids(store_a)
    assert set(loaded_b.templates.ids().tolist()) == templates
    assert set(loaded_b.windows.ids().tolist()) == signatures
    assert loaded_b.events_upto == len(DAY_ONE) + len(DAY_TWO)

    # The fake server's vectors carry no meaning, but a text embeds the same way each time: asking
    # with a template's exact text finds that template.
    with store_a.session() as session:
        question = session.scalar(select(Template.template).where(Template.template.contains("journal aborted")))
    assert question
    hits_a = _vector_hits(store_a, loaded_a, question)
    hits_b = _vector_hits(store_b, loaded_b, question)
    assert hits_b and hits_b == hits_a
    with store_b.session() as session:
        hosts = set(session.scalars(select(Event.host).where(Event.id.in_(hits_b))))
    assert "disk-01" in hosts  # the windows A added on day two

    # A rebuilds everything with other windows (signature ids start again and name other contents):
    # B notices and reloads, still without embedding.
    smaller = settings_a.model_copy(update={"retrieval": settings_a.retrieval.model_copy(update={"window_size": 5})})
    rebuilt = rebuild_vector_index(store_a, smaller)
    assert rebuilt.rebuilt and rebuilt.window_vectors != second.window_vectors
    calls = _embed_calls(fake_ollama)
    loaded_b = load_vectors(settings_b, store_b)
    assert _embed_calls(fake_ollama) == calls
    loaded_a = load_vectors(settings_a, store_a)
    assert loaded_a is not None and loaded_b is not None and _same_vectors(loaded_a, loaded_b)
    assert set(loaded_b.windows.ids().tolist()) == _db_ids(store_a)[1]


def test_a_fresh_or_read_only_replica_builds_its_index_from_the_database_with_the_model_unreachable(
    database_url: str, tmp_path: Path, fake_ollama: Any, two_stores: tuple[Store, Store]
) -> None:
    store_a, store_b = two_stores
    settings_a = _replica(tmp_path / "replica-a", database_url, fake_ollama.url)
    assert not index_inputs(store_a, settings_a, [_write(tmp_path / "day1.log", DAY_ONE + DAY_TWO)]).failed
    made = update_vector_index(store_a, settings_a)
    loaded_a = load_vectors(settings_a, store_a)
    assert loaded_a is not None

    # A pod started with an empty data dir, and an embedder it cannot reach (same model name, so the
    # same vector space): every vector comes from the database.
    settings_b = _replica(tmp_path / "fresh", database_url, UNREACHABLE)
    assert not vector_index_current(store_b, settings_b)  # no cache yet
    report = update_vector_index(store_b, settings_b)
    assert (report.templates_embedded, report.signatures_embedded) == (0, 0)
    assert report.vectors_loaded == made.template_vectors + made.window_vectors
    assert vector_index_current(store_b, settings_b)
    meta = json.loads((settings_b.data_dir / "vectors" / "meta.json").read_text(encoding="utf-8"))
    assert meta["version"] == 2 and meta["counts"] == {"template": made.template_vectors,
                                                         "window": made.window_vectors}
    loaded_b = load_vectors(settings_b, store_b)
    assert loaded_b is not None and _same_vectors(loaded_a, loaded_b)

    # A data dir where the cache cannot be written: the vectors still load, every time, from the rows.
    settings_c = _replica(tmp_path / "read-only", database_url, UNREACHABLE)
    (settings_c.data_dir / "vectors").write_text("not a directory", encoding="utf-8")
    loaded_c = load_vectors(settings_c, store_b)
    assert loaded_c is not None and _same_vectors(loaded_a, loaded_c)
    assert update_vector_index(store_b, settings_c).templates_embedded == 0
    assert (settings_c.data_dir / "vectors").read_text(encoding="utf-8") == "not a directory"

    # Another embedder configuration has no vectors in the database yet: it embeds, once.
    hashing = load_settings(data_dir=tmp_path / "hashing", database={"url": database_url})
    assert load_vectors(hashing, store_b) is None
    first = update_vector_index(store_b, hashing)
    assert first.rebuilt and first.templates_embedded == made.template_vectors
    again = update_vector_index(store_a, hashing.model_copy(update={"data_dir": tmp_path / "hashing-2"}))
    assert (again.templates_embedded, again.signatures_embedded) == (0, 0)
    with store_a.session() as session:
        embedders = dict(session.execute(
            select(VectorEmbedding.embedder, func.count()).group_by(VectorEmbedding.embedder)).all())
    assert embedders == {"ollama:nomic-embed-text": made.template_vectors + made.window_vectors,
                         "hashing-v1:384": made.template_vectors + made.window_vectors}


def test_vector_files_from_before_the_database_held_vectors_are_adopted_without_the_model(
    database_url: str, tmp_path: Path, fake_ollama: Any, two_stores: tuple[Store, Store]
) -> None:
    store, _ = two_stores
    settings = _replica(tmp_path / "old", database_url, fake_ollama.url)
    assert not index_inputs(store, settings, [_write(tmp_path / "day1.log", DAY_ONE + DAY_TWO)]).failed
    made = update_vector_index(store, settings)
    before = load_vectors(settings, store)
    assert before is not None
    # What an earlier version left: the same FAISS files under a version 1 meta.json, and windows and
    # signatures in the database but no vector rows.
    directory = settings.data_dir / "vectors"
    with store.session() as session:
        store_id = session.scalar(text("SELECT store_id FROM store_identity"))
        templates = dict(session.execute(select(Template.id, Template.template)).all())
        signatures_upto = session.scalar(select(func.max(VectorSignature.id)))
        session.execute(text("DELETE FROM vector_embeddings"))
    import zlib

    (directory / "meta.json").write_text(json.dumps({
        "version": 1, "embedder": "ollama:nomic-embed-text", "dimensions": 384, "window_size": 20,
        "events_upto": len(DAY_ONE + DAY_TWO), "signatures_upto": signatures_upto, "store_id": store_id,
        "templates": {str(tid): zlib.crc32(body.encode("utf-8")) for tid, body in templates.items()},
    }), encoding="utf-8")

    upgraded = _replica(tmp_path / "old", database_url, UNREACHABLE)  # same files, no model reachable
    report = update_vector_index(store, upgraded)
    assert report.vectors_adopted == made.template_vectors + made.window_vectors
    assert (report.templates_embedded, report.signatures_embedded, report.rebuilt) == (0, 0, False)
    other = _replica(tmp_path / "other", database_url, UNREACHABLE)
    after = load_vectors(other, store)  # another replica gets them from the database
    assert after is not None and _same_vectors(before, after)


_CONCURRENT_UPDATE = """
import json, sys, time
from pathlib import Path
from logchat.config import load_settings
from logchat.services import vectors
from logchat.storage.db import open_store

vectors._EMBED_BATCH = 25  # many small transactions, so that the two processes interleave
data_dir, url, go = sys.argv[1:4]
settings = load_settings(data_dir=Path(data_dir), database={"url": url})
store = open_store(url)
while not Path(go).exists():
    time.sleep(0.005)
print(json.dumps(vectors.update_vector_index(store, settings).to_dict()))
"""


def test_two_processes_updating_at_once_embed_each_item_exactly_once(
    database_url: str, tmp_path: Path, loghub: Path, two_stores: tuple[Store, Store]
) -> None:
    store, _ = two_stores
    settings = load_settings(data_dir=tmp_path / "ingest", database={"url": database_url})
    paths = [str(loghub / name / f"{name}_2k.log") for name in ("OpenSSH", "HDFS", "Spark", "Linux")]
    assert not index_inputs(store, settings, paths).failed
    with store.session() as session:
        # The ingest cut its events' windows itself: forgotten, so that the two updates share that work too.
        vector_repo.lock_windows(session)
        vector_repo.lock_embeddings(session)
        vector_repo.forget_windows(session)
    go = tmp_path / "go"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LOGCHAT_")}
    environment["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                                 environment.get("PYTHONPATH", "")])
    processes = [
        subprocess.Popen([sys.executable, "-c", _CONCURRENT_UPDATE, str(tmp_path / f"replica-{n}"), database_url,
                          str(go)], env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in (1, 2)
    ]
    go.touch()
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        reports.append(json.loads(out))

    templates, signatures = _db_ids(store)
    assert len(signatures) > 100  # enough work for the two to overlap
    with store.session() as session:
        events = session.scalar(select(func.count()).select_from(Event))
    # Between them they cut every window once and embedded every item once.
    assert sum(r["events_windowed"] for r in reports) == events
    assert sum(r["templates_embedded"] for r in reports) == len(templates)
    assert sum(r["signatures_embedded"] for r in reports) == len(signatures)
    with store.session() as session:
        rows = session.execute(select(VectorEmbedding.kind, VectorEmbedding.item_id, VectorEmbedding.text_hash)).all()
    assert sorted((kind, item) for kind, item, _ in rows) == sorted(
        [("template", t) for t in templates] + [("window", s) for s in signatures])
    assert all(text_hash is not None for _, _, text_hash in rows)
    for report in reports:  # and each ended with every vector in its own cache
        assert (report["template_vectors"], report["window_vectors"]) == (len(templates), len(signatures))


def test_a_rebuild_gives_every_new_vector_a_higher_seq_than_any_before(
    database_url: str, tmp_path: Path, two_stores: tuple[Store, Store]
) -> None:
    # What lets a cache trust "the rows above my seq are all that changed", even across a rebuild.
    store, _ = two_stores
    settings = load_settings(data_dir=tmp_path / "data", database={"url": database_url})
    assert not index_inputs(store, settings, [_write(tmp_path / "day1.log", DAY_ONE)]).failed
    update_vector_index(store, settings)
    with store.session() as session:
        before = session.scalar(select(func.max(VectorEmbedding.seq)))
    for _ in range(2):
        rebuild_vector_index(store, settings)
        with store.session() as session:
            lowest, highest = session.execute(
                select(func.min(VectorEmbedding.seq), func.max(VectorEmbedding.seq))
                .where(VectorEmbedding.embedder == "hashing-v1:384")).one()
        assert lowest > before
        before = highest
