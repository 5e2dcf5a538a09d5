"""The values of a template's variables in its events' messages, counted (pure string work).

A message is read against its template (:func:`logchat.ingest.fields.extract_variables`); the values are
counted per variable name, secrets masked, and a variable named like a credential is never shown. The named
fields stored with the events hold the same values under other names (`from` where the variable is `ip`):
:func:`count_field_values` counts those under the variables' names, without reading the messages again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from logchat.ingest.fields import extract_variables, variable_labels_of_fields, variables_of_field
from logchat.redaction import MASK, mask_secrets

TOP_VALUES = 5

# A variable named like a credential ("password hunter2", no "=" for the masker to see) is never shown.
_CREDENTIAL_NAME = re.compile(r"pass|pwd|token|secret|key|cookie|sess|auth|credential|bearer", re.IGNORECASE)


@dataclass(frozen=True)
class TopValues:
    """Most frequent values per variable of the events read; ``exact`` when all matching events were read."""

    exact: bool
    events_read: int
    values: dict[str, list[tuple[str, int]]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "exact": self.exact,
            "events_read": self.events_read,
            **{name: [[value, count] for value, count in pairs] for name, pairs in self.values.items()},
        }


def count_values(template: str, messages: Iterable[str]) -> Counter[tuple[str, str]]:
    """(variable name, value) -> how many of ``messages`` hold it."""
    found: Counter[tuple[str, str]] = Counter()
    for message in messages:
        found.update(extract_variables(template, message))
    return found


def count_field_values(template: str, stored: Iterable[Mapping[str, Any] | None]) -> Counter[tuple[str, str]] | None:
    """What :func:`count_values` counts in the messages, counted from the named fields stored with the same events
    instead. None when they cannot stand for the messages: an event without its fields read, a field that is no
    variable of the template (read from a line that did not line up with it), a number written in another
    form than the message's (a float: "1.50" is stored as 1.5), or a template whose tokens the two readings
    split differently (see :func:`logchat.ingest.fields.variable_labels_of_fields`)."""
    labels = variable_labels_of_fields(template)
    if labels is None:
        return None
    per_field: Counter[tuple[str, Any]] = Counter()
    for fields in stored:
        if fields is None:
            return None
        per_field.update(fields.items())
    found: Counter[tuple[str, str]] = Counter()
    for (name, value), count in per_field.items():
        if not isinstance(value, str | int) or isinstance(value, bool):
            return None
        pairs = variables_of_field(labels, name, str(value))
        if pairs is None:
            return None
        for pair in pairs:
            found[pair] += count
    return found


def top_by_name(counts: Counter[tuple[str, str]], top: int = TOP_VALUES) -> dict[str, list[tuple[str, int]]]:
    """The ``top`` most frequent values of each variable, the variables seen most first."""
    by_name: dict[str, Counter[str]] = {}
    for (name, value), count in counts.items():
        if _CREDENTIAL_NAME.search(name):
            shown = MASK
        elif value.replace(".", "").isdigit():
            shown = value  # numbers and addresses: every word the masker looks for has a letter or a ":"
        else:
            shown = mask_secrets(value)
        by_name.setdefault(name, Counter())[shown] += count
    ordered = sorted(by_name.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    return {name: sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:top] for name, values in ordered}
