"""The top values of the matching patterns' variables, read from their most recent matching messages.

The messages come from the store (:func:`logchat.storage.search_repo.messages_of_template`), the reading
of values from :mod:`logchat.ingest.template_values`. Reading is bounded per pattern and in all; a pattern
read whole says ``exact``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from logchat.ingest.template_values import TopValues, count_values, top_by_name
from logchat.storage import search_repo
from logchat.storage.db import Session

# Messages read per pattern to find the values of its variables; beyond this the values are sampled.
VALUES_PER_PATTERN = 2_000
VALUES_TOTAL_BUDGET = 6_000


@dataclass(frozen=True)
class ValueReading:
    """Which messages the values are read from, and how many at the most."""

    conditions: Sequence[search_repo.Condition]  # the matching events
    # Matches per template, when known: they steer how a template's messages are looked up.
    counts: search_repo.MatchCounts | None = None
    per_pattern: int = VALUES_PER_PATTERN
    budget: int = VALUES_TOTAL_BUDGET  # over all the patterns


def pattern_top_values(
    session: Session, patterns: Sequence[search_repo.PatternStats], reading: ValueReading
) -> tuple[dict[int | None, TopValues], dict[int | None, Counter[tuple[str, str]]]]:
    """Top values of each pattern's variables, and the raw (name, value) counts for combining."""
    result: dict[int | None, TopValues] = {}
    raw: dict[int | None, Counter[tuple[str, str]]] = {}
    remaining = reading.budget
    for pattern in patterns:
        if remaining <= 0:
            break
        limit = min(reading.per_pattern, remaining)
        messages = search_repo.messages_of_template(
            session, pattern.template_id, reading.conditions, limit, counts=reading.counts
        )
        remaining -= len(messages)
        found = raw[pattern.template_id] = count_values(pattern.template, messages)
        result[pattern.template_id] = TopValues(
            exact=len(messages) >= pattern.count, events_read=len(messages), values=top_by_name(found)
        )
    return result, raw


def combined_top_values(
    session: Session, patterns: Sequence[search_repo.PatternStats], reading: ValueReading, *, top: int | None = None
) -> TopValues:
    """The top values over all ``patterns`` together; exact when every pattern was read whole."""
    values, raw = pattern_top_values(session, patterns, reading)
    combined: Counter[tuple[str, str]] = Counter()
    for found in raw.values():
        combined.update(found)
    exact = len(values) == len(patterns) and all(v.exact for v in values.values())
    read = sum(v.events_read for v in values.values())
    ranked = top_by_name(combined) if top is None else top_by_name(combined, top=top)
    return TopValues(exact=exact, events_read=read, values=ranked)
