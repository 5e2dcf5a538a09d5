"""Text queries against the store on both backends: dropped words, synonyms, relaxation, filtered search.

The SQL itself (quoting, identifiers, stemming, ranking) is tested in tests/storage/test_fulltext_repo.py.
"""

from __future__ import annotations

from typing import Any

from logchat.retrieval import fulltext
from logchat.storage import fulltext_repo


def _count(store: Any, text: str, keywords: tuple[str, ...] = ()) -> int:
    with store.session() as session:
        resolved = fulltext.resolve_query(session, fulltext.parse_text_query(text, keywords))
        return fulltext_repo.count_matches(session, resolved, [])


def test_words_no_event_contains_are_dropped_and_identifiers_are_not(small_store: Any) -> None:
    with small_store.session() as session:
        resolved = fulltext.resolve_query(session, fulltext.parse_text_query("failed zebra password"))
        assert resolved.mode == "all" and resolved.dropped == ("zebra",)
        missing = fulltext.resolve_query(session, fulltext.parse_text_query("failed 10.9.9.9", ["10.9.9.9"]))
        assert missing.mode == "impossible" and missing.missing == ("10.9.9.9",)
        assert fulltext_repo.count_matches(session, missing, []) == 0
        empty = fulltext.resolve_query(session, fulltext.parse_text_query("zebra giraffe"))
        assert empty.mode == "none" and not empty.has_condition


def test_an_absent_word_is_replaced_by_synonyms_that_occur(small_store: Any) -> None:
    with small_store.session() as session:
        resolved = fulltext.resolve_query(session, fulltext.parse_text_query("logins"))
        assert resolved.expanded["logins"]
        assert fulltext_repo.count_matches(session, resolved, []) == 4  # password x3, authentication x1


def test_relax_leaves_out_the_word_that_never_occurs_with_the_others(small_store: Any) -> None:
    with small_store.session() as session:
        resolved = fulltext.resolve_query(session, fulltext.parse_text_query("failed password replicated root"))
        assert fulltext_repo.count_matches(session, resolved, []) == 0
        relaxed = fulltext.relax(session, resolved, [])
        assert relaxed is not None and relaxed.unmatched == ("replicated",)
        assert fulltext_repo.count_matches(session, relaxed, []) == 2


def test_filters_restrict_the_search(small_store: Any) -> None:
    from logchat.storage.stats_repo import EventFilter

    with small_store.session() as session:
        resolved = fulltext.resolve_query(session, fulltext.parse_text_query("failed password"))
        conditions = EventFilter(hosts=["web-02"]).conditions(session)
        assert fulltext_repo.count_matches(session, resolved, conditions) == 1
        assert len(fulltext.search(session, resolved, conditions, 10)) == 1


def test_a_few_hits_are_ranked_by_score(small_store: Any) -> None:
    with small_store.session() as session:
        resolved = fulltext.resolve_query(session, fulltext.parse_text_query("port"))
        by_score = fulltext_repo.search_events(session, resolved, [], 10, by_recency=False)
        assert by_score and fulltext.search(session, resolved, [], 10) == by_score
