"""The anomaly report on real indexed lines (SQLite, and PostgreSQL when configured): spikes, drops, new
patterns and level jumps against the week before the window, and clear answers when there is nothing
to compare."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from anomaly_log import (
    DROPPED,
    NEW,
    ONCE,
    SPIKED,
    STEADY,
    WINDOW_END,
    WINDOW_START,
    index_lines,
    week_then_window,
)

from logchat.errors import InvalidTimeRange, UsageError
from logchat.services.anomalies import (
    AnomalyQuery,
    change_score,
    count_increase,
    find_anomalies,
    fold_change_bound,
    parse_baseline,
)


@pytest.fixture
def week_store(store: Any, settings: Any, tmp_path: Path) -> Any:
    index_lines(store, settings, tmp_path / "service.log", week_then_window())
    return store


def _by_template(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["template"]: row for row in report["templates"]}


def test_a_burst_ranks_first_as_a_spike(week_store: Any) -> None:
    report = find_anomalies(week_store, AnomalyQuery(since=WINDOW_START, until=WINDOW_END))
    first = report["templates"][0]
    assert first["template"] == SPIKED and first["kind"] == "spike"
    assert (first["window_count"], first["baseline_count"]) == (30, 14)
    assert first["expected"] == pytest.approx(14 / (7 * 24), abs=0.001)
    assert first["score"] > 7 and first["level"] == "ERROR"  # at least 2**7 times the week's rate
    assert first["first_in_window"] == WINDOW_START + timedelta(minutes=20)
    assert first["example"]["message"].startswith("connection refused by db-")
    assert report["window"] == {"since": WINDOW_START, "until": WINDOW_END, "seconds": 3600.0, "events": 6 + 30 + 3 + 1}
    assert report["baseline"]["since"] == WINDOW_START - timedelta(days=7)
    assert report["notice"] is None


def test_a_template_that_stops_is_a_drop(week_store: Any) -> None:
    dropped = _by_template(find_anomalies(week_store, AnomalyQuery(since=WINDOW_START, until=WINDOW_END)))[DROPPED]
    assert dropped["kind"] == "drop" and dropped["window_count"] == 0
    assert dropped["expected"] == pytest.approx(12.0) and dropped["score"] < -1  # at most half the rate
    assert dropped["last_before_window"] == WINDOW_START - timedelta(minutes=4, seconds=30)
    assert dropped["example"]["time"] == dropped["last_before_window"]  # its last line before it stopped


def test_a_template_never_seen_before_is_new(week_store: Any) -> None:
    report = find_anomalies(week_store, AnomalyQuery(since=WINDOW_START, until=WINDOW_END))
    new = _by_template(report)[NEW]
    assert new["kind"] == "new" and new["window_count"] == 3 and new["baseline_count"] == 0
    assert new["ratio"] is None and new["level"] == "WARNING"
    assert report["counts"] == {"spike": 1, "drop": 1, "new": 1}
    assert STEADY not in _by_template(report)  # a steady rate is no anomaly


def test_one_event_against_none_does_not_outrank_a_real_spike(week_store: Any) -> None:
    # One event where 0.006 were expected is "at least 1.9 times the rate": below the default (doubled).
    listed = find_anomalies(week_store, AnomalyQuery(since=WINDOW_START, until=WINDOW_END))
    assert ONCE not in _by_template(listed) and listed["templates"][0]["template"] == SPIKED
    rows = find_anomalies(week_store, AnomalyQuery(since=WINDOW_START, until=WINDOW_END, min_score=0))["templates"]
    once = _by_template({"templates": rows})[ONCE]
    # Seen before the baseline, so not new; a ratio would rank it first (infinitely more than expected).
    assert once["kind"] == "spike" and (once["window_count"], once["baseline_count"]) == (1, 0)
    assert [row["template"] for row in rows].index(ONCE) > [row["template"] for row in rows].index(SPIKED)
    assert 0 < once["score"] < 1 < rows[0]["score"]


def test_a_level_that_jumped_is_reported(week_store: Any) -> None:
    levels = {row["level"]: row for row in find_anomalies(
        week_store, AnomalyQuery(since=WINDOW_START, until=WINDOW_END))["levels"]}
    assert levels["ERROR"]["kind"] == "spike" and levels["ERROR"]["window_count"] == 30
    assert levels["ERROR"]["baseline_count"] == 14 and levels["ERROR"]["score"] > 5
    assert levels["WARNING"]["kind"] == "spike" and levels["WARNING"]["ratio"] is None


def test_the_default_window_is_the_last_hour_of_the_logs(week_store: Any) -> None:
    report = find_anomalies(week_store, AnomalyQuery())
    # The newest event is at 00:50 on 2026-03-08: the window ends at the next whole minute.
    assert report["window"]["until"] == WINDOW_START + timedelta(minutes=51)
    assert report["window"]["since"] == WINDOW_START - timedelta(minutes=9)
    assert report["templates"][0]["template"] == SPIKED


def test_a_level_filter_keeps_only_those_levels(week_store: Any) -> None:
    report = find_anomalies(week_store, AnomalyQuery(since=WINDOW_START, until=WINDOW_END, level="WARNING"))
    assert [row["template"] for row in report["templates"]] == [SPIKED, NEW]
    assert report["window"]["events"] == 33 and report["filters"]["level"] == "WARNING"


def test_a_store_younger_than_the_baseline_compares_with_what_it_holds(store: Any, settings: Any,
                                                                      tmp_path: Path) -> None:
    lines = [line for line in week_then_window() if line >= "2026-03-06"]
    index_lines(store, settings, tmp_path / "young.log", lines)
    report = find_anomalies(store, AnomalyQuery(since=WINDOW_START, until=WINDOW_END, baseline=timedelta(days=7)))
    assert report["baseline"]["seconds"] == 2 * 86400 and report["baseline"]["requested_seconds"] == 7 * 86400
    assert report["templates"][0]["template"] == SPIKED


def test_an_empty_store_says_so(store: Any) -> None:
    report = find_anomalies(store, AnomalyQuery())
    assert report["notice"] == "the store holds no events with a time"
    assert report["templates"] == [] and report["levels"] == []
    assert report["window"] == {"since": None, "until": None, "seconds": None, "events": 0}


def test_a_window_without_baseline_says_so(store: Any, settings: Any, tmp_path: Path) -> None:
    lines = [line for line in week_then_window() if line >= "2026-03-08"]
    index_lines(store, settings, tmp_path / "window-only.log", lines)
    report = find_anomalies(store, AnomalyQuery(since=WINDOW_START, until=WINDOW_END))
    assert report["notice"] == "no events in the 7 days before the window: there is no baseline to compare with"
    assert report["templates"] == [] and report["window"]["events"] == 40
    assert report["baseline"]["events"] == 0
    filtered = find_anomalies(store, AnomalyQuery(since=WINDOW_START, until=WINDOW_END, hosts=["nowhere"],
                                                  baseline=timedelta(hours=24)))
    assert filtered["notice"] == ("no events in the day before the window matching the filters: "
                                  "there is no baseline to compare with")


def test_an_inverted_window_is_refused(store: Any) -> None:
    with pytest.raises(InvalidTimeRange):
        find_anomalies(store, AnomalyQuery(since=WINDOW_END, until=WINDOW_START))


@pytest.mark.parametrize(("text", "length"), [
    ("7d", timedelta(days=7)), ("24h", timedelta(hours=24)), ("90m", timedelta(minutes=90)),
    ("2w", timedelta(weeks=2)), ("3 days", timedelta(days=3)), ("1.5H", timedelta(hours=1.5)),
])
def test_baseline_lengths(text: str, length: timedelta) -> None:
    assert parse_baseline(text) == length


@pytest.mark.parametrize("text", ["soon", "7", "0d", "-3d", "20000d", ""])
def test_unreadable_baselines_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="baseline"):
        parse_baseline(text)


def test_the_score_weighs_evidence_not_only_the_ratio() -> None:
    hour, week = 3600.0, 7 * 86400.0
    single = fold_change_bound(1, 0, hour, week)
    burst = fold_change_bound(30, 14, hour, week)
    assert 0.8 < single < 1 and burst > 7
    assert fold_change_bound(3, 0, hour, week) > 5  # three where 0 were expected: certain, and large
    assert fold_change_bound(0, 2016, hour, week) < -1  # 12 expected, none seen
    assert fold_change_bound(6, 1008, hour, week) == 0  # exactly the expected rate
    assert fold_change_bound(0, 0, hour, week) == 0
    # 660 where 600 were expected (+10 %) is 60 more events, and no news; the count increase ranks it
    # above the burst, and the plain log-likelihood ratio calls it more certain than a single new event.
    assert count_increase(660, 100_800, hour, week) > count_increase(30, 14, hour, week)
    assert fold_change_bound(660, 100_800, hour, week) == 0
    assert change_score(1, 0, hour, week) > 3 and change_score(1200, 100_800, hour, week) > change_score(30, 14, hour,
                                                                                                           week)
    assert fold_change_bound(1200, 100_800, hour, week) < 1 < burst


def test_texts_are_secret_masked(store: Any, settings: Any, tmp_path: Path) -> None:
    lines = week_then_window() + [
        f"2026-03-08 00:5{n}:00,000 ERROR [main] app.Service: login with password=hunter{n}2 refused"
        for n in range(5)
    ]
    index_lines(store, settings, tmp_path / "secrets.log", sorted(lines))
    report = find_anomalies(store, AnomalyQuery(since=WINDOW_START, until=datetime(2026, 3, 8, 1, tzinfo=UTC)))
    assert "hunter" not in repr(report)
    assert any("password=" in row["example"]["message"] for row in report["templates"])
