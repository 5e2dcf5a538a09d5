"""Time phrases given on the command line or in a request (--since, --until, --now)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def parse_cli_time(text: str, tz_name: str, *, flag: str, now: datetime | None = None) -> datetime:
    """An ISO time or a phrase such as "2 hours ago"; UsageError naming the flag otherwise."""
    from logchat.errors import UsageError
    from logchat.retrieval.timerange import parse_time_point

    try:
        return parse_time_point(text, now=now or datetime.now(UTC), tz=ZoneInfo(tz_name))
    except UsageError as exc:
        raise type(exc)(f"{flag}: {exc}", hint=exc.hint) from exc


def parse_cli_window(
    since: str | None, until: str | None, tz_name: str, *, now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """`--since`/`--until` as UTC moments; InvalidTimeRange when the window starts after it ends."""
    from logchat.retrieval.timerange import check_range_order

    start = parse_cli_time(since, tz_name, flag="--since", now=now) if since else None
    end = parse_cli_time(until, tz_name, flag="--until", now=now) if until else None
    check_range_order(start, end, phrase=f"--since {since} --until {until}")
    return start, end
