"""The values of a template's variables in its events' messages, counted (pure string work).

A message is read against its template (:func:`logchat.ingest.fields.extract_variables`); the values are
counted per variable name, secrets masked, and a variable named like a credential is never shown.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from logchat.ingest.fields import extract_variables
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


def top_by_name(counts: Counter[tuple[str, str]], top: int = TOP_VALUES) -> dict[str, list[tuple[str, int]]]:
    """The ``top`` most frequent values of each variable, the variables seen most first."""
    by_name: dict[str, Counter[str]] = {}
    for (name, value), count in counts.items():
        shown = MASK if _CREDENTIAL_NAME.search(name) else mask_secrets(value)
        by_name.setdefault(name, Counter())[shown] += count
    ordered = sorted(by_name.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    return {name: sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:top] for name, values in ordered}
