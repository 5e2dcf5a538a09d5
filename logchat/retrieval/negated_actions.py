"""Actions a question says were not done: "could not reach", "failed to find", "unable to connect".

A question says an action did not happen; logs say it with a word of failure next to the action, in many ways:
"Can't find child 6740", "ERROR IN CONTACTING RM", "Unable to connect", "failed to open", "could not resolve".
So the action stays a word the line must contain (with the words logs use for it), and the question's negation
matches any of the words logs write for not doing something (:data:`NOT_DONE`). A negation that negates no
action ("no answer", "partition not found") keeps the plain negations of the log vocabulary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["NOT_DONE", "NegatedAction", "negated_actions"]

# What logs write for an action that was not done: a negation, or the failure or error of the action.
NOT_DONE: tuple[str, ...] = (
    "not", "no", "unable", "cannot", "can't", "couldn't", "failed", "failure", "fail", "fails", "error",
    "unsuccessful",
)  # fmt: skip

_AUXILIARIES = r"could|can|did|does|do|would|will|was|were|is|are|has|have|had"
# "could *it* not reach", "why couldn't *the client* connect": the subject of a question between the auxiliary
# and its negation or verb.
_SUBJECTS = r"it|they|we|he|she|i|you|this|that|there|(?:the|a|an)\s+[a-z]+"
_NEGATED_RX = re.compile(
    rf"\b(?P<negation>(?:{_AUXILIARIES})(?:\s+(?:{_SUBJECTS}))?\s+(?P<not>not)|(?:{_AUXILIARIES})n't(?:\s+(?:{_SUBJECTS}))?|cannot|can't|(?P<unable>unable)\s+to"
    r"|(?P<fail>fail(?:s|ed|ing)?)\s+to)\s+(?:be\s+|been\s+|have\s+)?(?P<verb>[a-z]{3,})\b",
    re.IGNORECASE,
)
# Words after a negation that are not an action done to something ("could not be more", "did not even").
_NOT_ACTIONS = frozenset({"more", "less", "even", "yet", "any", "all", "the", "only", "just", "also", "been"})


@dataclass(frozen=True)
class NegatedAction:
    """One negated action of a question: the word that says "not" as the question's text query keeps it
    ("not", "fail", "unable", "cannot"; None when the question's words hold none, as with "couldn't"), and
    the action."""

    negation: str | None
    verb: str


def negated_actions(question: str) -> list[NegatedAction]:
    """The negated actions of ``question``, in order: "how many times could it not reach the RM?" ->
    [NegatedAction("not", "reach")]; "when did X first fail to find a child?" -> [NegatedAction("fail", "find")]."""
    found = []
    for match in _NEGATED_RX.finditer(question):
        verb = match["verb"].lower()
        if verb in _NOT_ACTIONS:
            continue
        if match["not"]:
            negation: str | None = match["not"]
        elif match["unable"]:
            negation = match["unable"]
        elif match["fail"]:
            negation = match["fail"]
        elif match["negation"].lower() == "cannot":
            negation = match["negation"]
        else:
            negation = None  # "can't", "couldn't": words the question's text query leaves out
        found.append(NegatedAction(negation=negation, verb=verb))
    return found
