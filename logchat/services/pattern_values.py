"""The top values of the matching patterns' variables, read from their most recent matching events.

The values come from the named fields stored with the events (:func:`logchat.storage.search_repo.fields_of_template`),
counted under the variables' names (:func:`logchat.ingest.template_values.count_field_values`); where those cannot
stand for the messages (named fields off, a pattern whose fields are converted or do not line up with its
variables), from the messages, read again (:func:`logchat.storage.search_repo.messages_of_template`). Either way
the same events are read: bounded per pattern and in all; a pattern read whole says ``exact``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from logchat.ingest.fields import extract_variables
from logchat.ingest.template_values import TopValues, count_field_values, count_values, top_by_name
from logchat.storage import fields_repo, search_repo
from logchat.storage.db import Session

# Messages read per pattern to find the values of its variables; beyond this the values are sampled.
VALUES_PER_PATTERN = 2_000
VALUES_TOTAL_BUDGET = 6_000
# The most recent events of a pattern whose stored fields are compared with their messages before the fields are
# counted instead of the messages: a pattern whose lines the two read differently (a value ending in "." that
# the fields leave out) is read from its messages.
FIELDS_CHECKED = 8


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
    raw, read = _count_patterns(session, patterns, reading)
    result = {
        pattern.template_id: TopValues(
            exact=read[pattern.template_id] >= pattern.count, events_read=read[pattern.template_id],
            values=top_by_name(raw[pattern.template_id]),
        )
        for pattern in patterns if pattern.template_id in raw
    }  # fmt: skip
    return result, raw


def _count_patterns(
    session: Session, patterns: Sequence[search_repo.PatternStats], reading: ValueReading
) -> tuple[dict[int | None, Counter[tuple[str, str]]], dict[int | None, int]]:
    """(name, value) counts of each pattern read, and how many of its events were read."""
    raw: dict[int | None, Counter[tuple[str, str]]] = {}
    read: dict[int | None, int] = {}
    with_fields = fields_repo.templates_with_plain_fields(
        session, [p.template_id for p in patterns if p.template_id is not None]
    )
    remaining = reading.budget
    for pattern in patterns:
        if remaining <= 0:
            break
        limit = min(reading.per_pattern, remaining)
        counted = None
        if pattern.template_id in with_fields:
            counted = _count_from_fields(session, pattern, reading, limit)
        if counted is None:
            messages = search_repo.messages_of_template(
                session, pattern.template_id, reading.conditions, limit, counts=reading.counts
            )
            counted = (count_values(pattern.template, messages), len(messages))
        raw[pattern.template_id], read[pattern.template_id] = counted
        remaining -= read[pattern.template_id]
    return raw, read


def _count_from_fields(
    session: Session, pattern: search_repo.PatternStats, reading: ValueReading, limit: int
) -> tuple[Counter[tuple[str, str]], int] | None:
    """(name, value) counts and events read, from the stored fields of the events the messages would come from;
    None when they do not read as the messages do."""
    checked = search_repo.messages_with_fields_of_template(
        session, pattern.template_id, reading.conditions, min(FIELDS_CHECKED, limit), counts=reading.counts
    )
    for message, fields in checked:
        if count_field_values(pattern.template, [fields]) != Counter(extract_variables(pattern.template, message)):
            return None
    stored = search_repo.fields_of_template(
        session, pattern.template_id, reading.conditions, limit, counts=reading.counts
    )
    found = count_field_values(pattern.template, stored)
    return None if found is None else (found, len(stored))


def combined_top_values(
    session: Session, patterns: Sequence[search_repo.PatternStats], reading: ValueReading, *, top: int | None = None
) -> TopValues:
    """The top values over all ``patterns`` together; exact when every pattern was read whole."""
    raw, read = _count_patterns(session, patterns, reading)
    combined: Counter[tuple[str, str]] = Counter()
    for found in raw.values():
        combined.update(found)
    exact = len(raw) == len(patterns) and all(read[p.template_id] >= p.count for p in patterns)
    ranked = top_by_name(combined) if top is None else top_by_name(combined, top=top)
    return TopValues(exact=exact, events_read=sum(read.values()), values=ranked)
