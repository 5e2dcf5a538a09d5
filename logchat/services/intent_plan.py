"""A plan from the question's intent (``QuestionFilters.intent`` and ``entity``) and the fields of the matching events.

The one place where today's intents become a :class:`~logchat.retrieval.plan.Plan` for the executor
(:mod:`logchat.services.compute`); a question parser that builds plans itself replaces this module.

The field an operation is about is chosen among the named fields the matching events carry, by the question's
words: a field named by a word of the question ("port", "size", "user") first, then one of the kind the
question asks about (IP addresses, durations, sizes), then the event's own columns ("which programs" ->
process); the field carried by the most matching events breaks ties.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from logchat.retrieval.plan import Operation, OperationKind, Plan
from logchat.retrieval.question import QuestionFilters
from logchat.storage.compute_repo import TemplateFieldRow

__all__ = ["plan_from_intent", "split_series_phrase"]

_INTENT_KINDS: dict[str, OperationKind] = {
    "count": "count", "top": "top", "first": "first", "last": "last", "max": "max", "min": "min", "total": "sum",
    "explain": "explain", "list": "list",
}  # fmt: skip
_SERIES_RX = re.compile(
    r"\b(?:per|by|each|every)\s+(?:(?P<n>\d+)\s+)?(?P<unit>minute|min|hour|hr|day)s?\b|\b(?P<adverb>hourly|daily)\b",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"minute": 60, "min": 60, "hour": 3600, "hr": 3600, "day": 86400, "hourly": 3600, "daily": 86400}
_AVERAGE_RX = re.compile(r"\b(?:on\s+)?average\b|\bavg\b|\bmean\b", re.IGNORECASE)
_DISTINCT_RX = re.compile(r"\b(?:distinct|different|unique)\b", re.IGNORECASE)
_PERCENTILE_RX = re.compile(r"\bp(\d{1,2}(?:\.\d+)?)\b|\b(\d{1,2}(?:\.\d+)?)(?:st|nd|rd|th)\s+percentile\b|\bmedian\b",
                            re.IGNORECASE)
_WORD_RX = re.compile(r"[a-z][a-z0-9]*")

_ENTITY_NAMES = {
    "user": ("user", "username", "ruser", "for", "login", "account"),
    "port": ("port",),
    "host": ("host", "rhost", "hostname", "server", "node"),
    "ip": ("ip", "from", "client", "rhost", "src", "addr", "address"),
}
_IP_WORDS = frozenset({"ip", "ips", "address", "addresses", "client", "clients", "source", "sources", "datanode",
                       "datanodes", "remote"})
_DURATION_WORDS = frozenset({"slowest", "longest", "fastest", "quickest", "latency", "duration", "slow", "took", "time",
                             "times", "long", "ms", "seconds", "delay", "timeout", "spent"})
_DURATION_NAME = re.compile(r"time|latency|duration|took|elapsed|delay|timeout|spent")
_SIZE_WORDS = frozenset({"size", "sizes", "bytes", "byte", "biggest", "largest", "smallest", "length"})
_SIZE_NAME = re.compile(r"size|bytes|length|len")
_COLUMN_WORDS = {
    "process": frozenset({"program", "programs", "process", "processes", "component", "components", "daemon",
                          "daemons", "service", "services"}),
    "host": frozenset({"host", "hosts", "node", "nodes", "machine", "machines", "server", "servers"}),
    "level": frozenset({"level", "levels", "severity", "severities"}),
    "source": frozenset({"file", "files", "source", "sources"}),
}
_UNIT_WORDS = {"s": frozenset({"ms", "seconds", "second", "sec", "secs", "milliseconds", "minutes"}),
               "B": frozenset({"bytes", "byte", "kb", "mb", "gb"})}
_POSITIONAL = re.compile(r"arg\d+")


@dataclass
class _Candidate:
    name: str
    type: str
    kind: str
    unit: str | None
    events: int


def split_series_phrase(question: str) -> tuple[str, int | None]:
    """The question without its "per hour" / "per 6 hours" / "daily" phrase, and that interval in seconds."""
    match = _SERIES_RX.search(question)
    if match is None:
        return question, None
    word = (match["unit"] or match["adverb"]).lower()
    seconds = _UNIT_SECONDS[word] * int(match["n"] or 1)
    return (question[: match.start()] + " " + question[match.end():]).strip(), seconds


def plan_from_intent(
    question: str, filters: QuestionFilters, fields: Sequence[TemplateFieldRow], pattern_counts: Mapping[int, int],
    *, interval: int | None = None,
) -> Plan:
    """The plan today's intent stands for; ``fields`` are those of the matching templates, ``pattern_counts`` the
    matching events of each template, ``interval`` a series interval taken out of the question."""
    kind = _INTENT_KINDS.get(filters.intent, "list")
    percentile: float | None = None
    if interval is not None:
        kind = "series"
    elif _AVERAGE_RX.search(question) and kind in ("list", "count", "sum"):
        kind = "avg"
    elif kind == "count" and _DISTINCT_RX.search(question):
        kind = "count_distinct"
    elif (match := _PERCENTILE_RX.search(question)) is not None and kind in ("list", "count"):
        kind = "percentile"
        percentile = float(match[1] or match[2] or 50)
    name = None
    if kind in ("count_distinct", "top", "min", "max", "sum", "avg", "percentile"):
        name = _choose_field(question, filters.entity, kind, _candidates(fields, pattern_counts))
    operation = Operation(kind=kind, field=name, limit=filters.limit if kind == "top" else None,
                          percentile=percentile, interval=interval)
    return Plan(question=question, operation=operation, notes=("operation read from the question's intent",))


def _candidates(fields: Sequence[TemplateFieldRow], pattern_counts: Mapping[int, int]) -> list[_Candidate]:
    found: dict[str, _Candidate] = {}
    for row in fields:
        events = pattern_counts.get(row.template_id, 0)
        if events <= 0:
            continue
        known = found.get(row.name)
        if known is None:
            found[row.name] = _Candidate(row.name, row.type, row.kind, row.unit, events)
        else:
            known.events += events
            if known.type != row.type:
                known.type = "float" if {known.type, row.type} <= {"int", "float"} else "string"
    return list(found.values())


def _words(question: str) -> set[str]:
    words = set(_WORD_RX.findall(question.lower()))
    return words | {word[:-1] for word in words if word.endswith("s") and len(word) > 3}


def _choose_field(question: str, entity: str | None, kind: str, candidates: list[_Candidate]) -> str | None:
    words = _words(question)
    numeric = kind in ("min", "max", "sum", "avg", "percentile")
    best: tuple[int, int, str] | None = None
    for candidate in candidates:
        if numeric and candidate.type not in ("int", "float"):
            continue
        score = _score(candidate, words, entity, numeric)
        if kind in ("sum", "avg", "percentile") and candidate.kind != "measure":
            score -= 3
        key = (score, candidate.events, candidate.name)
        if best is None or key[:2] > best[:2]:
            best = key
    column = None if numeric else _column(words, entity)
    if column is not None and (best is None or best[0] < 4):
        return column
    if best is None or (best[0] <= 0 and not numeric):
        return column
    return best[2]


def _score(candidate: _Candidate, words: set[str], entity: str | None, numeric: bool) -> int:
    name = candidate.name
    score = 0
    # A field named like a verb ("Failed <*> for" -> failed) is named by the words the lines are matched on,
    # not by the noun the question asks about.
    verb = name.endswith(("ed", "ing"))
    if name in words:
        score += 2 if verb else 8
    elif set(re.split(r"[_\-.]", name)) & words:
        score += 1 if verb else 6
    if entity is not None and name in _ENTITY_NAMES.get(entity, ()):
        score += 5
    # Hosts in logs are often addresses ("which hosts sent the most requests" -> from 10.10.34.13).
    if (entity in ("ip", "host") or words & _IP_WORDS or words & _COLUMN_WORDS["host"]) and candidate.type == "ip":
        score += 4
    if numeric and words & _DURATION_WORDS and (candidate.unit == "s" or _DURATION_NAME.search(name)):
        score += 5
    if numeric and words & _SIZE_WORDS and (candidate.unit == "B" or _SIZE_NAME.search(name)):
        score += 4
    # "in ms", "in bytes": the unit the question wants names the field that has it.
    if numeric and candidate.unit is not None and words & _UNIT_WORDS.get(candidate.unit, frozenset()):
        score += 6
    if _POSITIONAL.fullmatch(name):
        score -= 2
    return score


def _column(words: set[str], entity: str | None) -> str | None:
    for column, names in _COLUMN_WORDS.items():
        if words & names:
            return column
    if entity in ("process", "host", "source"):
        return entity
    return None
