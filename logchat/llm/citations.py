"""Find the evidence ids an answer cites, check them against the evidence given, render them.

The model is asked to cite like ``[E3]``, ``[E1, E4]`` or ``[E1][E2]``. Only brackets that hold
nothing but ids (and separators) count as citations, so "[ERROR]" or "[E3 was the first]" do not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_BRACKET = re.compile(r"\[([^\[\]\n]{1,200})\]")
_CITATION_BODY = re.compile(r"\s*E\d+(?:\s*(?:,|;|&|\band\b)?\s*E\d+)*\s*", re.IGNORECASE)
_ID = re.compile(r"E(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class CitationCheck:
    cited: list[str]
    unknown: list[str]
    # No unknown ids, and at least one citation whenever there was evidence to cite.
    ok: bool


def _ids_in(body: str) -> list[str] | None:
    if not _CITATION_BODY.fullmatch(body):
        return None
    # "E03" and "e3" both mean E3.
    return [f"E{int(number)}" for number in _ID.findall(body)]


def extract_citations(answer: str) -> list[str]:
    """Cited evidence ids in order of first appearance, without repeats."""
    seen: dict[str, None] = {}
    for match in _BRACKET.finditer(answer):
        for evidence_id in _ids_in(match.group(1)) or ():
            seen.setdefault(evidence_id, None)
    return list(seen)


def citation_spans(answer: str) -> list[tuple[int, int]]:
    """(start, end) of each citation bracket in ``answer``: the digits of ids are not numbers of the answer."""
    return [match.span() for match in _BRACKET.finditer(answer) if _ids_in(match.group(1)) is not None]


def check_citations(answer: str, known_ids: Iterable[str]) -> CitationCheck:
    known = set(known_ids)
    cited = extract_citations(answer)
    unknown = [evidence_id for evidence_id in cited if evidence_id not in known]
    ok = not unknown and (bool(cited) or not known)
    return CitationCheck(cited=cited, unknown=unknown, ok=ok)


def render_citations(answer: str, evidence_by_id: Mapping[str, Mapping[str, Any]]) -> str:
    """Replace ``[E3]`` with ``[path:line]`` for a terminal; unknown ids are left as written."""

    def replace(match: re.Match[str]) -> str:
        ids = _ids_in(match.group(1))
        if ids is None:
            return match.group(0)
        places = []
        for evidence_id in ids:
            item = evidence_by_id.get(evidence_id)
            places.append(f"{item.get('path', '?')}:{item.get('line', '?')}" if item else evidence_id)
        return "[" + ", ".join(places) + "]"

    return _BRACKET.sub(replace, answer)
