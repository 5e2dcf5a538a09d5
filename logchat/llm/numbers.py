"""Find the numbers an answer states that nothing computed gave the model.

Every number a user sees must be computed by code. A model's answer is checked against what it was
given: the question, the computed facts and evidence lines of the prompt, and every tool result. A
number in the answer that none of them holds ("There were 251 such events" when no count said 251) is
unverified: ``ask --json`` lists it under ``unverified_numbers`` and the terminal shows it after the answer.

A number is a run of digits, with thousands separators (``1,234`` is 1234), a decimal part (``3.50`` is
3.5) or more dotted parts (``10.0.0.1``, compared whole). Digits glued to the end of a word are part of
a name, not a number (``E3``, ``p95``, ``ssh2``, ``blk_42``). Numbers written as words are not checked.
In the texts given to the model, every run of digits counts, so a value read from the middle of a log
token (``pid=4242``, ``sshd[4242]``) is known.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

# In an answer: not glued to a preceding letter, digit, underscore or dot.
_STATED = re.compile(r"(?<![A-Za-z0-9_.])(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)*")
# In what the model was given: every run of digits, and every dotted run.
_GIVEN_RUNS = re.compile(r"\d+(?:\.\d+)*")
_GIVEN_DIGITS = re.compile(r"\d+")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")


@dataclass(frozen=True)
class NumberCheck:
    # The unverified numbers as written in the answer, in order of first appearance, without repeats.
    unverified: list[str]

    @property
    def ok(self) -> bool:
        return not self.unverified


def canonical(number: str) -> str:
    """One spelling per value: 1,234 -> 1234; 3.50 -> 3.5; 007 -> 7; dotted runs kept as written."""
    if _THOUSANDS.fullmatch(number):
        number = number.replace(",", "")
    parts = number.split(".")
    if len(parts) == 1:
        return str(int(parts[0]))
    if len(parts) == 2:
        whole, fraction = str(int(parts[0])), parts[1].rstrip("0")
        return f"{whole}.{fraction}" if fraction else whole
    return number


def known_numbers(texts: Iterable[str]) -> set[str]:
    """The canonical numbers in the texts the model was given."""
    known: set[str] = set()
    for text in texts:
        for run in _GIVEN_RUNS.findall(text):
            known.add(canonical(run))
            if "." in run:
                known.update(canonical(digits) for digits in _GIVEN_DIGITS.findall(run))
                parts = run.split(".")
                # "0.716" inside "v0.716.2" and "12.5" inside "12.5.1" are read as decimals too.
                known.update(canonical(f"{a}.{b}") for a, b in pairwise(parts))
    return known


def check_numbers(answer: str, known: set[str]) -> NumberCheck:
    """The numbers of ``answer`` that are not in ``known`` (see :func:`known_numbers`)."""
    from logchat.llm.citations import citation_spans

    skip = citation_spans(answer)
    unverified: dict[str, None] = {}
    for match in _STATED.finditer(answer):
        if any(start <= match.start() < end for start, end in skip):
            continue
        if canonical(match.group(0)) not in known:
            unverified.setdefault(match.group(0), None)
    return NumberCheck(unverified=list(unverified))
