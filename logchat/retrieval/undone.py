"""Where a line's fixed text says a thing was not done: asked for, tried, failed, or going on when
something else happened.

A question about something done ("how many blocks were deleted?", "which hosts were connected?") is not
about "BLOCK* ask 10.250.1.2:50010 to delete blk_…" (the namenode asks; the datanode's "Deleting block"
line is the deletion), "Could not connect to proxy …" or "Got exception while serving blk_… to /10.0.0.1"
(the exception is the event; the serving did not happen). The verb is there, in a form that says so:

- an infinitive, the verb's plain form after "to": "ask … to delete", "failed to delete", "unable to open",
  "scheduled to be deleted";
- a negation right before it: "could not connect", "was not removed", "cannot open", "couldn't connect";
- a clause of what was going on, "while" or "when" and the -ing form: "exception while serving",
  "error when deleting".

Pure text work on a template's fixed words; :mod:`logchat.retrieval.fulltext` decides which templates a
word then does not select.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from logchat.retrieval.log_vocabulary import is_inflected_verb, stem

__all__ = ["asks_about_undone", "said_as_done", "said_only_as_not_done"]

_WORD_RX = re.compile(r"[a-z]+")
_NEGATIONS = frozenset({"not", "cannot", "never"})
# "couldn't connect" is the words "couldn", "t", "connect" to the letter runs.
_CONTRACTED_NOT = "t"
_GOING_ON = frozenset({"while", "when"})


# Question words that ask about what was not done ("blocks that could *not* be deleted", "*failed* to open"):
# then lines that say so are the ones meant.
_UNDONE_WORDS = frozenset({
    "not", "no", "never", "cannot", "unable", "fail", "failed", "fails", "failing", "failure", "failures", "try",
    "tried", "tries", "trying", "attempt", "attempted", "attempts", "while", "when", "ask", "asked", "request",
    "requested", "requests", "pending", "scheduled",
})  # fmt: skip


def said_as_done(word: str) -> bool:
    """Whether a question word says a thing was done: a past form ("deleted", "sent"), not "-ing" ("while
    serving" is what was going on) nor the plain form ("to delete")."""
    return word.isalpha() and is_inflected_verb(word) and not word.lower().endswith("ing")


def asks_about_undone(words: Collection[str]) -> bool:
    """Whether the question's words ask about something not done, asked for or tried."""
    return any(word.lower() in _UNDONE_WORDS for word in words)


def said_only_as_not_done(body: str, stems: Collection[str]) -> bool:
    """Whether every word of ``body`` (a template's fixed text) that a form with one of ``stems`` matches is
    said as not done (see the module's docstring); False when no word matches. Loose on purpose: a word that
    may be matched must be seen, so that a template where the verb also stands as done keeps matching."""
    words = _WORD_RX.findall(body.lower())
    found = False
    for index, word in enumerate(words):
        if not _matches(word, stems):
            continue
        found = True
        if not _not_done(words, index):
            return False
    return found


def _matches(word: str, stems: Collection[str]) -> bool:
    word_stem = stem(word)
    return any(
        word_stem == s
        or (word.startswith(s) and len(word) - len(s) <= 4)
        or (len(word_stem) >= 3 and s.startswith(word_stem))
        for s in stems
    )


def _not_done(words: list[str], index: int) -> bool:
    word = words[index]
    before = words[index - 1] if index >= 1 else ""
    two_before = words[index - 2] if index >= 2 else ""
    if before in _NEGATIONS or (before == _CONTRACTED_NOT and two_before.endswith("n")):
        return True
    if before == "be" and two_before == "to":
        return True
    if before == "to" and not is_inflected_verb(word) and not word.endswith("s"):
        return True  # "to delete", not "changed to running" nor "sent to servers"
    return before in _GOING_ON and word.endswith("ing")
