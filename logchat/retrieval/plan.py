"""A question as an explicit plan: what to filter, what to match, and the one operation to compute.

The question parser produces a ``Plan``; retrieval narrows the store to the plan's events; the operation is then
computed by SQL over all of them and the answer leads with its result. ``ask --explain`` prints the plan and
``ask --json`` carries ``Plan.to_json()`` under ``plan``, so a user can see how a question was read.

These are plain values (no I/O): the parser builds them, the executor reads them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

OperationKind = Literal[
    "list",  # the matching lines, grouped by pattern (the default)
    "count",  # how many events match
    "count_distinct",  # how many different values a field takes
    "min",
    "max",
    "sum",
    "avg",
    "percentile",
    "top",  # the most frequent values of a field, optionally per value of another field
    "first",  # the earliest matching event
    "last",  # the latest matching event
    "series",  # counts per time interval
    "explain",  # why something happened: the patterns around the matches
]
OPERATION_KINDS: tuple[str, ...] = OperationKind.__args__  # type: ignore[attr-defined]

FieldOperator = Literal["=", "!=", "<", "<=", ">", ">=", "in", "contains", "prefix"]


@dataclass(frozen=True)
class FieldCondition:
    """A condition on a named field, e.g. ``stage = 3.0``, ``status >= 500``, ``user = root``."""

    name: str
    operator: FieldOperator
    value: Any
    # The words of the question this condition was read from, for --explain.
    source_text: str = ""


@dataclass(frozen=True)
class TextTerm:
    """A word or identifier that matching lines must contain (one of ``alternatives`` is enough).

    ``alternatives`` holds the word itself first, then its synonyms in log vocabulary ("completed" ->
    "finished", "done"); ``prefix`` lets an identifier match as the start of logged ids (``job_42`` ->
    ``job_42_1``) and is set only when nothing matches it whole.
    """

    text: str
    alternatives: tuple[str, ...] = ()
    prefix: bool = False
    required: bool = True


@dataclass(frozen=True)
class Operation:
    """The one thing the answer computes.

    ``field`` names the field that is aggregated or ranked (None for count/first/last/list/series);
    ``by`` a second field to group by ("which users failed most often, by host"); ``limit`` the N of top-N;
    ``percentile`` 0-100 for ``percentile``; ``interval`` a bucket size in seconds for ``series``
    (None: chosen from the time range).
    """

    kind: OperationKind = "list"
    field: str | None = None
    by: str | None = None
    limit: int | None = None
    percentile: float | None = None
    interval: int | None = None


@dataclass(frozen=True)
class PlanFilters:
    """Filters on the event's own columns; empty means no filter."""

    start: datetime | None = None
    end: datetime | None = None
    levels: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    processes: tuple[str, ...] = ()
    # Levels as the question wrote them, the way logs print them ("SEVERE"): a matching line prints one of
    # these words before its message (several printed words share one stored level).
    level_words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """The whole reading of a question."""

    question: str
    filters: PlanFilters = field(default_factory=PlanFilters)
    terms: tuple[TextTerm, ...] = ()
    conditions: tuple[FieldCondition, ...] = ()
    operation: Operation = field(default_factory=Operation)
    # Question words that were not used, and why (shown by --explain so a misreading is visible).
    ignored: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The plan as ``ask --json`` carries it under ``plan`` (times as ISO 8601)."""
        data = asdict(self)
        for key in ("start", "end"):
            value = data["filters"][key]
            data["filters"][key] = value.isoformat() if value is not None else None
        return data


@dataclass(frozen=True)
class ComputedResult:
    """What an operation computed over all matching events (exact unless ``exact`` is False).

    ``value`` is the headline result (a number, a timestamp, a list of (value, count) pairs for top, a list of
    (bucket start, count) pairs for series); ``unit`` its unit when the field has one; ``event_id`` the event the
    value comes from (the line holding the max, the first occurrence...) so the answer can cite it;
    ``sentence`` the answer's first sentence stating the result; ``reason`` why the result is not exact, if so.
    """

    operation: Operation
    value: Any
    matched: int
    unit: str | None = None
    event_id: int | None = None
    exact: bool = True
    reason: str | None = None
    sentence: str = ""
    details: dict[str, Any] = field(default_factory=dict)
