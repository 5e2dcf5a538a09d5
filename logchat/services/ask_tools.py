"""What the chat model's tools compute (logchat.llm.tools.ToolBackend), over the store.

One adapter between the tools and the store's queries, so that moving the operations onto the plan
executor later changes this module only. Every call opens its own short session; every text returned is
secret-masked. A tool's scope is the question's (time range, levels, hosts, sources, processes) with
whatever the model sets replacing that part; its text is matched literally (every word required), as the
raw-line search matches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_

from logchat.config import Settings
from logchat.errors import UsageError
from logchat.redaction import mask_secrets, mask_tree
from logchat.services.event_scope import ScopeText, match_scope, scope_filter
from logchat.storage import fields_repo, lines_repo, search_repo, series_repo, stats_repo
from logchat.storage.db import Store
from logchat.storage.stats_sqlite import choose_bucket_seconds

if TYPE_CHECKING:
    from logchat.llm.tools import ScopeArguments
    from logchat.storage.db import Session

INTERVALS = {"minute": 60, "hour": 3_600, "day": 86_400}
MAX_BUCKETS = 1_000
BUCKETS_SHOWN = 200
TOP_PATTERNS = 3
DISTINCT_BOUND = 1_000
# Messages read for the values of template variables when named fields are off (as `ask` reads them).
VARIABLE_VALUES = (5_000, 20_000)


@dataclass
class StoreTools:
    """The tools of one question: ``question_filter`` is its scope, ``now`` what time phrases are read against."""

    store: Store
    settings: Settings
    question_filter: stats_repo.EventFilter
    now: datetime | None = None

    # -- scope ---------------------------------------------------------------------------------------

    def _matching(self, session: Session, scope: ScopeArguments
                  ) -> tuple[stats_repo.EventFilter, search_repo.Condition | None, list[search_repo.Condition]]:
        """The filter, the text condition (None: no text) and all conditions selecting the events in scope."""
        written = ScopeText(
            since=scope.since, until=scope.until, level=scope.level, hosts=[scope.host] if scope.host else [],
            sources=[scope.source] if scope.source else [], processes=[scope.process] if scope.process else [],
        )  # fmt: skip
        flt = scope_filter(written, timezone=self.settings.ingest.default_timezone, now=self.now,
                           base=self.question_filter)
        matched = match_scope(session, flt, scope.text)
        return flt, matched.matched, matched.conditions

    # -- the tools -----------------------------------------------------------------------------------

    def count(self, scope: ScopeArguments) -> dict[str, Any]:
        with self.store.session() as session:
            flt, text, _ = self._matching(session, scope)
            aggregate = search_repo.aggregate(session, flt, text, errors_first=False)
        return mask_tree({  # type: ignore[no-any-return]
            "matched": aggregate.total,
            "first": _iso(aggregate.first),
            "last": _iso(aggregate.last),
            "top_patterns": [{"template": p.template, "count": p.count} for p in aggregate.patterns[:TOP_PATTERNS]],
        })

    def search(self, scope: ScopeArguments, limit: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        with self.store.session() as session:
            flt, text, conditions = self._matching(session, scope)
            matched = search_repo.aggregate(session, flt, text, errors_first=False).total
            rows = lines_repo.page_of_events(session, conditions, after=None, limit=limit)
        return {"matched": matched, "shown": len(rows), "order": "newest first"}, [evidence_line(row) for row in rows]

    def aggregate(self, scope: ScopeArguments, field: str, function: str, percentile: float | None
                  ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        from logchat.services.fields import require_fields_enabled

        require_fields_enabled(self.settings)
        with self.store.session() as session:
            info = fields_repo.require_field(session, field)
            _, _, conditions = self._matching(session, scope)
            within = and_(*conditions) if conditions else None
            values = int(fields_repo.aggregate_field(session, field, "count", within) or 0)
            if function == "percentile":
                assert percentile is not None
                value = fields_repo.percentile_field(session, field, percentile / 100, within)
            else:
                value = fields_repo.aggregate_field(session, field, function, within)
            lines: list[lines_repo.LineRow] = []
            if function in ("min", "max") and value is not None:
                holding = fields_repo.field_condition(session, field, "=", value)
                lines = lines_repo.page_of_events(session, [*conditions, holding], after=None, limit=1)
        result: dict[str, Any] = {"field": field, "function": function, "value": _tidy(value), "unit": info.unit,
                                  "values": values, "exact": True}
        if percentile is not None and function == "percentile":
            result["percentile"] = percentile
        return result, [evidence_line(row) for row in lines]

    def top_values(self, scope: ScopeArguments, field: str, limit: int) -> dict[str, Any]:
        with self.store.session() as session:
            flt, text, conditions = self._matching(session, scope)
            if self.settings.ingest.fields:
                fields_repo.require_field(session, field)
                within = and_(*conditions) if conditions else None
                top = fields_repo.group_by_field(session, field, within, limit=limit)
                distinct, all_counted = fields_repo.distinct_values(session, field, within, bound=DISTINCT_BOUND)
                result = {"field": field, "values": [[value, n] for value, n in top], "distinct": distinct,
                          "distinct_exact": all_counted, "exact": True}
            else:
                result = _variable_top_values(session, flt, text, conditions, field, limit)
        return mask_tree(result)  # type: ignore[no-any-return]

    def time_series(self, scope: ScopeArguments, interval: str | None) -> dict[str, Any]:
        with self.store.session() as session:
            flt, text, conditions = self._matching(session, scope)
            aggregate = search_repo.aggregate(session, flt, text, errors_first=False)
            if aggregate.first is None or aggregate.last is None:
                return {"matched": aggregate.total, "buckets": [], "note": "no matching event has a time"}
            span = (aggregate.last - aggregate.first).total_seconds() + 1
            seconds = INTERVALS[interval] if interval else choose_bucket_seconds(span, 48)
            if span / seconds > MAX_BUCKETS:
                raise UsageError(f"{interval} buckets over {span / 86_400:.1f} days are more than {MAX_BUCKETS}; "
                                 "use a larger interval or a shorter time range")
            buckets = series_repo.counts_per_interval(session, conditions, aggregate.first, aggregate.last, seconds)
        nonempty = [[start.strftime("%Y-%m-%d %H:%M:%S"), n] for start, n in buckets if n]
        result: dict[str, Any] = {"matched": aggregate.total, "interval_seconds": seconds, "timezone": "UTC",
                                  "buckets": len(buckets), "nonempty_buckets": nonempty[:BUCKETS_SHOWN]}
        if len(nonempty) > BUCKETS_SHOWN:
            result["cut"] = f"first {BUCKETS_SHOWN} of {len(nonempty)} non-empty buckets"
        return result

    def context(self, event_id: int, lines: int
                ) -> tuple[list[dict[str, Any]], dict[str, Any], list[dict[str, Any]]]:
        with self.store.session() as session:
            rows = lines_repo.page_of_events(session, [lines_repo.event_is(event_id)], after=None, limit=1)
            if not rows:
                raise UsageError(f"the line of event {event_id} is no longer stored")
            before, after = lines_repo.context_of(session, rows, lines).get(event_id, ([], []))
        shown = evidence_line(rows[0])
        return [evidence_line(row) for row in before], shown, [evidence_line(row) for row in after]

    def fields(self) -> dict[str, Any]:
        if not self.settings.ingest.fields:
            return {"fields": [], "note": "named fields are off in this store; top_values reads the variables of "
                                          "the matching lines instead (names like ip, user, port, size)"}
        with self.store.session() as session:
            infos = fields_repo.field_infos(session)
        return mask_tree({"fields": [  # type: ignore[no-any-return]
            {"name": i.name, "type": i.type, "kind": i.kind, "unit": i.unit, "events": i.events} for i in infos[:50]
        ]})


def evidence_line(row: search_repo.EventRow) -> dict[str, Any]:
    """A stored line as `ask`'s evidence items show it (without the id, given by whoever numbers them)."""
    return {
        "event_id": row.id,
        "source": row.source_name,
        "path": row.location,
        "line": row.line_no,
        "line_end": row.line_end,
        "ts": row.ts,
        "level": row.level,
        "host": row.host,
        "process": row.process,
        "template_id": row.template_id,
        "text": mask_secrets(row.raw),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _tidy(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 6)


def _variable_top_values(
    session: Session, flt: stats_repo.EventFilter, text: search_repo.Condition | None,
    conditions: list[search_repo.Condition], field: str, limit: int,
) -> dict[str, Any]:
    """Top values of a template variable read from the matching messages (named fields off)."""
    aggregate = search_repo.aggregate(session, flt, text, errors_first=False)
    from logchat.services.pattern_values import ValueReading, combined_top_values

    per_pattern, budget = VARIABLE_VALUES
    reading = ValueReading(conditions, per_pattern=per_pattern, budget=budget)
    values = combined_top_values(session, aggregate.patterns, reading, top=limit)
    top = values.values
    if field not in top:
        found = ", ".join(list(top)[:15]) or "none"
        raise UsageError(f"the matching lines have no variable named {field!r} (they have: {found})")
    result: dict[str, Any] = {"field": field, "values": [[value, n] for value, n in top[field]],
                              "exact": values.exact,
                              "read_from": "the variables of the matching lines (named fields are off)"}
    if not values.exact:
        result["events_read"] = values.events_read
    return result
