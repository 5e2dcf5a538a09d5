"""The values of a batch's fields, counted per (template, field): pure, shared by the writer, which adds them to
the store (logchat.storage.value_counts_repo), and the reader process, which counts a batch itself while the
writer is still busy with the batch before (:class:`SpareCounter`).

A field is counted as the text its SQL reads on both databases: text as it is, integers in decimal. Its values
in a batch are not counted (None) when one of them has another kind (a number with a fraction, true, null, an
object), a text holds NUL or a lone surrogate, or they are more than :data:`VALUE_CAP` different values.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any

import orjson

from logchat.vocabulary import MEASURE

__all__ = ["VALUE_CAP", "BatchCounts", "SpareCounter", "ValueCounts", "count_texts", "fields_by_template"]

# Different values past which a (template, field) is no longer counted. Identifiers a person asks about by
# frequency (addresses, users, hosts, status codes) stay well below it (2,003 client addresses at a million
# sshd lines); ports, order ids and session ids pass it within a few batches, and then cost nothing more.
# At the cap, summing one pair's rows takes about 5 ms on SQLite.
VALUE_CAP = 10_000
_INT64 = 2**63

# {value text: events} of one field over some events, or None: not counted (see the module's docstring).
ValueCounts = Mapping[str, int] | None
# template id -> field name -> its ValueCounts over a batch's events: what the reader process counted.
BatchCounts = dict[int, dict[str, ValueCounts]]


def fields_by_template(events: Iterable[tuple[int | None, str | None]]) -> dict[int, list[str]]:
    """The fields JSON texts of (template id, fields JSON) pairs, one per event, grouped by template; events
    without a template or without fields are left out."""
    grouped: dict[int, list[str]] = {}
    for template_id, encoded in events:
        if template_id is None or encoded is None:
            continue
        bucket = grouped.get(template_id)
        if bucket is None:
            grouped[template_id] = [encoded]
        else:
            bucket.append(encoded)
    return grouped


def count_texts(texts: Sequence[str], names: Iterable[str]) -> dict[str, ValueCounts]:
    """The counts of fields ``names`` over the events whose fields JSON texts are ``texts`` (of one template).
    The texts are decoded in one call, as one array, and each field's values counted by Counter over a C-level
    map: every event's JSON mostly differs (ports, ids, durations), and decoding each text, value by value in
    Python, cost 6 µs per event; reading the values out of each text with a regular expression, 4.5-5.2 µs.
    orjson decodes the array in about 60% of the time the json module takes; the texts it refuses (a lone
    surrogate, which it cannot hold) are decoded by the json module, as before, so that the counts are the same
    (its floats for integers beyond 64 bits are not counted either, as those integers are not)."""
    joined = "[" + ",".join(texts) + "]"
    try:
        objects = orjson.loads(joined)
    except orjson.JSONDecodeError:
        try:
            objects = json.loads(joined)
        except ValueError:  # not as ingest writes fields: none of them is counted
            return dict.fromkeys(names)
    counts: dict[str, ValueCounts] = {}
    for name in names:
        counted = _field_counts(objects, name)
        # More different values in these events alone than the cap: not written only to be deleted.
        counts[name] = None if counted is None or len(counted) > VALUE_CAP else counted
    return counts


def _field_counts(objects: Sequence[dict[str, Any]], name: str) -> Mapping[str, int] | None:
    """{value text: events} of field ``name`` over the decoded fields ``objects``; None when some value is not
    counted. The texts are worked out per kind of value, over all of them at once: a field holds mostly distinct
    values (ports, ids, durations), and one call per value cost the writer more than counting them."""
    # dict.get mapped over the objects with the name and default repeated: a third of what a methodcaller costs.
    values = list(map(dict.get, objects, repeat(name), repeat(_ABSENT)))
    kinds = set(map(type, values))
    kinds.discard(object)  # events without the field
    if not kinds <= _COUNTED_KINDS:
        # A float, true, null, an object: not counted. Checked before counting, where true and 1.0 would be the
        # same key as 1.
        return None
    found = Counter(values)
    found.pop(_ABSENT, None)
    if kinds == _TEXTS:
        # Each value is its own text; one of them holding a NUL or a lone surrogate is one too many for all.
        joined = "".join(found)
        if "\x00" in joined or (not joined.isascii() and not _encodable(joined)):
            return None
        return found
    if kinds == _INTEGERS:
        if found and (min(found) < -_INT64 or max(found) >= _INT64):
            return None
        return dict(zip(map(int.__repr__, found), found.values(), strict=True))
    # Both kinds: 1 and "1" are one text, one value.
    merged: dict[str, int] = {}
    for value, events_n in found.items():
        value_text = _value_text(value)
        if value_text is None:
            return None
        merged[value_text] = merged.get(value_text, 0) + events_n
    return merged


def _value_text(value: Any) -> str | None:
    """The text the fields' SQL reads for ``value`` on both backends; None when they may differ."""
    kind = value.__class__
    if kind is str:
        if not value.isascii() and not _encodable(value):
            return None
        return None if "\x00" in value else value
    if kind is int and -_INT64 <= value < _INT64:
        return int.__repr__(value)
    return None


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False  # a lone surrogate: neither database holds it as it is
    return True


# A field an event does not have.
_ABSENT = object()
_COUNTED_KINDS = frozenset({str, int})
_TEXTS = frozenset({str})
_INTEGERS = frozenset({int})


class SpareCounter:
    """Counts the values of a reader process's batches for the writer not to: used on the batches the reader
    finishes while the writer is still writing the one before, so that the time it would wait is spent on work
    the writer then skips. The writer decides what is counted (it alone knows the store's counting states) and
    counts whatever a batch does not carry.

    Measures are left out (the writer counts none new), and so are the fields this reader has seen come out not
    counted (a value of another kind, or past the cap in one batch) or whose different values passed the cap
    over several batches: the writer no longer counts them, since their values hold every event's and the
    store's hold at least as many. Should it still want one, it counts it itself."""

    __slots__ = ("_done", "_seen")

    def __init__(self) -> None:
        self._done: set[tuple[int, str]] = set()
        self._seen: dict[tuple[int, str], set[str]] = {}  # the different values counted of each pair so far

    def count(self, rows: Sequence[Any], field_rows: Iterable[tuple[Any, ...]]) -> BatchCounts:
        """The counts of the fields of ``rows`` (event rows: template id at 11, fields JSON at 14), by the
        batch's template_fields rows ``field_rows`` (template id, name, type, kind, ...)."""
        counts: BatchCounts = {}
        wanted: dict[int, list[str]] = {}
        for template_id, name, _, kind, *_ in field_rows:
            if kind != MEASURE and (template_id, name) not in self._done:
                wanted.setdefault(template_id, []).append(name)
        if not wanted:
            return counts
        texts = fields_by_template(map(itemgetter(11, 14), rows))
        for template_id, names in wanted.items():
            found = texts.get(template_id)
            if not found:
                continue
            counted = counts[template_id] = count_texts(found, names)
            for name, values in counted.items():
                self._remember((template_id, name), values)
        return counts

    def _remember(self, pair: tuple[int, str], values: ValueCounts) -> None:
        if values is None:
            self._done.add(pair)
            self._seen.pop(pair, None)
            return
        seen = self._seen.get(pair)
        if seen is None:
            seen = self._seen[pair] = set()
        seen.update(values)
        if len(seen) > VALUE_CAP:
            self._done.add(pair)
            del self._seen[pair]
