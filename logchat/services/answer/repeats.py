"""Syslog's repeat notes: "message repeated 5 times: [ Failed password for root … ]" and "last message repeated
3 times" are notes that the line before them came again, not more lines of that kind.

A question that names a kind of line ("failed passwords for root") counts the lines of that kind; a note quotes
the line's words, so it matches them too, and would be counted as one more line of the kind while it stands for
several. The notes are left out of the matches when other lines match as well (a notice says how many), unless
the question asks about repeats.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from logchat.storage.search_repo import PatternStats

__all__ = ["asks_about_repeats", "repeat_note_templates"]

# The template of a note: "message repeated <NUM> times: [ … ]" (rsyslog), "last message repeated <NUM> times"
# (sysklogd); the count is a placeholder, or the number itself when the miner has seen only one.
_REPEAT_NOTE_RX = re.compile(r"^\s*(?:last\s+)?message\s+repeated\s+(?:<[^<>\s]*>|\d+)\s+times\b", re.IGNORECASE)
_REPEAT_WORD_RX = re.compile(r"\brepeat", re.IGNORECASE)


def repeat_note_templates(patterns: Iterable[PatternStats]) -> frozenset[int]:
    """The templates among ``patterns`` that are repeat notes, when some other template matched too (the notes
    alone are what a question matched, and stay)."""
    notes = {p.template_id for p in patterns if p.template_id is not None and _REPEAT_NOTE_RX.match(p.template)}
    others = [p for p in patterns if p.template_id not in notes]
    return frozenset(notes) if others else frozenset()


def asks_about_repeats(question: str) -> bool:
    """Whether the question is about the notes themselves ("how many messages were repeated?")."""
    return _REPEAT_WORD_RX.search(question) is not None
