"""Usage analytics over real stores (SQLite and PostgreSQL): question shapes, counts per day and per
user, percentiles against known data (and against PostgreSQL's own percentile_cont), unanswered
questions, retention, and an answer that still goes out when its record cannot be kept."""

from __future__ import annotations

import logging
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from logchat.services.ask import AskRequest, ask
from logchat.services.usage import UsageQuery, prune, question_shape, question_shapes, record_answer, summary
from logchat.storage import usage_repo
from logchat.storage.models import UsageRecord, UsageScope

DAY = datetime(2026, 3, 1, tzinfo=UTC)


def test_similar_questions_share_a_shape() -> None:
    assert question_shape("How many errors on web-03?") == question_shape("how many errors on WEB-07") \
        == "how many errors on web-<NUM>"
    assert question_shape("who logged in from 10.0.0.1 at 10:42?") == "who logged in from <IP> at <NUM>"
    assert question_shape('lines with "disk full" since 2026-01-05') \
        == question_shape("lines with 'quota' since 2025-12-31")
    assert question_shape("what's failing for bob@example.com") == "what's failing for <EMAIL>"
    assert question_shape("request 0f8fad5b-d9cb-469f-a165-70867728950e?") == "request <UUID>"
    # Hosts, sources and processes the question was scoped to are variables too, whatever they look like.
    assert question_shape("errors on alpha", hosts=["alpha"]) == question_shape("Errors on BETA", hosts=["beta"]) \
        == "errors on <HOST>"
    assert question_shape("sshd errors in auth", processes=["sshd"], sources=["auth"]) \
        == "<PROCESS> errors in <SOURCE>"


def test_a_secret_in_a_question_never_reaches_its_shape() -> None:
    shape = question_shape("why does login with password=hunter2 and token ghp_abcdefghijklmnopqrstuvwx fail")
    assert "hunter2" not in shape and "ghp_abcdefghijklmnopqrstuvwx" not in shape
    assert "password=***" in shape


def _add(store: Any, at: datetime, *, actor: str = "alice", mode: str = "extractive", matched: int = 3,
         total: float = 10.0, shape: str = "errors", front_end: str = "http", llm_ms: float = 0.0,
         first_token: float | None = None, llm_error: str | None = None,
         scopes: tuple[tuple[str, str], ...] = ()) -> None:
    with store.session() as session:
        usage_repo.add(session, UsageRecord(
            at=at, actor=actor, actor_id=None, front_end=front_end, mode=mode, matched=matched, total_ms=total,
            parse_ms=1.0, retrieve_ms=2.0, llm_ms=llm_ms, first_token_ms=first_token, llm_error=llm_error,
            session=None, shape=shape, request_id=None,
        ), scopes)  # fmt: skip


def _expected(values: list[float]) -> dict[str, float]:
    """percentile_cont's answer: linear interpolation between the closest ranks."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {f"p{p}": round(cuts[p - 1], 1) for p in (50, 90, 95, 99)}


def test_percentiles_are_exact_on_known_data(store: Any) -> None:
    llm = [120.0, 80.0, 400.0, 95.5, 210.0, 3000.0, 150.0]
    extractive = [float(n) for n in range(1, 31)]  # 1 … 30
    for index, value in enumerate(llm):
        _add(store, DAY + timedelta(minutes=index), mode="llm", total=value, llm_ms=value / 2,
             first_token=value / 4)
    for index, value in enumerate(extractive):
        _add(store, DAY + timedelta(hours=1, minutes=index), total=value)

    latency = summary(store, UsageQuery())["latency_ms"]
    for group, values in (("all", llm + extractive), ("llm", llm), ("extractive", extractive)):
        stats = latency["total"][group]
        assert {key: stats[key] for key in ("p50", "p90", "p95", "p99")} == _expected(values), group
        assert stats["count"] == len(values) and stats["max"] == max(values)
        assert stats["mean"] == round(sum(values) / len(values), 1)
    assert latency["llm"]["llm"]["p50"] == _expected([v / 2 for v in llm])["p50"]
    assert latency["first_token"]["llm"]["count"] == len(llm)
    assert set(latency["llm"]) == {"llm"}  # model time only for the answers the model wrote

    if not store.is_sqlite:
        # The portable window query agrees with PostgreSQL's own percentile_cont.
        with store.session() as session:
            native = session.execute(text(
                "SELECT percentile_cont(ARRAY[0.5, 0.9, 0.95, 0.99]) WITHIN GROUP (ORDER BY total_ms) "
                "FROM usage_questions")).scalar_one()
        stats = latency["total"]["all"]
        assert [stats[key] for key in ("p50", "p90", "p95", "p99")] == [round(v, 1) for v in native]


def test_one_and_two_values_and_no_values(store: Any) -> None:
    assert summary(store, UsageQuery())["latency_ms"]["total"] == {}
    _add(store, DAY, total=42.0)
    one = summary(store, UsageQuery())["latency_ms"]["total"]["all"]
    assert one["p50"] == one["p99"] == one["max"] == 42.0
    _add(store, DAY, total=52.0)
    two = summary(store, UsageQuery())["latency_ms"]["total"]["all"]
    assert (two["p50"], two["p90"], two["p99"]) == (47.0, 51.0, 51.9)


def test_counts_per_day_per_user_and_the_window(store: Any) -> None:
    _add(store, DAY + timedelta(hours=1), actor="alice", mode="llm", llm_ms=5.0)
    _add(store, DAY + timedelta(hours=23, minutes=59), actor="bob", matched=0, shape="unicorns in <HOST>")
    _add(store, DAY + timedelta(days=1), actor="alice", front_end="cli")
    _add(store, DAY + timedelta(days=1, hours=2), actor="alice", mode="extractive", llm_error="the model failed")
    _add(store, DAY + timedelta(days=3), actor="os:carol", matched=0, shape="unicorns in <HOST>", front_end="cli")

    result = summary(store, UsageQuery())
    assert [(d["day"], d["questions"], d["users"], d["unanswered"]) for d in result["per_day"]] == [
        ("2026-03-01", 2, 2, 1), ("2026-03-02", 2, 1, 0), ("2026-03-04", 1, 1, 1)]
    assert [(u["user"], u["questions"], u["llm"], u["unanswered"]) for u in result["per_user"]] == [
        ("alice", 3, 1, 0), ("bob", 1, 0, 1), ("os:carol", 1, 0, 1)]
    assert result["per_user"][0]["last_at"] == DAY + timedelta(days=1, hours=2)
    totals = result["totals"]
    assert (totals["questions"], totals["users"], totals["llm"], totals["extractive"]) == (5, 3, 1, 4)
    assert (totals["llm_share"], totals["llm_errors"], totals["unanswered"]) == (0.2, 1, 2)
    assert totals["by_front_end"] == {"cli": 2, "http": 3}
    assert result["unanswered"] == [{"shape": "unicorns in <HOST>", "questions": 2, "users": 2,
                                     "last_at": DAY + timedelta(days=3)}]
    assert [(s["shape"], s["questions"], s["unanswered"]) for s in result["top_shapes"]] == [
        ("errors", 3, 0), ("unicorns in <HOST>", 2, 2)]

    # The window is [since, until), like every other time filter.
    window = summary(store, UsageQuery(since=DAY + timedelta(days=1), until=DAY + timedelta(days=3)))
    assert window["totals"]["questions"] == 2 and [d["day"] for d in window["per_day"]] == ["2026-03-02"]
    bob = summary(store, UsageQuery(user="bob"))
    assert bob["totals"]["questions"] == 1 and bob["per_user"][0]["user"] == "bob"
    assert question_shapes(store, UsageQuery(), unanswered=True)["shapes"][0]["shape"] == "unicorns in <HOST>"
    assert len(summary(store, UsageQuery(top=1))["per_user"]) == 1


def test_most_asked_about_sources_and_hosts(store: Any) -> None:
    _add(store, DAY, scopes=(("source", "nginx"), ("host", "web-01"), ("answered_from", "nginx")))
    _add(store, DAY, scopes=(("source", "nginx"), ("answered_from", "nginx"), ("answered_from", "auth")))
    _add(store, DAY, scopes=(("answered_from", "auth"),))
    result = summary(store, UsageQuery())
    assert result["top_sources"] == [{"name": "nginx", "questions": 2}]
    assert result["top_hosts"] == [{"name": "web-01", "questions": 1}]
    assert result["answered_from"] == [{"name": "auth", "questions": 2}, {"name": "nginx", "questions": 2}]


def test_pruning_removes_old_records_with_their_scopes(store: Any) -> None:
    _add(store, DAY, scopes=(("host", "old"),))
    _add(store, DAY + timedelta(days=10), scopes=(("host", "new"),))
    assert prune(store, DAY + timedelta(days=5)) == 1
    with store.session() as session:
        assert session.scalars(select(UsageScope.value)).all() == ["new"]
    assert summary(store, UsageQuery())["totals"]["questions"] == 1


def test_an_answer_is_recorded_with_its_mode_matches_and_timings(small_store: Any, settings: Any) -> None:
    result = ask(small_store, settings, AskRequest(question="failed password for root on web-01", use_llm=False,
                                                   now=datetime(2026, 1, 5, 12, tzinfo=UTC)))
    record_answer(small_store, result, front_end="cli", total_ms=123.4)
    with small_store.session() as session:
        row = session.scalars(select(UsageRecord)).one()
        scopes = set(session.execute(select(UsageScope.kind, UsageScope.value)).all())
    data = result.to_json()
    assert (row.mode, row.matched, row.front_end, row.total_ms) == ("extractive", data["matched"], "cli", 123.4)
    assert row.matched == 2
    assert row.retrieve_ms == data["timings_ms"]["retrieve"] and row.llm_error is None
    assert row.actor.startswith("os:") and row.shape == "failed password for root on <HOST>"
    assert scopes == {("host", "web-01"), ("answered_from", "auth.log")}


def test_a_record_that_cannot_be_kept_never_fails_the_answer(
    store: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    result = ask(store, settings, AskRequest(question="q", use_llm=False))
    assert result.to_json()["matched"] == 0
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE usage_scopes"))
        conn.execute(text("DROP TABLE usage_questions"))
    with caplog.at_level(logging.ERROR, logger="logchat.services.usage"):
        record_answer(store, result, front_end="http", total_ms=1.0)  # no exception
    assert "could not record the usage of an answer" in caplog.text
