"""Compute a plan's operation over ALL the events a question matched, and state the result in one sentence.

``compute(session, plan, within)`` runs the operation of ``plan`` (count, count_distinct, min, max, sum, avg,
percentile, top, first, last, series) in SQL over the events selected by ``within`` and the plan's field
conditions, and returns a :class:`~logchat.retrieval.plan.ComputedResult` whose ``sentence`` is the answer's first
sentence: "The highest port was 65454, in [E1] auth.log:531.", "There were 286 matching events.",
"Per hour (UTC): 2015-12-10 06:00 — 1, 2015-12-10 07:00 — 43.". :func:`cite` puts the evidence id of the event
the value comes from into that sentence once the evidence list is known.

Results are exact over every matching event; when a bound is hit (too many distinct values, buckets or groups
to list) the result says ``exact=False`` and why. Values keep their unit: durations are stored in seconds and
sizes in bytes (logchat.ingest.fields) and are said in a unit a person reads (716 ms, 64 MiB), with the stored
number beside it when the two differ. Times are UTC, written ``YYYY-MM-DD HH:MM:SS``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_

from logchat.errors import UsageError
from logchat.retrieval.plan import ComputedResult, Operation, Plan
from logchat.retrieval.planner import asked_unit
from logchat.storage import compute_repo, fields_repo
from logchat.storage.db import Session, Store

__all__ = ["FIELDS_OFF", "cite", "compute", "pick_interval", "render_value"]

# Bounds past which a result is cut short and marked inexact (the SQL still reads every matching event).
DISTINCT_BOUND = 100_000
SERIES_BOUND = 2_000
PAIRS_BOUND = 10_000
TOP_DEFAULT = 5
SERIES_IN_SENTENCE = 60
FIELD_OPERATIONS = ("count_distinct", "min", "max", "sum", "avg", "percentile", "top")
NUMERIC_OPERATIONS = ("min", "max", "sum", "avg", "percentile")
FIELDS_OFF = ("named fields are not indexed in this store, so this cannot be computed: turn them on with "
              "`fields = true` under [ingest] in logchat.toml, then run `logchat fields` to read the stored events")

_MINUTE, _HOUR, _DAY = 60, 3_600, 86_400


def compute(
    session_or_store: Session | Store, plan: Plan, within: Any, *, matched: int | None = None,
    templates: Collection[int] | None = None, whole: Collection[int] | None = None,
) -> ComputedResult:
    """The plan's operation over the events ``within`` (a condition, or a list of conditions, on events) that
    also meet the plan's field conditions. ``matched``: the number of such events when the caller already
    counted them; ``templates``: the templates of the events ``within``, when the caller knows them; ``whole``:
    the templates whose events are exactly those ``within``, when they are (values are then counted from the
    counts kept per template, logchat.storage.value_counts_repo)."""
    if isinstance(session_or_store, Store):
        with session_or_store.session() as session:
            return compute(session, plan, within, matched=matched, templates=templates, whole=whole)
    session = session_or_store
    condition, counted = _combined(session, plan, within)
    if plan.conditions:
        matched = counted  # the caller counted without the field conditions
        templates = None  # and knew the templates of more events than these
        whole = None  # and the conditions keep some events of those templates out
    total = compute_repo.count_events(session, condition) if matched is None else matched
    operation = plan.operation
    result = _compute(session, operation, condition, total, templates, whole)
    asked = asked_unit(plan.question) if operation.kind in NUMERIC_OPERATIONS else None
    if asked is not None:
        result = replace(result, details=result.details | {"asked_unit": asked})
    return replace(result, sentence=result.sentence or sentence(result))


def _combined(session: Session, plan: Plan, within: Any) -> tuple[Any, int | None]:
    """The events ``within`` that meet the plan's field conditions, and how many they are when that was counted
    to choose the reading of the conditions (None when there are no conditions)."""
    parts = list(within) if isinstance(within, list | tuple) else [within]
    scope = parts[0] if len(parts) == 1 else (and_(*parts) if parts else None)
    strict = [fields_repo.field_condition(session, condition.name, condition.operator, condition.value, within=scope)
              for condition in plan.conditions]
    combined = and_(*parts, *strict) if len(parts) + len(strict) != 1 else parts[0]
    if not strict:
        return combined, None
    counted = compute_repo.count_events(session, combined)
    if counted > 0:
        return combined, counted
    # No event has the field with that value: read the conditions as retrieval reads them ("from 1.2.3.4" also
    # holds for a line whose `from` names something else but that shows the address, "Connection request from
    # old client /1.2.3.4"), so the count does not deny the lines the answer cites.
    from logchat.services.planning import field_conditions

    return and_(*parts, *field_conditions(session, plan)), None


def _compute(
    session: Session, operation: Operation, within: Any, total: int, templates: Collection[int] | None,
    whole: Collection[int] | None = None,
) -> ComputedResult:
    kind = operation.kind
    if kind in ("count", "list", "explain"):
        return ComputedResult(operation=operation, value=total, matched=total, unit="events")
    if kind in ("first", "last"):
        found = compute_repo.edge_event(session, within, last=kind == "last") if total else None
        if found is None:
            return ComputedResult(operation=operation, value=None, matched=total)
        event_id, at = found
        return ComputedResult(operation=operation, value=at, matched=total, event_id=event_id)
    if kind == "series":
        return _series(session, operation, within, total)
    if kind in FIELD_OPERATIONS:
        return _field_operation(session, operation, within, total, templates, whole)
    raise UsageError(f"unknown operation {kind!r}")


def _unavailable(operation: Operation, total: int, reason: str) -> ComputedResult:
    return ComputedResult(operation=operation, value=None, matched=total, exact=False, reason=reason,
                          sentence=reason[:1].upper() + reason[1:] + ".")


def _field_operation(
    session: Session, operation: Operation, within: Any, total: int, templates: Collection[int] | None,
    whole: Collection[int] | None = None,
) -> ComputedResult:
    if not operation.field:
        if not compute_repo.has_fields(session):
            return _unavailable(operation, total, FIELDS_OFF)
        return _unavailable(operation, total, f"no field was named to compute the {operation.kind} of")
    value = compute_repo.value_of(session, operation.field, within, templates=templates)
    if value is None:
        if not compute_repo.has_fields(session) and operation.field not in compute_repo.COLUMNS:
            return _unavailable(operation, total, FIELDS_OFF)
        known = ", ".join(info.name for info in fields_repo.field_infos(session)[:20]) or "none"
        return _unavailable(operation, total, f"no event has a field named {operation.field!r} (known fields: {known})")
    if operation.kind in NUMERIC_OPERATIONS and value.column:
        return _unavailable(operation, total, f"{operation.field} is not a number")
    if operation.kind == "top":
        return _top(session, operation, value, within, total, whole)
    if operation.kind == "count_distinct":
        count, complete, carrying = compute_repo.distinct_count(
            session, value, within, bound=DISTINCT_BOUND, whole=whole
        )
        return ComputedResult(
            operation=operation, value=count, matched=total, exact=complete,
            reason=None if complete else f"more than {DISTINCT_BOUND:,} different values; counted up to the bound",
            details={"events_with_field": carrying},
        )  # fmt: skip
    return _numeric(session, operation, within, total)


def _numeric(session: Session, operation: Operation, within: Any, total: int) -> ComputedResult:
    name = str(operation.field)
    info = fields_repo.require_field(session, name)
    unit = info.unit
    details: dict[str, Any] = {"field_kind": info.kind}
    if operation.kind in ("min", "max"):
        details["values"], found = compute_repo.extreme_event(session, name, within, highest=operation.kind == "max")
        if found is None:
            return ComputedResult(operation=operation, value=None, matched=total, unit=unit, details=details)
        return ComputedResult(operation=operation, value=_tidy(found[0]), matched=total, unit=unit,
                              event_id=found[1], details=details)
    details["values"] = int(fields_repo.aggregate_field(session, name, "count", within) or 0)
    if operation.kind in ("sum", "avg"):
        try:
            number = fields_repo.aggregate_field(session, name, operation.kind, within)
        except fields_repo.NotAMeasure as exc:
            return _unavailable(operation, total, str(exc))
        return ComputedResult(operation=operation, value=None if number is None else _tidy(number), matched=total,
                              unit=unit, details=details)
    share = 50.0 if operation.percentile is None else operation.percentile
    if not 0.0 <= share <= 100.0:
        raise UsageError(f"a percentile is between 0 and 100, not {share:g}")
    number = compute_repo.percentile(session, name, share / 100.0, within)
    return ComputedResult(operation=operation, value=None if number is None else _tidy(number), matched=total,
                          unit=unit, details=details | {"percentile": share})


def _top(session: Session, operation: Operation, value: compute_repo.Value, within: Any,
         total: int, whole: Collection[int] | None = None) -> ComputedResult:
    limit = operation.limit or TOP_DEFAULT
    if not operation.by:
        rows, carrying = compute_repo.top_values(session, value, within, limit=limit, whole=whole)
        return ComputedResult(operation=operation, value=[[v, n] for v, n in rows], matched=total,
                              details={"events_with_field": carrying})
    carrying = compute_repo.count_carrying(session, value, within, whole=whole)
    by = compute_repo.value_of(session, operation.by)
    if by is None:
        return _unavailable(operation, total, f"no event has a field named {operation.by!r} to group by")
    triples, complete = compute_repo.top_values_by(session, value, by, within, bound=PAIRS_BOUND)
    groups: dict[str, list[list[Any]]] = {}
    totals: dict[str, int] = {}
    for group, item, count in triples:
        totals[group] = totals.get(group, 0) + count
        if len(groups.setdefault(group, [])) < limit:
            groups[group].append([item, count])
    ordered = sorted(groups, key=lambda g: (-totals[g], g))
    return ComputedResult(
        operation=operation, value=[[g, groups[g]] for g in ordered], matched=total, exact=complete,
        reason=None if complete else f"more than {PAIRS_BOUND:,} ({operation.by}, {operation.field}) pairs; "
                                     "the rarest were left out",
        details={"events_with_field": carrying, "group_totals": {g: totals[g] for g in ordered}},
    )  # fmt: skip


def pick_interval(start: datetime, end: datetime) -> int:
    """A bucket size a person reads at a glance: minutes for up to two hours, hours for up to three days,
    days beyond."""
    span = end - start
    if span <= timedelta(hours=2):
        return _MINUTE
    if span <= timedelta(days=3):
        return _HOUR
    return _DAY


def _series(session: Session, operation: Operation, within: Any, total: int) -> ComputedResult:
    interval = operation.interval
    if interval is not None and interval <= 0:
        raise UsageError(f"a series interval is a positive number of seconds, not {interval}")
    if interval is None:
        span = compute_repo.time_span(session, within) if total else None
        interval = pick_interval(*span) if span else _HOUR
    buckets, complete = compute_repo.series(session, within, interval, bound=SERIES_BOUND) if total else ([], True)
    return ComputedResult(
        operation=replace(operation, interval=interval), value=[[start, count] for start, count in buckets],
        matched=total, unit="events", exact=complete,
        reason=None if complete else f"more than {SERIES_BOUND:,} intervals; the first {SERIES_BOUND:,} are shown",
        details={"interval": interval, "events_with_time": sum(count for _, count in buckets)},
    )  # fmt: skip


def _tidy(number: float) -> float | int:
    return int(number) if float(number).is_integer() else number


# --- saying it -------------------------------------------------------------------------------------------


def cite(result: ComputedResult, evidence: list[dict[str, Any]]) -> ComputedResult:
    """The result with its sentence naming the evidence line it comes from ("in [E1] auth.log:531")."""
    if result.event_id is None:
        return result
    item = next((item for item in evidence if item.get("event_id") == result.event_id), None)
    if item is None:
        return result
    where = f"[{item['id']}] {item.get('source') or item.get('path')}:{item.get('line')}"
    return replace(result, sentence=sentence(result, where))


def sentence(result: ComputedResult, where: str | None = None) -> str:
    """The answer's first sentence for ``result``; ``where`` cites the line the value comes from."""
    operation, value = result.operation, result.value
    kind = operation.kind
    cited = f", in {where}" if where else ""
    caveat = "" if result.exact else f" (not exact: {result.reason})"
    if result.reason and value is None:
        return result.reason[:1].upper() + result.reason[1:] + "."
    if kind in ("count", "list", "explain"):
        return f"There {'was' if value == 1 else 'were'} {value:,} matching event{'' if value == 1 else 's'}."
    if result.matched == 0:
        return "No events match, so there is nothing to compute."
    if kind in ("first", "last"):
        word = "first" if kind == "first" else "last"
        if value is None:
            return f"The {word} matching event has no time{cited}."
        return f"The {word} matching event was at {_when(value)} UTC{(' ' + where) if where else ''}."
    if kind == "series":
        return _series_sentence(result) + caveat
    name = operation.field
    if kind == "count_distinct":
        carrying = result.details.get("events_with_field", 0)
        amount = f"{value:,}" if result.exact else f"at least {value:,}"
        return (f"There were {amount} different values of {name} in the {carrying:,} matching event"
                f"{'' if carrying == 1 else 's'} that carry it.")
    if kind == "top":
        return _top_sentence(result) + caveat
    if value is None:
        return f"None of the {result.matched:,} matching events carries a number for {name}."
    identifier = result.details.get("field_kind") == "identifier"
    said = render_value(value, result.unit, identifier=identifier, asked=result.details.get("asked_unit"))
    values = result.details.get("values", 0)
    over = f"over {values:,} value{'' if values == 1 else 's'}"
    if kind in ("min", "max"):
        return f"The {'highest' if kind == 'max' else 'lowest'} {name} was {said}{cited}."
    if kind == "sum":
        return f"The total {name} was {said}, {over}."
    if kind == "avg":
        return f"The average {name} was {said}, {over}."
    share = result.details.get("percentile", operation.percentile or 50.0)
    label = "median" if share == 50 else f"{_ordinal(share)} percentile"
    return f"The {label} {name} was {said}, {over}."


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _ordinal(share: float) -> str:
    number = f"{share:g}"
    if number.endswith("1") and not number.endswith("11"):
        return number + "st"
    if number.endswith("2") and not number.endswith("12"):
        return number + "nd"
    if number.endswith("3") and not number.endswith("13"):
        return number + "rd"
    return number + "th"


def _top_sentence(result: ComputedResult) -> str:
    operation = result.operation
    if not result.value:
        return f"None of the {result.matched:,} matching events carries a value for {operation.field}."
    if operation.by:
        groups = [f"{group}: " + ", ".join(f"{item} ({count:,})" for item, count in items)
                  for group, items in result.value]
        return f"Most frequent {operation.field} by {operation.by}: " + "; ".join(groups)
    (first, count), rest = result.value[0], result.value[1:]
    text = f"The most frequent {operation.field} was {first} ({count:,} event{'' if count == 1 else 's'})"
    if rest:
        text += ", then " + ", ".join(f"{item} ({n:,})" for item, n in rest)
    return text + "."


def interval_name(seconds: int) -> str:
    for size, word in ((_DAY, "day"), (_HOUR, "hour"), (_MINUTE, "minute")):
        if seconds == size:
            return word
        if seconds % size == 0:
            return f"{seconds // size} {word}s"
    return f"{seconds} seconds"


def _series_sentence(result: ComputedResult) -> str:
    interval = int(result.operation.interval or _HOUR)
    buckets = result.value or []
    if not buckets:
        return f"None of the {result.matched:,} matching events has a time to put in a series."
    shown = buckets[:SERIES_IN_SENTENCE]
    text = f"Per {interval_name(interval)} (UTC): " + ", ".join(
        f"{start.strftime('%Y-%m-%d %H:%M')} — {count:,}" for start, count in shown
    )
    if len(buckets) > len(shown):
        text += f", and {len(buckets) - len(shown):,} more intervals"
    return text + "."


# The units a question can ask a value in ("in ms"), per stored unit: their size in the stored unit.
_ASKED_SCALE = {"s": {"ms": 0.001, "s": 1, "min": 60}, "B": {"bytes": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}}


def render_value(value: float | int, unit: str | None, *, identifier: bool = False, asked: str | None = None) -> str:
    """A value as a person reads it: seconds as ms/s/min/h, bytes as KiB/MiB/GiB (the stored number beside
    it when the unit changed), or in the unit the question ``asked`` for ("in ms"); identifiers (ports, pids)
    without thousands separators."""
    scale = _ASKED_SCALE.get(unit or "", {}).get(asked or "")
    if scale is not None:
        in_asked = f"{_plain(_tidy(value / scale), separators=True)} {asked}"
        return _with_stored(in_asked, value, "s" if unit == "s" else "bytes")
    if unit == "s":
        return _with_stored(_human_seconds(float(value)), value, "s")
    if unit == "B":
        return _with_stored(_human_bytes(float(value)), value, "bytes")
    if unit == "%":
        return f"{_plain(value, separators=False)}%"
    text = _plain(value, separators=not identifier)
    return f"{text} {unit}" if unit else text


def _with_stored(human: str, value: float | int, unit: str) -> str:
    stored = f"{_plain(value, separators=True)} {unit}"
    return human if human == stored else f"{human} ({stored})"


def _plain(value: float | int, *, separators: bool) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}" if separators else str(int(value))
    number = float(value)
    if abs(number) >= 1000:
        text = f"{number:,.2f}" if separators else f"{number:.2f}"
        return text.rstrip("0").rstrip(".")
    return f"{number:.10g}"


def _human_seconds(seconds: float) -> str:
    size = abs(seconds)
    if 0 < size < 1e-3:
        return f"{seconds * 1e6:.4g} µs"
    if 0 < size < 1:
        return f"{seconds * 1e3:.6g} ms"
    if size < 120:
        return f"{_plain(seconds, separators=True)} s"
    if size < 7_200:
        return f"{seconds / 60:.4g} min"
    return f"{seconds / 3600:,.4g} h"


def _human_bytes(size: float) -> str:
    for power, word in ((3, "GiB"), (2, "MiB"), (1, "KiB")):
        if abs(size) >= 1024**power:
            return f"{size / 1024**power:.4g} {word}"
    return f"{_plain(size, separators=True)} bytes"
