"""Counts from the hourly rollup plus edge hours equal counts straight from the events table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from logchat.services.ingest import index_inputs
from logchat.storage import stats_repo, stats_sqlite
from logchat.storage.models import Event

EXAMPLES = Path(__file__).resolve().parents[2] / "logchat" / "examples"


@pytest.fixture
def indexed(store, settings):  # type: ignore[no-untyped-def]
    report = index_inputs(store, settings, [str(EXAMPLES)])
    assert not report.failed and report.new_events > 3000
    return store


def direct(session, flt: stats_repo.EventFilter, column=None):  # type: ignore[no-untyped-def]
    where = flt.conditions(session)
    if column is None:
        return session.scalar(select(func.count()).select_from(Event).where(*where))
    col = getattr(Event, column)
    return dict(session.execute(select(col, func.count()).where(*where).group_by(col)).all())


WINDOWS = [
    (None, None),
    (datetime(2026, 11, 2, 20, 30, tzinfo=UTC), datetime(2026, 11, 3, 3, 15, 10, tzinfo=UTC)),
    (datetime(2026, 11, 3, 1, 0, tzinfo=UTC), datetime(2026, 11, 3, 5, 0, tzinfo=UTC)),  # whole hours
    (datetime(2026, 11, 3, 1, 10, tzinfo=UTC), datetime(2026, 11, 3, 1, 50, tzinfo=UTC)),  # inside one hour
    (datetime(2026, 11, 3, 7, 59, 59, tzinfo=UTC), None),
    (None, datetime(2026, 11, 2, 23, 0, 1, tzinfo=UTC)),
]


@pytest.mark.parametrize(("since", "until"), WINDOWS)
@pytest.mark.parametrize("levels", [[], ["ERROR", "CRITICAL"]])
def test_rollup_counts_are_exact(indexed, since, until, levels) -> None:  # type: ignore[no-untyped-def]
    flt = stats_repo.EventFilter(since=since, until=until, levels=levels)
    with indexed.session() as session:
        overview = stats_repo.overview(session, flt, top=1000)
        assert overview is not None
        assert overview["total"] == direct(session, flt) > 0
        assert dict(overview["by_level"]) == direct(session, flt, "level")
        assert dict(overview["by_host"]) == direct(session, flt, "host")
        templates = overview["top_templates"]
        assert {t["template_id"]: t["count"] for t in templates} == direct(session, flt, "template_id")
        first = session.scalar(select(func.min(Event.ts)).where(*flt.conditions(session)))
        assert overview["first"] == first
        if overview["first"]:
            _, buckets = overview["histogram"]
            assert sum(n for _, n in buckets) == session.scalar(
                select(func.count()).select_from(Event).where(*flt.conditions(session), Event.ts.isnot(None))
            )
            assert len(buckets) <= 49


def test_templates_errors_first_and_source_filter(indexed) -> None:  # type: ignore[no-untyped-def]
    with indexed.session() as session:
        flt = stats_repo.EventFilter(sources=["payments-service"])
        overview = stats_repo.overview(session, flt, top=10)
        top = overview["top_templates"]
        assert top[0]["level"] == "ERROR"
        assert "Bad Gateway" in top[0]["template"]
        assert {name for name, _, _ in overview["by_source"]} == {"payments-service.log"}
        assert stats_repo.overview(session, stats_repo.EventFilter(sources=["no-such-source"]), top=10) is None


def test_bucket_choice_fits_a_terminal() -> None:
    assert stats_sqlite.choose_bucket_seconds(timedelta(hours=2).total_seconds()) == 300
    assert stats_sqlite.choose_bucket_seconds(timedelta(days=1).total_seconds()) == 1800
    assert stats_sqlite.choose_bucket_seconds(timedelta(days=30).total_seconds()) == 86400
