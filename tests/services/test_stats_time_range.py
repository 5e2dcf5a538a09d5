"""The stats use case refuses a window that starts after it ends, whichever front end built it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from logchat.errors import InvalidTimeRange
from logchat.services.stats import StatQuery, compute_stats


def test_inverted_window_is_an_invalid_time_range(store) -> None:  # type: ignore[no-untyped-def]
    query = StatQuery(since=datetime(2026, 11, 3, tzinfo=UTC), until=datetime(2026, 11, 1, tzinfo=UTC))
    with pytest.raises(InvalidTimeRange, match="starts after it ends") as raised:
        compute_stats(store, query)
    assert raised.value.http_status == 400


def test_an_ordered_window_is_answered(store) -> None:  # type: ignore[no-untyped-def]
    query = StatQuery(since=datetime(2026, 11, 1, tzinfo=UTC), until=datetime(2026, 11, 3, tzinfo=UTC))
    assert compute_stats(store, query)["total"] == 0
