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
        raise UsageError(f"{flag}: {exc}") from exc
