"""Use case: what changed in the logs (`logchat stat --anomalies`, `GET /api/v1/logs/anomalies`).

A window is compared with the time before it (the baseline). For each template, and each level, the
question is how its rate in the window relates to its rate in the baseline. Under "nothing changed", an
event of the template falls in the window with probability p = window / (window + baseline); the counts'
log-likelihood ratio against that binomial (G statistic, Dunning 1993) is the test, and inverting it gives a
confidence interval for the rate ratio. The score is log2 of that interval's end nearest 1: the change one
can be sure of (3 sigma). Few events give a wide interval, so low counts score low: one event where the
week before had none is "at least 1.9 times" (score 0.9), thirty against fourteen in a week is "at least
150 times" (score 7.2); a plain ratio would rank the single event first (infinitely more), a count
increase would rank a busy template's ordinary wobble first.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from logchat.errors import UsageError
from logchat.redaction import mask_tree
from logchat.retrieval.timerange import check_range_order
from logchat.storage import anomalies_repo, stats_repo
from logchat.storage.db import Store

DEFAULT_WINDOW = timedelta(hours=1)
DEFAULT_BASELINE = timedelta(days=7)
# Listed: rates that at least doubled, or at least halved, with 3-sigma confidence.
DEFAULT_MIN_SCORE = 1.0
CONFIDENCE_Z = 3.0
_BISECTIONS = 60
_MAX_BASELINE = timedelta(days=3660)
_DURATION = re.compile(
    r"(?P<count>\d+(?:\.\d+)?)\s*(?P<unit>s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?)",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass
class AnomalyQuery:
    since: datetime | None = None  # default: `until` minus one hour
    until: datetime | None = None  # default: the whole minute after the newest event in the store
    baseline: timedelta = DEFAULT_BASELINE
    level: str | None = None  # this level and above
    sources: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    processes: list[str] = field(default_factory=list)
    top: int = 10
    min_score: float = DEFAULT_MIN_SCORE


def parse_baseline(text: str) -> timedelta:
    """A length such as 7d, 24h, 90m, 2w or '3 days'; UsageError otherwise."""
    found = _DURATION.fullmatch(" ".join(text.split()))
    if found is None:
        raise UsageError(f"cannot read baseline {text!r}", hint="give a length such as 7d, 24h, 90m or 2w")
    seconds = float(found["count"]) * _UNIT_SECONDS[found["unit"][0].lower()]
    if seconds <= 0 or seconds > _MAX_BASELINE.total_seconds():
        raise UsageError(f"baseline {text!r} must be longer than 0 and at most {_MAX_BASELINE.days} days")
    return timedelta(seconds=seconds)


def change_score(window_count: int, baseline_count: int, window_seconds: float, baseline_seconds: float) -> float:
    """Signed root of the G statistic (roughly standard deviations): positive for more events in the window
    than the baseline's rate predicts, negative for fewer. Grows with the evidence more than with the size
    of a change, so the report ranks by `fold_change_bound`; benchmarks compare the two."""
    total = window_count + baseline_count
    if total == 0 or window_seconds <= 0 or baseline_seconds <= 0:
        return 0.0
    null_share = window_seconds / (window_seconds + baseline_seconds)
    root = math.sqrt(max(0.0, _g_statistic(window_count, baseline_count, null_share)))
    return root if window_count > total * null_share else -root


def _g_statistic(window_count: int, baseline_count: int, share: float) -> float:
    """2 x log-likelihood ratio of the counts' own split against the window holding ``share`` of the events."""
    total = window_count + baseline_count
    g = 0.0
    if window_count:
        g += window_count * math.log(window_count / (total * share))
    if baseline_count:
        g += baseline_count * math.log(baseline_count / (total * (1 - share)))
    return 2 * g


def fold_change_bound(window_count: int, baseline_count: int, window_seconds: float, baseline_seconds: float,
                      z: float = CONFIDENCE_Z) -> float:
    """log2 of the rate ratio (window rate / baseline rate) at the end of its likelihood-ratio confidence
    interval nearest 1: 3 means "at least 8 times the baseline's rate", -1 "at most half of it", 0 that the
    interval holds 1 (the change is not significant at ``z``)."""
    total = window_count + baseline_count
    if total == 0 or window_seconds <= 0 or baseline_seconds <= 0:
        return 0.0
    null_share = window_seconds / (window_seconds + baseline_seconds)
    share = window_count / total
    limit = z * z
    if _g_statistic(window_count, baseline_count, null_share) <= limit:
        return 0.0
    # G falls monotonically from the null share to the observed one: bisect for where it crosses z².
    near, far = null_share, share
    for _ in range(_BISECTIONS):
        middle = (near + far) / 2
        if _g_statistic(window_count, baseline_count, middle) > limit:
            near = middle
        else:
            far = middle
    bound = min(max(far, 1e-15), 1 - 1e-15)
    return math.log2(bound / (1 - bound) * baseline_seconds / window_seconds)


def count_increase(window_count: int, baseline_count: int, window_seconds: float, baseline_seconds: float) -> float:
    """The obvious alternative score: events above what the baseline's rate predicts (benchmarks compare)."""
    return window_count - baseline_count * window_seconds / baseline_seconds


def classify(window_count: int, score: float, min_score: float, *, seen_before: bool) -> str | None:
    """new, spike, drop, or None for no anomaly. A new pattern is listed at any score: it is news by itself."""
    if window_count and not seen_before:
        return "new"
    if score > 0 and score >= min_score:
        return "spike"
    if score < 0 and -score >= min_score:
        return "drop"
    return None


def find_anomalies(store: Store, query: AnomalyQuery, *, now: datetime | None = None) -> dict[str, Any]:
    """The anomaly report; every text in it is secret-masked (a viewer may read it)."""
    check_range_order(query.since, query.until, phrase=f"since {query.since} until {query.until}")
    if query.min_score < 0:
        raise UsageError(f"min score {query.min_score} must not be negative")
    flt = stats_repo.EventFilter(
        levels=stats_repo.levels_at_least(query.level) if query.level else [],
        sources=query.sources, hosts=query.hosts, processes=query.processes,
    )
    with store.session() as session:
        result = _report(session, flt, query, now or datetime.now(UTC))
    return mask_tree(result)  # type: ignore[no-any-return]


def _window(session: Any, query: AnomalyQuery, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The window asked for, its open ends filled in from the store (see docs: `stat --anomalies`)."""
    since, until = query.since, query.until
    if until is None:
        _, newest = anomalies_repo.timed_span(session, stats_repo.EventFilter())
        # The next whole minute: the newest event is inside, and the window reads well.
        newest_end = _shifted(newest, timedelta(minutes=1)).replace(second=0, microsecond=0) if newest else None
        if newest_end is not None and (since is None or newest_end > since):
            # Store-wide, not per filter: a source that went quiet shows as a drop, not as a shorter window.
            until = newest_end
        elif since is not None:
            until = max(now, _shifted(since, _ONE_MICROSECOND))
    if since is None and until is not None:
        since = _shifted(until, -DEFAULT_WINDOW)
    check_range_order(since, until, phrase=f"since {since} until {until}")
    return since, until


def _report(session: Any, flt: stats_repo.EventFilter, query: AnomalyQuery, now: datetime) -> dict[str, Any]:
    since, until = _window(session, query, now)
    result: dict[str, Any] = {
        "filters": {"level": query.level, "sources": query.sources, "hosts": query.hosts,
                    "processes": query.processes},
        "window": {"since": since, "until": until, "seconds": None, "events": 0},
        "baseline": {"since": None, "until": since, "seconds": None,
                     "requested_seconds": query.baseline.total_seconds(), "events": 0},
        "min_score": query.min_score,
        "counts": {"spike": 0, "drop": 0, "new": 0},
        "templates": [],
        "levels": [],
        "notice": None,
    }
    if since is None or until is None:
        result["notice"] = "the store holds no events with a time" + (" matching the filters" if _filtered(flt) else "")
        return result
    window_seconds = (until - since).total_seconds()
    first, _ = anomalies_repo.timed_span(session, flt)
    # A store younger than the baseline is not read as a quiet week: the baseline starts at its first event.
    baseline_since = _shifted(since, -query.baseline)
    if first is not None and first > baseline_since:
        baseline_since = min(first, since)
    baseline_seconds = (since - baseline_since).total_seconds()
    result["window"]["seconds"] = window_seconds
    result["baseline"].update(since=baseline_since, seconds=baseline_seconds)

    in_window = anomalies_repo.template_counts(session, flt, since, until)
    before = anomalies_repo.template_counts(session, flt, baseline_since, since) if baseline_seconds > 0 else {}
    result["window"]["events"] = sum(count.count for count in in_window.values())
    result["baseline"]["events"] = sum(count.count for count in before.values())
    if not before:
        result["notice"] = (
            f"no events in the {_length(query.baseline)} before the window"
            + (" matching the filters" if _filtered(flt) else "")
            + ": there is no baseline to compare with"
        )
        return result

    rows = _template_rows(session, flt, since, in_window, before, window_seconds, baseline_seconds, query.min_score)
    for row in rows:
        result["counts"][row["kind"]] += 1
    rows.sort(key=lambda row: (-abs(row["score"]), row["template_id"]))
    top = rows[: query.top]
    texts = anomalies_repo.template_texts(session, [row["template_id"] for row in top])
    for row in top:
        row["template"] = texts.get(row["template_id"], "")
        if row["kind"] == "drop":
            row["example"] = anomalies_repo.example_message(session, flt, row["template_id"], baseline_since, since,
                                                            latest=True)
        else:
            row["example"] = anomalies_repo.example_message(session, flt, row["template_id"], since, until,
                                                            latest=False)
    result["templates"] = [_ordered(row) for row in top]
    result["levels"] = _level_rows(session, flt, since, until, baseline_since, window_seconds, baseline_seconds,
                                   query.min_score)
    return result


def _template_rows(session: Any, flt: stats_repo.EventFilter, since: datetime,
                   in_window: dict[int, anomalies_repo.TemplateCount],
                   before: dict[int, anomalies_repo.TemplateCount],
                   window_seconds: float, baseline_seconds: float, min_score: float) -> list[dict[str, Any]]:
    unseen_in_baseline = [template_id for template_id in in_window if template_id not in before]
    seen_earlier = anomalies_repo.templates_seen_before(session, flt, since, unseen_in_baseline)
    rows = []
    for template_id in in_window.keys() | before.keys():
        now_count = in_window.get(template_id)
        then_count = before.get(template_id)
        w = now_count.count if now_count else 0
        b = then_count.count if then_count else 0
        expected = b * window_seconds / baseline_seconds
        score = fold_change_bound(w, b, window_seconds, baseline_seconds)
        kind = classify(w, score, min_score, seen_before=b > 0 or template_id in seen_earlier)
        if kind is None:
            continue
        rows.append({
            "template_id": template_id,
            "kind": kind,
            "score": round(score, 2),
            "window_count": w,
            "baseline_count": b,
            "expected": round(expected, 3),
            "ratio": round(w / expected, 2) if expected > 0 else None,
            "level": (now_count or then_count).worst_level,  # type: ignore[union-attr]
            "first_in_window": now_count.first if now_count else None,
            "last_in_window": now_count.last if now_count else None,
            "last_before_window": then_count.last if then_count else None,
        })
    return rows


_TEMPLATE_KEYS = ("template_id", "template", "kind", "score", "window_count", "baseline_count", "expected", "ratio",
                  "level", "first_in_window", "last_in_window", "last_before_window", "example")


def _ordered(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in _TEMPLATE_KEYS}


def _level_rows(session: Any, flt: stats_repo.EventFilter, since: datetime, until: datetime,
                baseline_since: datetime, window_seconds: float, baseline_seconds: float,
                min_score: float) -> list[dict[str, Any]]:
    now_counts = anomalies_repo.level_counts(session, flt, since, until)
    then_counts = anomalies_repo.level_counts(session, flt, baseline_since, since)
    rows = []
    for level in now_counts.keys() | then_counts.keys():
        w, b = now_counts.get(level, 0), then_counts.get(level, 0)
        expected = b * window_seconds / baseline_seconds
        score = fold_change_bound(w, b, window_seconds, baseline_seconds)
        # Levels are never "new": a level absent from the baseline that appears is a spike.
        kind = classify(w, score, min_score, seen_before=True)
        if kind is None:
            continue
        rows.append({
            "level": level or "NONE", "kind": kind, "score": round(score, 2), "window_count": w,
            "baseline_count": b, "expected": round(expected, 3),
            "ratio": round(w / expected, 2) if expected > 0 else None,
        })
    rows.sort(key=lambda row: (-abs(row["score"]), row["level"]))
    return rows


def _shifted(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, held at the calendar's edge (years 1 and 9999) instead of overflowing."""
    try:
        return moment + delta
    except OverflowError:
        return (datetime.min if delta < timedelta(0) else datetime.max).replace(tzinfo=UTC)


def _filtered(flt: stats_repo.EventFilter) -> bool:
    return bool(flt.levels or flt.sources or flt.hosts or flt.processes)


def _length(span: timedelta) -> str:
    seconds = span.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}s" if n > 1 else unit
    return f"{seconds:g} seconds"
