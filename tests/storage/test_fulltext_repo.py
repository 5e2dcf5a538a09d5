"""Full-text SQL on both backends: safe quoting, verbatim identifiers, stemming, template matching, ranking."""

from __future__ import annotations

from typing import Any

from logchat.retrieval.fulltext import ResolvedQuery, parse_text_query, resolve_query
from logchat.storage import fulltext_repo, search_repo


def _resolved(session: Any, text: str, keywords: tuple[str, ...] = ()) -> ResolvedQuery:
    return resolve_query(session, parse_text_query(text, keywords))


def _count(store: Any, text: str, keywords: tuple[str, ...] = ()) -> int:
    with store.session() as session:
        return fulltext_repo.count_matches(session, _resolved(session, text, keywords), [])


def _lines(store: Any, text: str, keywords: tuple[str, ...] = ()) -> list[int]:
    from logchat.storage.search_repo import fetch_events

    with store.session() as session:
        found = fulltext_repo.search_events(session, _resolved(session, text, keywords), [], 50)
        ids = [event_id for event_id, _ in found]
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


def test_a_query_without_text_or_that_cannot_match_has_no_or_a_false_condition(small_store: Any) -> None:
    with small_store.session() as session:
        assert fulltext_repo.match_condition(session, ResolvedQuery()) is None
        assert fulltext_repo.search_events(session, ResolvedQuery(mode="impossible"), [], 10) == []
        assert fulltext_repo.count_matches(session, ResolvedQuery(mode="impossible"), []) == 0


def test_templates_whose_fixed_text_matches_are_found_on_sqlite(small_store: Any) -> None:
    with small_store.session() as session:
        resolved = _resolved(session, "failed password")
        full = fulltext_repo.templates_fully_matching(session, resolved)
        hits = fulltext_repo.fts_hits(session, resolved)
        if small_store.is_sqlite:
            assert full and hits == 3
        else:
            assert full == frozenset() and hits is None


def test_hits_counted_up_to_a_bound_say_whether_there_are_more(small_store: Any) -> None:
    with small_store.session() as session:
        resolved = _resolved(session, "failed password")
        if not small_store.is_sqlite:
            assert fulltext_repo.fts_hits(session, resolved, up_to=1) is None
            return
        assert fulltext_repo.fts_hits(session, resolved, up_to=1) == 2  # "more than one"
        assert fulltext_repo.fts_hits(session, resolved, up_to=2) == 3  # "more than two"
        assert fulltext_repo.fts_hits(session, resolved, up_to=3) == 3  # all of them
        assert fulltext_repo.fts_hits(session, resolved, up_to=1) == 2  # from the complete count
    with small_store.session() as session:
        # A bounded count first, a complete one after it in the same transaction: counted again.
        assert fulltext_repo.fts_hits(session, resolved, up_to=0) == 1
        assert fulltext_repo.fts_hits(session, resolved) == 3 == _count(small_store, "failed password")


def test_words_of_a_term_that_hold_all_the_words_of_another_match_nothing_more(small_store: Any) -> None:
    from logchat.retrieval.fulltext import Term

    # "root" stands for lines with "root"; "root 10" and "10 root root" are lines with "root" anyway, and
    # "failed password" stays a way of its own.
    term = Term(text="root", tokens=("root",), alternatives=("root 10", "10 root root", "failed password"))
    resolved = ResolvedQuery(required=(term,), mode="all")
    with small_store.session() as session:
        found = fulltext_repo.search_events(session, resolved, [], 50)
        rows = search_repo.fetch_events(session, [event_id for event_id, _ in found])
        assert sorted(row.line_no for row in rows.values()) == [1, 2, 3]  # the "Failed password" lines
        assert fulltext_repo.count_matches(session, resolved, []) == 3
        walk = fulltext_repo.index_walk(session, resolved)
    if small_store.is_sqlite:
        assert walk is not None and walk[0] == '{message process} : ((("root") OR ("failed" AND "password")))'


def test_ranking_by_recency_and_by_score_return_the_same_set(small_store: Any) -> None:
    with small_store.session() as session:
        resolved = _resolved(session, "port")
        by_score = fulltext_repo.search_events(session, resolved, [], 10, by_recency=False)
        by_time = fulltext_repo.search_events(session, resolved, [], 10, by_recency=True)
        assert sorted(by_score) != [] and {i for i, _ in by_score} == {i for i, _ in by_time}
        assert [i for i, _ in by_time] == sorted((i for i, _ in by_time), reverse=True)
