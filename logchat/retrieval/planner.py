"""A question -> an explicit :class:`~logchat.retrieval.plan.Plan`: filters, terms, field conditions, an operation.

Pure: the caller passes the question's reading by :func:`logchat.retrieval.question.parse_question` and what the
store knows (its named fields with the words of the templates that carry them; hosts, sources, processes), so
this module never touches a database and every plan can be tested from plain values.

How a question is read, in order:

1. **Operation.** Time series ("per hour", "by day", "over time", "timeline") before counts; count distinct
   ("how many different/distinct/unique users", "how many datanodes had ..."); first/last occurrence ("when
   did the system last reboot"); top-N ("which users failed most often", "top 5 source IPs", "per host");
   percentile ("p95", "median"), average, max, min, sum of a field; count; explain ("why"); otherwise list.
2. **Field of the operation.** Question words are matched against field names (and their parts:
   ``src_port`` has ``port``), against the words of the templates that carry each field, and against units
   ("bytes", "ms", "seconds", "how long"). Identifiers (ports, pids, ids, statuses) are never measures: they
   are not summed nor averaged, and are the max/min field only when the question names them. The event's own
   columns stand in when no named field fits: ``process`` (programs, components), ``host`` (hosts, nodes).
3. **Field conditions.** A value right after a noun that names a field binds to that field ("stage 3.0" ->
   ``stage = 3.0``, "status 502", "user root", "from 1.2.3.4", "status >= 500", "above 500ms"), instead of
   matching the number anywhere in the line. With named fields off there are none: the value stays a text
   term, and the plan's notes say so.
4. **Text terms.** What is left of the question's text query, without question words that logs never contain
   ("report", "happen", "times", ...: :data:`~logchat.retrieval.log_vocabulary.QUESTION_ONLY`), each with the
   words logs use for it (:mod:`logchat.retrieval.log_vocabulary`). Identifiers are exact terms; retrieval
   lets them match as prefixes of logged ids when nothing matches them whole.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

from logchat.retrieval.log_vocabulary import (
    QUESTION_ONLY,
    is_inflected_verb,
    log_abbreviations,
    log_phrase,
    log_synonyms,
    stem,
)
from logchat.retrieval.negated_actions import NOT_DONE, negated_actions
from logchat.retrieval.plan import FieldCondition, Operation, Plan, PlanFilters, TextTerm
from logchat.retrieval.question import QuestionFilters

__all__ = [
    "COLUMN_FIELDS", "KnownField", "StoreVocabulary", "acronym_candidates", "asked_unit", "build_plan", "choose_field",
    "terms_with_words",
]

# Columns every event has, usable where a field name is expected (top-N, count distinct).
COLUMN_FIELDS = ("host", "process", "source", "level")


@dataclass(frozen=True)
class KnownField:
    """A named field as the planner sees it (from ``storage.fields_repo.FieldInfo``)."""

    name: str
    type: str  # int | float | ip | id | string
    kind: str  # measure | identifier | label
    unit: str | None = None  # normalised: "s", "B", "%"
    events: int = 0
    # Lower-cased words of the templates that carry the field: "Received block <*> of size <*>" -> received,
    # block, size; how a question about "received blocks" finds the field even when it is called arg3.
    context: frozenset[str] = frozenset()
    example: str | None = None
    # The same words template by template: a question describes one kind of line, so the template that
    # shares most words with it tells more than all of them together.
    templates: tuple[frozenset[str], ...] = ()


@dataclass(frozen=True)
class StoreVocabulary:
    """What the store knows that a question can refer to."""

    fields: tuple[KnownField, ...] = ()
    fields_enabled: bool = True
    hosts: tuple[str, ...] = ()
    processes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    # Initials the logs' patterns print in capitals as a word of their own ("RM" in "ERROR IN CONTACTING RM"),
    # lower-cased: two adjacent nouns of a question also match their initials when these hold them.
    acronyms: frozenset[str] = frozenset()


# --- words --------------------------------------------------------------------------------------------

_WORD_RX = re.compile(r"[a-z][a-z0-9_]*")
_NUMBER_RX = re.compile(r"[-+]?\d+(?:\.\d+)?")
_IP_RX = re.compile(r"/?(\d{1,3}(?:\.\d{1,3}){3})(?::\d+)?")
_VALUE_RX = r"(?P<value>/?\d{1,3}(?:\.\d{1,3}){3}|[-+]?\d+(?:\.\d+)?|[A-Za-z][\w.@-]*)"


def _singular(word: str) -> str:
    if word.endswith("sses") or word.endswith("xes"):
        return word[:-2]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 2:
        return word[:-1]
    return word


def _stems(words: set[str]) -> set[str]:
    return words | {stem(word) for word in words}


def _words(text: str) -> list[str]:
    return _WORD_RX.findall(text.lower())


def _word_forms(text: str) -> set[str]:
    words = _words(text)
    return set(words) | {_singular(word) for word in words}


# --- operation ----------------------------------------------------------------------------------------

_UNITS = {"second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600, "hr": 3600, "day": 86400, "week": 604800}
_SERIES_RX = re.compile(
    r"\b(?:per|each|every|by|a|an)\s+(?:(?P<n>\d+)\s*)?(?P<unit>second|sec|minute|min|hour|hr|day|week)s?\b"
    r"|\b(?P<adverb>hourly|daily|weekly|minutely)\b|\bover\s+time\b|\btime\s*line\b|\btimeline\b|\bhistogram\b"
    r"|\btrend\b",
    re.IGNORECASE,
)
_ADVERB_SECONDS = {"hourly": 3600, "daily": 86400, "weekly": 604800, "minutely": 60}
_DISTINCT_RX = re.compile(
    r"\b(?:how\s+many|number\s+of|count(?:\s+(?:of|the))?)\s+(?:the\s+)?(?:different|distinct|unique)\b"
    r"|\bcount\s+distinct\b",
    re.IGNORECASE,
)
# "how many datanodes had exceptions": counting things that can repeat in the lines (hosts, users, clients)
# means counting different ones.
_ENTITY_NOUNS = frozenset({
    "user", "username", "account", "host", "hostname", "node", "datanode", "machine", "server", "client", "ip",
    "address", "source", "component", "program", "process", "daemon", "instance", "container", "endpoint",
    "peer", "worker", "executor",
})  # fmt: skip
_HOW_MANY_NOUN_RX = re.compile(
    r"\bhow\s+many\s+(?:\w+\s+)??(?P<noun>[a-z]+)\s+(?P<verb>had|have|has|were|was|are|did|do)\b", re.IGNORECASE
)
_WHEN_RX = re.compile(r"\bwhen\b", re.IGNORECASE)
_FIRST_RX = re.compile(r"\b(?:first|earliest|began|begin|start(?:ed)?)\b", re.IGNORECASE)
_LAST_RX = re.compile(r"\b(?:last|latest|most\s+recent(?:ly)?|recently)\b", re.IGNORECASE)
_PERCENTILE_RX = re.compile(
    r"\bp(?P<p>\d{1,2}(?:\.\d+)?)\b|\b(?P<q>\d{1,2}(?:\.\d+)?)(?:st|nd|rd|th)?\s*percentile\b|\b(?P<median>median)\b",
    re.IGNORECASE,
)
_AVERAGE_RX = re.compile(r"\b(?:average|avg|mean)\b", re.IGNORECASE)
_TOP_RX = re.compile(r"\btop\s+(?P<n>\d+)\b|\bmost\b|\btop\b", re.IGNORECASE)
_MAX_RX = re.compile(r"\b(?:biggest|largest|max|maximum|highest|longest|slowest|peak|greatest)\b", re.IGNORECASE)
_MIN_RX = re.compile(r"\b(?:smallest|min|minimum|lowest|shortest|fastest|quickest)\b", re.IGNORECASE)
_SUM_RX = re.compile(r"\b(?:total|sum\s+of|altogether|in\s+all)\b(?!\s+number)", re.IGNORECASE)
_COUNT_RX = re.compile(r"\bhow\s+many\b|\bhow\s+often\b|\bnumber\s+of\b|\bcount\b", re.IGNORECASE)
_PER_FIELD_RX = re.compile(r"\b(?:per|by|for\s+each|each)\s+(?P<noun>[a-z]+)\b(?!\s+(?:\d|[a-z]+\d))", re.IGNORECASE)
_EXPLAIN_RX = re.compile(r"\bwhy\b|\bexplain\b|\broot\s+cause\b|\bhow\s+come\b|\bwhat\s+(?:went\s+wrong|caused)\b",
                         re.IGNORECASE)
_LONG_RX = re.compile(r"\bhow\s+long\b", re.IGNORECASE)


def _series_interval(question: str) -> tuple[bool, int | None]:
    match = _SERIES_RX.search(question)
    if match is None:
        return False, None
    if match["unit"]:
        unit = match["unit"].lower()
        return True, int(match["n"] or 1) * _UNITS[unit]
    if match["adverb"]:
        return True, _ADVERB_SECONDS[match["adverb"].lower()]
    return True, None


def _operation_kind(question: str, filters: QuestionFilters) -> tuple[str, dict[str, object]]:
    """The operation a question asks for, and its parameters (interval, limit, percentile)."""
    is_series, interval = _series_interval(question)
    if is_series:
        return "series", {"interval": interval}
    if _DISTINCT_RX.search(question):
        return "count_distinct", {}
    how_many = _HOW_MANY_NOUN_RX.search(question)
    if how_many and _singular(how_many["noun"].lower()) in _ENTITY_NOUNS:
        return "count_distinct", {}
    if _WHEN_RX.search(question) or filters.intent in ("first", "last"):
        first, last = _FIRST_RX.search(question), _LAST_RX.search(question)
        if first or last:
            if first and last:
                return ("first" if first.start() < last.start() else "last"), {}
            return ("first" if first else "last"), {}
        if filters.intent in ("first", "last"):
            return filters.intent, {}
        if _WHEN_RX.search(question):
            return "first", {}
    percentile = _PERCENTILE_RX.search(question)
    if percentile:
        value = 50.0 if percentile["median"] else float(percentile["p"] or percentile["q"])
        return "percentile", {"percentile": value}
    if _AVERAGE_RX.search(question) or re.search(r"\bon\s+average\b", question, re.IGNORECASE):
        return "avg", {}
    top = _TOP_RX.search(question)
    if filters.intent == "top" or top is not None:
        limit = filters.limit or (int(top["n"]) if top is not None and top["n"] else None)
        return "top", {"limit": limit}
    largest, smallest = _MAX_RX.search(question), _MIN_RX.search(question)
    if largest or smallest:
        if largest and smallest:
            return ("max" if largest.start() < smallest.start() else "min"), {}
        return ("max" if largest else "min"), {}
    if _SUM_RX.search(question) and not _COUNT_RX.search(question):
        return "sum", {}
    if _EXPLAIN_RX.search(question) or filters.intent == "explain":
        return "explain", {}
    if _COUNT_RX.search(question) or filters.intent == "count":
        return "count", {}
    if _LONG_RX.search(question):
        return "max", {}
    return "list", {}


# --- the field an operation is about ------------------------------------------------------------------

_IP_NOUNS = frozenset({"ip", "address", "addresse", "client", "datanode", "peer", "rhost", "remote"})
_HOST_NOUNS = frozenset({"host", "hostname", "node", "machine", "server", "datanode", "endpoint"})
_PROCESS_NOUNS = frozenset({"process", "program", "daemon", "component", "service", "application"})
_USER_NOUNS = frozenset({"user", "username", "account", "login"})
_DURATION_WORDS = frozenset({"long", "longest", "shortest", "slowest", "fastest", "time", "duration", "latency",
                             "took", "ms", "millisecond", "milliseconds", "second", "seconds", "timeout", "elapsed",
                             "delay"})  # fmt: skip
_SIZE_WORDS = frozenset({"byte", "bytes", "size", "sizes", "large", "largest", "smallest", "biggest", "length",
                         "kb", "mb", "gb"})  # fmt: skip
_DURATION_NAMES = re.compile(r"time|latency|duration|took|elapsed|timeout|ms$|delay", re.IGNORECASE)
_SIZE_NAMES = re.compile(r"size|bytes|length|len$", re.IGNORECASE)
# Words that describe the operation, not the field.
_OPERATION_WORDS = frozenset({
    "what", "which", "how", "many", "much", "was", "were", "is", "the", "a", "an", "of", "in", "did", "most", "top",
    "highest", "lowest", "largest", "smallest", "biggest", "longest", "shortest", "slowest", "fastest", "maximum",
    "minimum", "max", "min", "sum", "average", "avg", "mean", "median", "value", "number", "count",
    "distinct", "different", "unique", "often", "common", "frequent", "there", "times",
})  # fmt: skip
# Fields named after the preposition before their value ("from <IP>"): a question's "from" or "to" does
# not name them.
_PREPOSITIONS = frozenset({"from", "for", "to", "by", "at", "on", "in", "with", "of", "out", "up", "into", "via"})
# Short names logs use for the nouns of questions.
_ABBREVIATIONS = {"block": "blk", "address": "addr", "message": "msg", "request": "req", "response": "resp",
                  "length": "len", "process": "proc", "session": "sid", "identifier": "id"}


def _name_parts(name: str) -> set[str]:
    parts = {part for part in re.split(r"[_\-.]", name.lower()) if part and not part.isdigit()}
    parts |= {_singular(part) for part in parts}
    parts |= {noun for noun, short in _ABBREVIATIONS.items() if short in parts}
    return parts - _PREPOSITIONS


def _noun_phrase(question: str, kind: str) -> list[str]:
    """The words naming what is ranked or counted: "which *status codes*", "how many distinct *remote hosts*"."""
    lowered = question.lower()
    pattern = (
        r"\b(?:which|what|top\s+\d+|top|how\s+many|number\s+of|count(?:\s+the)?)\s+"
        r"(?:(?:different|distinct|unique|the|of)\s+)*(?P<phrase>[a-z][a-z_ -]*)"
    )
    match = re.search(pattern, lowered)
    if match is None:
        return []
    words = []
    for word in match["phrase"].split():
        if word in _STOP_PHRASE or (word.endswith("ed") and len(word) > 4 and words):
            break
        words.append(word)
        if len(words) == 3:
            break
    return words


_MEASURED_RX = re.compile(
    r"\b(?:biggest|largest|max|maximum|highest|longest|slowest|peak|greatest|smallest|min|minimum|lowest|shortest"
    r"|fastest|quickest|average|avg|mean|median|total|sum\s+of|p\d{1,2})\s+(?:(?:number|value|amount)\s+of\s+)?"
    r"(?P<phrase>[a-z][a-z_ -]*)",
    re.IGNORECASE,
)


def _measured_words(question: str) -> set[str]:
    """The words right after "highest", "average", "total"...: what is measured ("highest *progress*")."""
    match = _MEASURED_RX.search(question)
    if match is None:
        return set()
    words: list[str] = []
    for word in match["phrase"].lower().split():
        if word in _STOP_PHRASE or word in ("of", "a", "an", "the", "reported", "used", "in"):
            break
        words.append(word)
        if len(words) == 4:
            break
    return _stems(set(words) | {_singular(word) for word in words})


_STOP_PHRASE = frozenset({
    "was", "were", "is", "are", "had", "have", "has", "did", "do", "does", "got", "in", "on", "at", "by", "for",
    "from", "to", "with", "that", "which", "who", "most", "more", "the", "of", "logged", "sent", "tried", "failed",
    "opened", "requested", "used", "found", "returned", "triggered", "hit", "made", "connected", "generated",
    "ran", "reached", "expired", "terminated", "deleted", "received", "synchronized", "when", "during", "where",
})  # fmt: skip


def _is_address_field(info: KnownField) -> bool:
    return info.type == "ip" or (info.type == "string" and info.example is not None
                                 and _IP_RX.fullmatch(info.example) is not None)


def _score_field(
    info: KnownField, words: _QuestionWords, kind: str
) -> float:
    parts = _name_parts(info.name)
    lowered = info.name.lower()
    score = 0.0
    noun_words = words.noun
    head = _singular(noun_words[-1]) if noun_words else None
    modifiers = {_singular(word) for word in noun_words[:-1]}
    address = _is_address_field(info)
    if head is not None:
        if head == lowered or head in parts:
            score += 5
        if modifiers & parts:
            score += 2  # "child processes": the child field
        elif len(head) >= 4 and head in lowered and head not in parts:
            score += 2  # "host" in rhost
        if head in _IP_NOUNS and address:
            score += 3
        if head in _HOST_NOUNS and (address or "host" in lowered):
            score += 2
        if head in _USER_NOUNS and parts & _USER_NOUNS:
            score += 4
        if head == "name" and modifiers & _USER_NOUNS and parts & _USER_NOUNS:
            score += 4
        if (head in _IP_NOUNS | _HOST_NOUNS | _USER_NOUNS) and info.type in ("int", "float"):
            score -= 3  # addresses, hosts and users are not numbers
    measure = kind in ("max", "min", "sum", "avg", "percentile")
    # A question word that is the field's name or a part of it ("port", "size"), or most of a compound
    # name ("altitude" in totalaltitude).
    exact = bool(parts & words.all)
    inside = [word for word in words.all - _PREPOSITIONS
              if len(word) >= 5 and word in lowered and len(word) * 2 >= len(lowered)]
    if (exact or inside) and not (modifiers & parts):
        score += 2 if measure else 1.5
        score += 0.1 * max((len(word) for word in inside), default=0)
    if measure and (parts & words.measured or any(word in lowered for word in words.measured if len(word) >= 5)):
        score += 2
    if words.duration and (info.unit == "s" or _DURATION_NAMES.search(lowered)):
        score += 4
    if words.size and (info.unit == "B" or _SIZE_NAMES.search(lowered)):
        score += 4
    # The templates that carry the field: a question about "received blocks" is about their fields.
    context = _stems(set(info.context))
    overlap = len(context & words.all)
    score += min(overlap, 4) * (1.0 if measure else 0.5)
    if measure:
        best_template = max((len(_stems(set(words_of)) & words.measured) for words_of in info.templates),
                            default=len(context & words.measured))
        score += 1.5 * min(best_template, 4)
        if words.unit is not None:
            # "in ms", "in bytes": the question names the unit of the value it wants.
            if info.unit == words.unit:
                score += 4
            elif info.unit is None and not (_DURATION_NAMES.search(lowered) or _SIZE_NAMES.search(lowered)):
                score -= 2
    elif info.kind == "measure" and kind in ("top", "count_distinct"):
        score -= 1  # quantities are added up, not told apart
    if re.fullmatch(r"arg\d+(?:_\w+)?", lowered):
        score -= 0.5  # a position, not a name: only when its templates fit the question better
    if measure:
        if info.kind == "identifier":
            if not exact:
                return -1.0  # ports, pids, ids are never measures unless the question names them
            score -= 2
        if kind in ("sum", "avg", "percentile") and info.kind != "measure":
            return -1.0
        if info.type not in ("int", "float"):
            return -1.0
    return score


@dataclass(frozen=True)
class _QuestionWords:
    all: set[str]
    noun: list[str]
    measured: set[str]
    duration: bool
    size: bool
    unit: str | None = None


_MEASURE_KINDS = ("max", "min", "sum", "avg", "percentile")
_IN_UNIT_RX = re.compile(r"\bin\s+(?P<unit>ms|milliseconds?|seconds?|secs?|minutes?|bytes?|kb|mb|gb)\b", re.IGNORECASE)


_ASKED_UNITS = {"ms": "ms", "millisecond": "ms", "milliseconds": "ms", "second": "s", "seconds": "s", "sec": "s",
                "secs": "s", "minute": "min", "minutes": "min", "byte": "bytes", "bytes": "bytes", "kb": "KiB",
                "mb": "MiB", "gb": "GiB"}  # fmt: skip


def asked_unit(question: str) -> str | None:
    """The unit the question wants its value said in ("the slowest read, in ms" -> "ms"), if it names one."""
    match = _IN_UNIT_RX.search(question)
    return _ASKED_UNITS.get(match["unit"].lower()) if match is not None else None


def _named_unit(question: str) -> str | None:
    match = _IN_UNIT_RX.search(question)
    if match is None:
        return None
    word = match["unit"].lower()
    return "B" if word.startswith(("byte", "kb", "mb", "gb")) else "s"


def _choose_field(
    question: str, kind: str, store: StoreVocabulary, notes: list[str]
) -> str | None:
    every_word = _word_forms(question)
    # "total" says to add up, like "sum": not a word of the field's templates ("total bytes" is not the size
    # logged beside "total_vcpus").
    said_sum = _word_forms(" ".join(_SUM_RX.findall(question))) if kind == "sum" else set()
    question_words = _stems(every_word - _OPERATION_WORDS - said_sum)
    noun_words = _noun_phrase(question, kind) if kind in ("top", "count_distinct") else []
    words = _QuestionWords(
        all=question_words, noun=noun_words, measured=_measured_words(question),
        duration=bool(every_word & _DURATION_WORDS) or bool(_LONG_RX.search(question)),
        size=bool(every_word & _SIZE_WORDS),
        unit=_named_unit(question),
    )
    head = _singular(noun_words[-1]) if noun_words else None
    column = _column_for(head, noun_words, question_words, store)
    best: tuple[float, int, str] | None = None
    for info in store.fields:
        score = _score_field(info, words, kind)
        if score <= 0:
            continue
        candidate = (score, info.events, info.name)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if column is not None:
        return column
    if best is not None and (best[0] >= 2 or kind in ("max", "min", "sum", "avg", "percentile")):
        return best[2]
    if column is not None:
        return column
    if kind in ("top", "count_distinct") and head is not None and head in _HOST_NOUNS and store.hosts:
        return "host"
    if kind in ("max", "min", "sum", "avg", "percentile"):
        notes.append("no numeric field fits the question" if store.fields_enabled
                     else "named fields are off, so no field can be computed over")
    return None


def _naming_words(noun_words: Sequence[str], field_name: str, store: StoreVocabulary) -> set[str]:
    """The words of the counted noun phrase that name the field, so that lines need not contain them.

    The head ("which *users*") names it; so does a modifier that is part of the field's name ("*child*
    processes": field ``child``). A modifier that the field's own templates print says which of its lines are
    meant: "different *invalid* user names" counts the users of "Invalid user admin from ...", not of every
    line with a user, so "invalid" stays a word the lines must contain."""
    info = next((known for known in store.fields if known.name == field_name), None)
    printed = info.context if info is not None else frozenset()
    parts = _name_parts(field_name)
    words: set[str] = set()
    for position, word in enumerate(noun_words):
        forms = {word, _singular(word)}
        is_head = position == len(noun_words) - 1
        if not is_head and forms & printed and not forms & parts:
            continue
        words |= forms
    return words


def choose_field(question: str, kind: str, store: StoreVocabulary) -> str | None:
    """The field an operation of ``kind`` is about, among ``store``'s fields: what :func:`build_plan` chooses,
    for a caller that knows which fields the matching lines carry."""
    return _choose_field(question, kind, store, [])


def _column_for(
    head: str | None, noun_words: Sequence[str], question_words: set[str], store: StoreVocabulary
) -> str | None:
    """An event column when the question ranks or counts what every line has: its program or its host."""
    if head is None:
        return None
    if head in _PROCESS_NOUNS and store.processes:
        return "process"
    # "which nodes logged the most": the lines' own host, when the logs come from several and nothing in the
    # question says the host is another one (a remote host, a client).
    if head in ("host", "node", "machine", "hostname") and len(store.hosts) > 1 and len(noun_words) == 1:
        return "host"
    return None


# --- field conditions ---------------------------------------------------------------------------------

_COMPARISONS = (
    (r">=|at\s+least|no\s+less\s+than|not\s+below", ">="),
    (r"<=|at\s+most|no\s+more\s+than|not\s+above", "<="),
    (r">|above|over|more\s+than|greater\s+than|higher\s+than|larger\s+than|longer\s+than|exceeding", ">"),
    (r"<|below|under|less\s+than|lower\s+than|smaller\s+than|shorter\s+than", "<"),
    (r"=|==|is|of|equal\s+to", "="),
)
_OPERATOR_RX = "|".join(f"(?:{pattern})" for pattern, _ in _COMPARISONS)
# A number or an address right after a noun: "stage 3.0", "status >= 500", "from 1.2.3.4", "took over 2s".
_NUMBER_AFTER_NOUN_RX = re.compile(
    rf"\b(?P<noun>[a-z][a-z_]*)\s*(?:(?P<op>{_OPERATOR_RX})\s*)?"
    r"(?P<value>/?\d{1,3}(?:\.\d{1,3}){3}|[-+]?\d+(?:\.\d+)?)(?P<unit>\s?(?:ms|s|sec|seconds|kb|mb|gb|bytes))?"
    r"(?![\w.:-]*\w)",
    re.IGNORECASE,
)
# A name right after a noun that takes names: "user root", "client web-3", "method POST".
_NAME_NOUNS = ("user", "username", "account", "host", "hostname", "node", "client", "server", "component",
               "method", "program", "container", "executor", "worker", "queue", "topic", "database", "db")
_NAME_AFTER_NOUN_RX = re.compile(
    rf"\b(?P<noun>{'|'.join(_NAME_NOUNS)})\s+(?P<value>[A-Za-z][\w.@-]*[\w])", re.IGNORECASE
)
_NOT_A_NAME = frozenset({
    "name", "names", "id", "ids", "session", "sessions", "account", "accounts", "error", "errors", "failure",
    "failures", "attempt", "attempts", "login", "logins", "request", "requests", "agent", "agents", "activity",
    "invalid", "illegal", "unknown", "failed", "address", "addresses", "port", "ports", "and", "or", "with",
    "without", "that", "who", "which", "when", "where", "has", "had", "have", "was", "were", "is", "are", "did",
})  # fmt: skip
_THRESHOLD_RX = re.compile(
    r"\b(?P<op>above|over|more\s+than|greater\s+than|longer\s+than|below|under|less\s+than|shorter\s+than|at\s+least"
    r"|at\s+most)\s+(?P<number>\d+(?:\.\d+)?)\s?(?P<unit>ms|milliseconds?|s|secs?|seconds?|minutes?|kb|mb|gb|bytes?)\b",
    re.IGNORECASE,
)
_UNIT_TO_BASE = {"ms": (0.001, "s"), "millisecond": (0.001, "s"), "milliseconds": (0.001, "s"), "s": (1, "s"),
                 "sec": (1, "s"), "secs": (1, "s"), "second": (1, "s"), "seconds": (1, "s"), "minute": (60, "s"),
                 "minutes": (60, "s"), "kb": (1024, "B"), "mb": (1024**2, "B"), "gb": (1024**3, "B"),
                 "byte": (1, "B"), "bytes": (1, "B")}  # fmt: skip
# Nouns a value follows without naming a field ("in 2015", "top 5", "at 10:00").
_NOT_FIELD_NOUNS = frozenset({
    "top", "in", "at", "on", "to", "the", "last", "first", "past", "since", "until", "before", "after", "every", "per",
    "between", "and", "or", "around", "about", "than", "p",
})  # fmt: skip
# "returned 404", "HTTP 202": a status code without the word status.
_STATUS_VERBS_RX = re.compile(
    r"\b(?:returned|return|returning|responded|respond|got|gave|http|with)\s+(?P<code>[1-5]\d\d)s?\b", re.IGNORECASE
)


@dataclass
class _Bindings:
    conditions: list[FieldCondition] = field(default_factory=list)
    bound_words: set[str] = field(default_factory=set)  # lower-cased words and values taken by conditions
    notes: list[str] = field(default_factory=list)


def _field_named(noun: str, store: StoreVocabulary) -> KnownField | None:
    lowered = noun.lower()
    forms = {lowered, _singular(lowered)}
    exact = [info for info in store.fields if info.name.lower() in forms]
    if exact:
        return max(exact, key=lambda info: info.events)
    return None


def _typed(value: str, info: KnownField) -> object:
    if info.type in ("int", "float") and _NUMBER_RX.fullmatch(value):
        number = float(value)
        return int(number) if number.is_integer() and "." not in value else number
    match = _IP_RX.fullmatch(value)
    if match:
        return match.group(1)
    return value


def _bind_conditions(question: str, filters: QuestionFilters, store: StoreVocabulary) -> _Bindings:
    bindings = _Bindings()
    if not store.fields:
        if not store.fields_enabled:
            for match in _NUMBER_AFTER_NOUN_RX.finditer(question):
                noun = match["noun"].lower()
                if noun not in _NOT_FIELD_NOUNS and noun not in QUESTION_ONLY:
                    bindings.notes.append(
                        f"named fields are off ([ingest] fields = true): {noun} {match['value']} is matched as text"
                    )
        return bindings
    for match in _NUMBER_AFTER_NOUN_RX.finditer(question):
        noun, op_text, value = match["noun"], match["op"], match["value"]
        if noun.lower() in _NOT_FIELD_NOUNS:
            continue
        info = _field_named(noun, store)
        if info is None:
            continue
        is_ip = _IP_RX.fullmatch(value) is not None
        if noun.lower() in _PREPOSITIONS and not (is_ip and _is_address_field(info)):
            continue  # "for 10.0.0.1" binds only to a field that holds addresses
        if info.type == "ip" and not is_ip:
            continue
        if info.type in ("int", "float") and is_ip:
            continue
        operator = "="
        if op_text:
            operator = next(op for pattern, op in _COMPARISONS if re.fullmatch(pattern, op_text.strip(), re.I))
        typed: object = _typed(value, info)
        if match["unit"] and isinstance(typed, int | float) and info.unit:
            scale, _ = _UNIT_TO_BASE[match["unit"].strip().lower()]
            typed = float(typed) * scale
        bindings.conditions.append(FieldCondition(info.name, operator, typed, source_text=match.group(0).strip()))
        bindings.bound_words.update({noun.lower(), value.lower(), value.lower().lstrip("/")})
    # A name the question already reads as a host, process or source filter is not also a field value.
    named = {value.lower() for value in (*filters.hosts, *filters.processes, *filters.sources)}
    for match in _NAME_AFTER_NOUN_RX.finditer(question):
        noun, value = match["noun"], match["value"]
        info = _field_named(noun, store)
        if info is None or info.type not in ("string", "id") or value.lower() in _NOT_A_NAME:
            continue
        if value.lower() in named:
            continue
        if value.lower() in QUESTION_ONLY or value.lower() in bindings.bound_words:
            continue
        bindings.conditions.append(FieldCondition(info.name, "=", value, source_text=match.group(0)))
        bindings.bound_words.update({noun.lower(), value.lower()})
    for match in _STATUS_VERBS_RX.finditer(question):
        info = _field_named("status", store)
        code = match["code"]
        if info is None or code.lower() in bindings.bound_words:
            continue
        bindings.conditions.append(FieldCondition(info.name, "=", _typed(code, info), source_text=match.group(0)))
        bindings.bound_words.add(code)
    for match in _THRESHOLD_RX.finditer(question):
        if any(condition.source_text.endswith(match.group(0)) for condition in bindings.conditions):
            continue
        scale, base = _UNIT_TO_BASE.get(match["unit"].lower(), (1, "s"))
        measures = [info for info in store.fields if info.kind == "measure" and info.unit == base]
        if not measures:
            continue
        info = max(measures, key=lambda item: (len(item.context & _word_forms(question)), item.events))
        operator = next(op for pattern, op in _COMPARISONS if re.fullmatch(pattern, match["op"], re.I))
        bindings.conditions.append(
            FieldCondition(info.name, operator, float(match["number"]) * scale, source_text=match.group(0))
        )
        bindings.bound_words.add(match["number"].lower())
    return bindings


# --- text terms ---------------------------------------------------------------------------------------


# An identifier as logs write them: letters and digits joined by _ or - ("attempt_1445_0020_m_000002",
# "bf8c824d-f099", "rdd_42"); not a plain number, version or address.
_ID_LIKE_RX = re.compile(r"(?=[\w-]*[a-z])(?=[\w-]*\d)[a-z0-9]+(?:[_-][a-z0-9]+)+", re.IGNORECASE)


def _identifier_kinds(question: str) -> set[str]:
    """The nouns right before an identifier, naming what it is: "task attempt *attempt_1445_..*", "instance
    *bf8c824d-f099*", or the one before "of" it ("a *block* of rdd_42"). The identifier says which lines are
    meant; the noun is how the question calls it, and lines about the id need not say it (Hadoop's lines on
    an attempt rarely say "task"; Spark's "Partition rdd_42_1 not found" is about a block of rdd_42)."""
    kinds: set[str] = set()
    for match in _ID_LIKE_RX.finditer(question):
        before = _WORD_RX.findall(question[: match.start()].lower().rstrip(" :#"))
        if len(before) >= 2 and before[-1] == "of":
            # "a *block* of rdd_42": what the parts of the id are called; not "failures of job_42".
            before = [] if _verb_like(before[-2]) else before[-2:-1]
        for word in reversed(before[-2:]):
            if word in QUESTION_ONLY or word in _PREPOSITIONS or word in _STOP_PHRASE or any(c.isdigit() for c in word):
                break
            kinds.add(word)
    return kinds


def _text_terms(
    filters: QuestionFilters, bindings: _Bindings, ignore: Collection[str], kinds: Collection[str] = (),
    acronyms: Collection[str] = (),
) -> tuple[list[TextTerm], list[str]]:
    """The terms a matching line must contain, and the words left out (with why)."""
    terms: list[TextTerm] = []
    ignored: list[str] = []
    keywords = {keyword.lower() for keyword in filters.keywords}
    seen: set[str] = set()
    words = _phrases(_split_query(filters.text_query))
    compounds = _compounds(words, keywords, acronyms)
    for raw in words:
        text = raw.strip(".,;:!?()[]{}<>'\"") if not raw.startswith('"') else raw.strip('"')
        lowered = text.lower()
        if not text or lowered in seen:
            continue
        seen.add(lowered)
        identifier = lowered in keywords or any(char.isdigit() for char in text)
        if lowered in bindings.bound_words or lowered.lstrip("/") in bindings.bound_words:
            ignored.append(f"{text} (a field condition)")
            continue
        if lowered in ignore:
            ignored.append(f"{text} (says what to compute)")
            continue
        if not identifier and lowered in QUESTION_ONLY:
            ignored.append(f"{text} (a question word)")
            continue
        if not identifier and lowered in kinds:
            ignored.append(f"{text} (names the identifier)")
            continue
        alternatives = () if identifier else tuple(
            alt for alt in (*log_synonyms(lowered), *log_abbreviations(lowered), *compounds.get(lowered, ()))
            if alt != lowered
        )
        pair = text.split()
        word = log_phrase(*pair) if len(pair) == 2 and not raw.startswith('"') else None
        if word is not None:
            # A phrase stands for what logs say in one word ("timed out" -> expired, expiring): matched as
            # the phrase or any of those. "timeout" alone is not one: lines name settings with it.
            alternatives = tuple(dict.fromkeys((text, word, *alternatives)))
            terms.append(TextTerm(text=pair[0], alternatives=alternatives))
            continue
        terms.append(TextTerm(text=text, alternatives=(text, *alternatives) if alternatives else ()))
    return terms, ignored


def _split_query(text_query: str) -> list[str]:
    return re.findall(r'"[^"]+"|\S+', text_query)


def _phrases(words: list[str]) -> list[str]:
    """The words of the query, with two that make one phrase of the log vocabulary joined ("shut down")."""
    joined: list[str] = []
    index = 0
    while index < len(words):
        second = words[index + 1].strip(".,;:!?") if index + 1 < len(words) else ""
        if second and log_phrase(words[index], second):
            joined.append(f"{words[index].lower()} {second.lower()}")
            index += 2
            continue
        joined.append(words[index])
        index += 1
    return joined


def _verb_like(word: str) -> bool:
    return bool(log_synonyms(word)) or is_inflected_verb(word)


def _compounds(words: list[str], keywords: set[str], acronyms: Collection[str] = ()) -> dict[str, tuple[str, ...]]:
    """Two adjacent plain words -> the one word programs make of them, as an alternative of each: logs
    write names of classes and settings in one word ("packet responders" is "PacketResponder", "worker
    env" is "workerEnv"), so a line with the compound matches both words. Their initials too, when the
    logs' patterns print them as a word in capitals (``acronyms``: "resource manager" is "RM")."""
    plain = [word.lower() for word in words]
    found: dict[str, tuple[str, ...]] = {}
    for first, second in itertools.pairwise(plain):
        if not (first.isalpha() and second.isalpha()) or first in keywords or second in keywords:
            continue
        if first in QUESTION_ONLY or second in QUESTION_ONLY or len(first) < 3 or len(second) < 3:
            continue
        if _verb_like(first) or _verb_like(second):
            continue  # "tasks ran", "blocks deleted": a thing and what happened to it, not one name
        names = (first + _singular(second),)
        if first[0] + second[0] in acronyms:
            names = (*names, first[0] + second[0])
        found[first] = (*found.get(first, ()), *names)
        found[second] = (*found.get(second, ()), *names)
    return found


def terms_with_words(plan: Plan, words: Sequence[str]) -> list[TextTerm]:
    """The plan's terms and ``words`` of its question read as text again (level words on logs without levels:
    "how many link *errors*?"), each such word joined with its neighbour in the question into the one word
    programs make of them, as the plan's own words are: "link errors" also matches "Linkerror event interval
    expired"."""
    lowered = {word.lower() for word in words}
    joined: dict[str, tuple[str, ...]] = {}
    for first, second in itertools.pairwise(_words(plan.question)):
        if (first in lowered) == (second in lowered):
            continue  # only pairs of a word read again and a word of the plan
        for word, names in _compounds([first, second], set()).items():
            joined[word] = (*joined.get(word, ()), *names)
    terms = [
        replace(term, alternatives=tuple(dict.fromkeys((term.text, *term.alternatives, *joined[term.text.lower()]))))
        if term.text.lower() in joined and not term.prefix else term
        for term in plan.terms
    ]
    terms.extend(
        TextTerm(text=word, alternatives=(word, *joined[word.lower()]) if word.lower() in joined else ())
        for word in words
    )
    return terms


def acronym_candidates(question: str) -> set[str]:
    """The initials of each two adjacent words of ``question`` that could name one thing ("resource manager"
    -> "RM"): what the store is asked whether its patterns print (see :attr:`StoreVocabulary.acronyms`)."""
    words = _words(question)
    return {
        (first[0] + second[0]).upper()
        for first, second in itertools.pairwise(words)
        if first.isalpha() and second.isalpha() and len(first) >= 3 and len(second) >= 3
        and first not in QUESTION_ONLY and second not in QUESTION_ONLY
        and not (_verb_like(first) or _verb_like(second))
    }


def _with_negated_actions(question: str, terms: list[TextTerm]) -> list[TextTerm]:
    """The terms with each action the question says was not done ("could not reach", "failed to find") read
    as logs write it: the action required (even a word the question parser set aside, such as "find"), and
    the negation matching any word for not doing it ("Can't find", "ERROR IN CONTACTING")."""
    result = list(terms)
    for action in negated_actions(question):
        negation = (action.negation or "not").lower()
        index = next((i for i, term in enumerate(result) if term.text.lower() == negation), None)
        if index is None:
            result.append(TextTerm(text=negation, alternatives=tuple(dict.fromkeys((negation, *NOT_DONE)))))
        else:
            word = result[index].text
            result[index] = replace(result[index], alternatives=tuple(dict.fromkeys((word, *NOT_DONE))))
        if action.verb in QUESTION_ONLY or any(term.text.lower() == action.verb for term in result):
            continue
        synonyms = tuple(word for word in log_synonyms(action.verb) if word != action.verb)
        result.append(TextTerm(text=action.verb, alternatives=(action.verb, *synonyms) if synonyms else ()))
    return result


# --- the plan -----------------------------------------------------------------------------------------


def build_plan(question: str, filters: QuestionFilters, store: StoreVocabulary) -> Plan:
    """The plan of ``question``, given its reading (``filters``) and what the store knows (``store``)."""
    notes: list[str] = []
    kind, params = _operation_kind(question, filters)
    field_name: str | None = None
    by: str | None = None
    if kind in ("top", "count_distinct", "max", "min", "sum", "avg", "percentile"):
        field_name = _choose_field(question, kind, store, notes)
    if kind == "top":
        per = _PER_FIELD_RX.search(question)
        if per is not None:
            noun = _singular(per["noun"].lower())
            candidate = _field_named(noun, store)
            if candidate is not None and candidate.name != field_name:
                by = candidate.name
            elif noun in ("host", "node", "machine") and field_name != "host":
                by = "host"
            elif noun in _PROCESS_NOUNS and field_name != "process":
                by = "process"
    bindings = _bind_conditions(question, filters, store)
    notes.extend(bindings.notes)
    if not store.fields_enabled:
        notes.append("named fields are off ([ingest] fields = true turns them on); values are matched as text")
    # Words that named the operation's field are not required in the lines ("which *users*" -> user field).
    field_words = set()
    if field_name is not None and kind in ("top", "count_distinct"):
        field_words = _naming_words(_noun_phrase(question, kind), field_name, store)
    # The words that said how to compute ("per 6 hours", "top 3", "p95") are not in the lines either, nor
    # the unit the answer is wanted in ("the slowest request, in seconds": request lines say "time: 0.71").
    for pattern in (_SERIES_RX, _TOP_RX, _PERCENTILE_RX, *((_IN_UNIT_RX,) if kind in _MEASURE_KINDS else ())):
        for found in pattern.finditer(question):
            field_words.update(word.lower() for word in re.findall(r"\w+", found.group(0)))
    terms, ignored = _text_terms(filters, bindings, field_words, _identifier_kinds(question), store.acronyms)
    terms = _with_negated_actions(question, terms)
    filters_out = PlanFilters(
        start=filters.time_range.since if filters.time_range else None,
        end=filters.time_range.until if filters.time_range else None,
        levels=tuple(filters.levels), hosts=tuple(filters.hosts), sources=tuple(filters.sources),
        processes=tuple(filters.processes), level_words=tuple(filters.level_words),
    )  # fmt: skip
    operation = Operation(
        kind=kind,  # type: ignore[arg-type]
        field=field_name,
        by=by,
        limit=params.get("limit") if kind == "top" else None,  # type: ignore[arg-type]
        percentile=params.get("percentile"),  # type: ignore[arg-type]
        interval=params.get("interval"),  # type: ignore[arg-type]
    )
    return Plan(
        question=question, filters=filters_out, terms=tuple(terms), conditions=tuple(bindings.conditions),
        operation=operation, ignored=tuple(ignored), notes=tuple(dict.fromkeys(notes)),
    )  # fmt: skip
