"""Reciprocal rank fusion, vector candidates restricted by filters, and the vector index's upkeep."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from logchat.retrieval import fulltext
from logchat.retrieval.hybrid import VectorSide, hybrid_search, reciprocal_rank_fusion
from logchat.services.vectors import load_vectors, rebuild_vector_index, update_vector_index, vector_dir
from logchat.storage.stats_repo import EventFilter


def test_rrf_rewards_ids_ranked_well_in_both_lists() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 4, 1]])
    assert [item for item, _ in fused][:2] == [1, 3]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 63)
    assert {item for item, _ in fused} == {1, 2, 3, 4}
    assert reciprocal_rank_fusion([[], []]) == []


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _side(settings: Any, store: Any) -> VectorSide:
    loaded = load_vectors(settings, store)
    assert loaded is not None
    return VectorSide(loaded.templates, loaded.windows, loaded.embedder)


def test_vectors_find_wording_the_text_search_does_not_and_obey_filters(
    store: Any, settings: Any, index_logs: Any, tmp_path: Path
) -> None:
    lines = [f"2026-02-01T0{h}:00:0{s}+00:00 db-0{h % 2 + 1} postgres[7]: authentication failed for user app{s}"
             for h in range(4) for s in range(5)]
    lines += [f"2026-02-01T05:00:0{s}+00:00 web-01 nginx[9]: GET /index.html 200" for s in range(5)]
    index_logs([_write(tmp_path / "db.log", lines)])
    with store.session() as session:
        # Misspelt words share no indexed word with the lines, only character trigrams.
        query = fulltext.resolve_query(session, fulltext.parse_text_query("authenticaton falied"))
        assert query.mode == "none"
        result = hybrid_search(session, query=query, query_text="authenticaton falied", flt=EventFilter(),
                               vectors=_side(settings, store), pool=50)
        assert result.fulltext == [] and result.vector
        hosts_filter = EventFilter(hosts=["db-02"], since=datetime(2026, 2, 1, 1, tzinfo=UTC),
                                   until=datetime(2026, 2, 1, 2, tzinfo=UTC))
        restricted = hybrid_search(session, query=query, query_text="authenticaton falied", flt=hosts_filter,
                                   vectors=_side(settings, store), pool=50)
        from logchat.storage.search_repo import fetch_events

        rows = fetch_events(session, restricted.vector)
        assert rows and {row.host for row in rows.values()} == {"db-02"}
        assert all(row.ts is not None and row.ts.hour == 1 for row in rows.values())
        assert all(row.process == "postgres" for row in rows.values())


def test_a_million_repeats_cost_one_template_and_one_window_content(
    store: Any, settings: Any, index_logs: Any, tmp_path: Path
) -> None:
    lines = [f"2026-02-01T00:{i // 60 % 60:02d}:{i % 60:02d}+00:00 web-01 app[1]: heartbeat ok" for i in range(3000)]
    index_logs([_write(tmp_path / "beat.log", lines)])
    loaded = load_vectors(settings, store)
    assert loaded is not None
    assert len(loaded.templates) == 1
    assert len(loaded.windows) == 1  # 150 windows of 20 events, one content
    assert loaded.events_upto == 3000


def test_updates_are_incremental_and_rebuild_starts_over(
    store: Any, settings: Any, index_logs: Any, tmp_path: Path
) -> None:
    first = [f"2026-02-01T00:00:{s:02d}+00:00 web-01 app[1]: job {s} started" for s in range(30)]
    index_logs([_write(tmp_path / "a.log", first)])
    again = update_vector_index(store, settings)
    assert (again.events_windowed, again.templates_embedded, again.signatures_embedded) == (0, 0, 0)
    second = [f"2026-02-01T01:00:{s:02d}+00:00 web-02 app[2]: disk quota exceeded on /dev/sd{s % 3}" for s in range(10)]
    from logchat.services.ingest import index_inputs

    ingested = index_inputs(store, settings, [str(_write(tmp_path / "b.log", second))])
    # The ingest cut its events' windows itself; the update that follows counts them as its own.
    assert ingested.windows_cut is not None
    assert (ingested.windows_cut.events, ingested.windows_cut.windows, ingested.windows_cut.signatures) == (10, 1, 1)
    report = update_vector_index(store, settings, cut=ingested.windows_cut)
    assert report.events_windowed == 10 and report.windows_added == 1 and report.signatures_added == 1
    assert report.templates_embedded >= 1 and report.signatures_embedded == 1
    assert not report.rebuilt
    rebuilt = rebuild_vector_index(store, settings)
    assert rebuilt.rebuilt and rebuilt.events_windowed == 40
    assert rebuilt.template_vectors == report.template_vectors
    names = sorted(path.name for path in vector_dir(settings).iterdir() if not path.name.startswith("."))
    assert names == ["meta.json", "templates.faiss", "windows.faiss"]


def test_a_different_embedder_configuration_re_embeds_everything(
    store: Any, settings: Any, index_logs: Any, tmp_path: Path
) -> None:
    index_logs([_write(tmp_path / "a.log", ["2026-02-01T00:00:00+00:00 h app[1]: hello world"])])
    other = settings.model_copy(update={"embeddings": settings.embeddings.model_copy(update={"dimensions": 64})})
    assert load_vectors(other, store) is None  # vectors of another space are not used
    report = update_vector_index(store, other)
    assert report.rebuilt and report.template_vectors == 1
    loaded = load_vectors(other, store)
    assert loaded is not None and loaded.templates.dimensions == 64
