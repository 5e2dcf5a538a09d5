"""Full-text search on both backends: safe quoting, verbatim identifiers, stemming, dropped words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from logchat.retrieval import fulltext

LINES = [
    "2026-01-05T10:00:00+00:00 web-01 sshd[10]: Failed password for root from 10.0.0.1 port 22 ssh2",
    "2026-01-05T10:00:01+00:00 web-01 sshd[11]: Failed password for root from 10.0.0.12 port 22 ssh2",
    "2026-01-05T10:00:02+00:00 web-02 sshd[12]: Failed password for admin from 110.0.0.1 port 22 ssh2",
    "2026-01-05T10:00:03+00:00 web-02 sshd[13]: Connection rejected from 10.0.0.1.",
    "2026-01-05T10:00:04+00:00 web-02 app[14]: block blk_-42 replicated, blk_42 kept",
    '2026-01-05T10:00:05+00:00 web-03 app[15]: user said "hello (world)" AND NEAR: *',
    "2026-01-05T10:00:06+00:00 web-03 app[16]: authentication failure for alice",
]


@pytest.fixture
def small_store(store: Any, index_logs: Any, tmp_path: Path) -> Any:
    path = tmp_path / "auth.log"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    index_logs([path])
    return store


def _count(store: Any, text: str, keywords: tuple[str, ...] = ()) -> int:
    with store.session() as session:
        resolved = fulltext.resolve_query(session, fulltext.parse_text_query(text, keywords))
        return fulltext.count_matches(session, resolved, [])


def _lines(store: Any, text: str, keywords: tuple[str, ...] = ()) -> list[int]:
    from logchat.storage.search_repo import fetch_events

    with store.session() as session:
        resolved = fulltext.resolve_query(session, fulltext.parse_text_query(text, keywords))
        ids = [event_id for event_id, _ in fulltext.search(session, resolved, [], 50)]
        rows = fetch_events(session, ids)
        return sorted(rows[event_id].line_no for event_id in ids)


def test_identifiers_match_verbatim_with_boundaries(small_store: Any) -> None:
    assert _lines(small_store, "10.0.0.1", ("10.0.0.1",)) == [1, 4]  # not 10.0.0.12, not 110.0.0.1
    assert _lines(small_store, "root 10.0.0.12", ("10.0.0.12",)) == [2]
    assert _lines(small_store, "blk_-42", ("blk_-42",)) == [5]
    assert _count(small_store, "blk_42", ("blk_42",)) == 1


def test_words_are_stemmed(small_store: Any) -> None:
    assert _lines(small_store, "rejects") == [4]
    assert _count(small_store, "failed passwords") == 3


def test_query_syntax_in_user_text_is_harmless(small_store: Any) -> None:
    for text in ('"hello (world)" AND NEAR: *', 'NEAR(x y', '" OR "', "col:value", "-", "a AND", "^*"):
        _count(small_store, text)  # no syntax error, whatever the text
    assert _count(small_store, '"hello (world)"') == 1


def test_words_no_event_contains_are_dropped_and_identifiers_are_not(small_store: Any) -> None:
    with small_store.session() as session:
        resolved = fulltext.resolve_query(session, fulltext.parse_text_query("failed zebra password"))
        assert resolved.mode == "all" and resolved.dropped == ("zebra",)
        missing = fulltext.resolve_query(session, fulltext.parse_text_query("failed 10.9.9.9", ["10.9.9.9"]))
        assert missing.mode == "impossible" and missing.missing == ("10.9.9.9",)
        assert fulltext.count_matches(session, missing, []) == 0
        empty = fulltext.resolve_query(session, fulltext.parse_text_query("zebra giraffe"))
        assert empty.mode == "none" and not empty.has_condition


def test_an_absent_word_is_replaced_by_synonyms_that_occur(small_store: Any) -> None:
    with small_store.session() as session:
        resolved = fulltext.resolve_query(session, fulltext.parse_text_query("logins"))
        assert resolved.expanded["logins"]
        assert fulltext.count_matches(session, resolved, []) == 4  # password x3, authentication x1


def test_relax_leaves_out_the_word_that_never_occurs_with_the_others(small_store: Any) -> None:
    with small_store.session() as session:
        resolved = fulltext.resolve_query(session, fulltext.parse_text_query("failed password replicated root"))
        assert fulltext.count_matches(session, resolved, []) == 0
        relaxed = fulltext.relax(session, resolved, [])
        assert relaxed is not None and relaxed.unmatched == ("replicated",)
        assert fulltext.count_matches(session, relaxed, []) == 2


def test_filters_restrict_the_search(small_store: Any) -> None:
    from logchat.storage.stats_repo import EventFilter

    with small_store.session() as session:
        resolved = fulltext.resolve_query(session, fulltext.parse_text_query("failed password"))
        conditions = EventFilter(hosts=["web-02"]).conditions(session)
        assert fulltext.count_matches(session, resolved, conditions) == 1
        assert len(fulltext.search(session, resolved, conditions, 10)) == 1


def test_templates_whose_fixed_text_matches_are_found_on_sqlite(small_store: Any) -> None:
    with small_store.session() as session:
        resolved = fulltext.resolve_query(session, fulltext.parse_text_query("failed password"))
        full = fulltext.templates_fully_matching(session, resolved)
        hits = fulltext.fts_hits(session, resolved)
        if small_store.is_sqlite:
            assert full and hits == 3
        else:
            assert full == frozenset() and hits is None


def test_ranking_by_recency_and_by_score_return_the_same_set(small_store: Any) -> None:
    with small_store.session() as session:
        resolved = fulltext.resolve_query(session, fulltext.parse_text_query("port"))
        by_score = fulltext.search(session, resolved, [], 10, by_recency=False)
        by_time = fulltext.search(session, resolved, [], 10, by_recency=True)
        assert sorted(by_score) != [] and {i for i, _ in by_score} == {i for i, _ in by_time}
        assert [i for i, _ in by_time] == sorted((i for i, _ in by_time), reverse=True)
