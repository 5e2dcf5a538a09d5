"""Full-text queries: what a question's text asks for, checked against the store.

A text query is a list of terms. Each term must match (AND), in the message or process of an event:

- A plain word matches through the full-text index, stemmed, so "rejected" finds "reject".
- An identifier with punctuation (an IP, ``blk_-123``, ``10.0.0.1:50010``, a quoted phrase) must appear
  verbatim, with word boundaries and ignoring case: "10.0.0.1" does not match "10.0.0.12".

Question words that no event contains ("why did sshd *reject* *logins*") carry no information about
the logs: :func:`resolve_query` drops them, or replaces them by a few domain synonyms that do occur
("reject" -> failed, invalid, denied...). An identifier that no event contains is not dropped: the
query then matches nothing, which is the true answer.

How the terms become FTS5 or tsvector queries, and the queries themselves, live in
:mod:`logchat.storage.fulltext_repo`; this module decides what to ask and how to rank.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import TYPE_CHECKING, Any

from logchat.storage import fulltext_repo

if TYPE_CHECKING:
    from logchat.storage.db import Session
    from logchat.storage.search_repo import Condition

__all__ = [
    "ResolvedQuery",
    "Term",
    "TextQuery",
    "parse_text_query",
    "relax",
    "resolve_query",
    "search",
]

# Letters and digits: what both FTS5's unicode61 tokenizer and this module call a token.
_TOKEN_RX = re.compile(r"[^\W_]+", re.UNICODE)
_PHRASE_RX = re.compile(r'"([^"]+)"')
_WORD_RX = re.compile(r"\S+")

# Tried only for words that occur nowhere in the store, so they never change a query that works.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "reject": ("failed", "failure", "invalid", "denied", "refused"),
    "login": ("password", "authentication", "session", "accepted"),
    "logon": ("password", "authentication", "session", "accepted"),
    "signin": ("password", "authentication", "session"),
    "crash": ("fatal", "exception", "panic", "segfault", "killed", "aborted"),
    "error": ("failed", "failure", "exception", "fatal"),
    "fail": ("failed", "failure", "error"),
    "slow": ("timeout", "timed", "latency"),
    "outage": ("unreachable", "refused", "timeout", "unavailable"),
    "down": ("unreachable", "refused", "unavailable", "shutdown"),
    "restart": ("restarted", "started", "starting", "shutdown", "stopping"),
    "attack": ("break", "invalid", "failed"),
    "intrusion": ("break", "invalid", "failed"),
    "memory": ("oom", "heap", "outofmemoryerror"),
    "disconnect": ("disconnected", "closed", "reset"),
}
# Above this many hits, ranking by score is replaced by recency (see search()).
RANK_BY_SCORE_UP_TO = 5_000
RANK_ALL_WORDS_UP_TO = 500
_SUFFIXES = ("ations", "ation", "ions", "ion", "ing", "ed", "es", "s")


@dataclass(frozen=True)
class Term:
    text: str  # as written
    tokens: tuple[str, ...]  # lower-cased letter/digit runs
    verbatim: bool = False  # must appear exactly (identifier with punctuation, quoted phrase)
    alternatives: tuple[str, ...] = ()  # synonyms standing in for a word the store lacks
    prefix: bool = False  # a verbatim identifier that may go on in the line: job_42 matches job_42_1

    @property
    def display(self) -> str:
        if self.alternatives:
            return f"{self.text} (~ {', '.join(self.alternatives)})"
        if self.prefix:
            return f"{self.text}… (ids starting with it)"
        return self.text


@dataclass(frozen=True)
class TextQuery:
    terms: tuple[Term, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.terms


@dataclass(frozen=True)
class ResolvedQuery:
    """A text query checked against the store: what is searched, what was dropped and why."""

    required: tuple[Term, ...] = ()
    # With mode "any": at least one of these must match as well as every required term.
    optional: tuple[Term, ...] = ()
    mode: str = "none"  # none (no text condition) | all | any | impossible
    dropped: tuple[str, ...] = ()  # words found in no event
    missing: tuple[str, ...] = ()  # identifiers found in no event (so nothing matches)
    unmatched: tuple[str, ...] = ()  # words left out because no event has them with the others
    expanded: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Per word: the templates it does not select, where it occurs only inside a dotted program name
    # ("deleted" in "NameSystem.delete: ...") or only said as not done ("ask ... to delete").
    inside_names: dict[str, frozenset[int]] = field(default_factory=dict)

    @property
    def excluded_templates(self) -> frozenset[int]:
        """Templates that a required word matches only inside a dotted name or as not done: not matches."""
        return frozenset().union(*(self.inside_names.get(term.text, frozenset()) for term in self.required))

    @property
    def has_condition(self) -> bool:
        return self.mode != "none"

    def describe(self) -> str:
        if self.mode == "none":
            return ""
        required = " AND ".join(term.display for term in self.required)
        if self.mode == "any" and self.optional:
            anyof = " OR ".join(term.display for term in self.optional)
            return f"{required} AND ({anyof})" if required else anyof
        return required

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "terms": [term.text for term in self.required],
            "any_of": [term.text for term in self.optional],
            "dropped": list(self.dropped),
            "missing": list(self.missing),
            "left_out": list(self.unmatched),
            "synonyms": {word: list(alts) for word, alts in self.expanded.items()},
        }


# --- building -------------------------------------------------------------------------------------------


def tokens_of(text: str) -> tuple[str, ...]:
    return tuple(token.lower() for token in _TOKEN_RX.findall(text))


def parse_text_query(text_query: str, keywords: Sequence[str] = ()) -> TextQuery:
    """Terms from the question's text query; ``keywords`` (exact tokens) are matched verbatim."""
    terms: list[Term] = []
    seen: set[str] = set()

    def add(raw: str, *, verbatim: bool) -> None:
        tokens = tokens_of(raw)
        if not tokens:
            return
        key = raw.lower()
        if key in seen:
            return
        seen.add(key)
        # A single run of letters/digits is matched exactly by the index already.
        exact = verbatim and not (len(tokens) == 1 and tokens[0] == raw.lower())
        terms.append(Term(text=raw, tokens=tokens, verbatim=exact))

    remaining = text_query
    for match in _PHRASE_RX.finditer(text_query):
        add(match.group(1).strip(), verbatim=True)
    remaining = _PHRASE_RX.sub(" ", text_query)
    keyword_set = {keyword.lower() for keyword in keywords}
    for word in _WORD_RX.findall(remaining):
        word = word.strip(".,;:!?()[]{}<>'\"")
        if not word:
            continue
        identifier = word.lower() in keyword_set or _looks_like_identifier(word)
        if identifier:
            add(word, verbatim=True)
        else:
            # "payment-gateway" is two words as far as the index is concerned.
            for token in tokens_of(word):
                add(token, verbatim=False)
    for keyword in keywords:
        if keyword.lower() not in seen:
            add(keyword, verbatim=True)
    return TextQuery(tuple(terms))


def _looks_like_identifier(word: str) -> bool:
    return any(char.isdigit() for char in word) and not word.isalpha()


def _stem_key(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def synonyms_for(word: str) -> tuple[str, ...]:
    lowered = word.lower()
    for key in (lowered, _stem_key(lowered), _stem_key(lowered).rstrip("e")):
        if key in SYNONYMS:
            return SYNONYMS[key]
    for key, values in SYNONYMS.items():
        if lowered.startswith(key):
            return values
    return ()


def _without_again(word: str) -> tuple[str, ...]:
    """"recomputed" -> "computed": what was done again is logged as doing it ("computing it"). Tried only
    for words no event contains, so "report" never becomes "port"."""
    lowered = word.lower()
    if lowered.startswith("re") and len(lowered) >= 7 and lowered.isalpha():
        return (lowered[2:],)
    return ()


def resolve_query(session: Session, query: TextQuery) -> ResolvedQuery:
    """Check each term against the store: drop or replace words no event contains."""
    if query.empty:
        return ResolvedQuery()
    kept: list[Term] = []
    dropped: list[str] = []
    missing: list[str] = []
    expanded: dict[str, tuple[str, ...]] = {}
    for term in query.terms:
        if fulltext_repo.term_exists(session, term):
            kept.append(term)
            continue
        if term.verbatim or (len(term.tokens) == 1 and any(c.isdigit() for c in term.tokens[0])):
            missing.append(term.text)
            continue
        alternatives = tuple(
            alt for alt in (*synonyms_for(term.text), *_without_again(term.text))
            if fulltext_repo.term_exists(session, Term(alt, tokens_of(alt)))
        )  # fmt: skip
        if alternatives:
            # The word itself never occurs, so only its synonyms can match.
            kept.append(Term(text=term.text, tokens=(), alternatives=alternatives))
            expanded[term.text] = alternatives
        else:
            dropped.append(term.text)
    if missing:
        return ResolvedQuery(mode="impossible", dropped=tuple(dropped), missing=tuple(missing), expanded=expanded)
    if not kept:
        return ResolvedQuery(mode="none", dropped=tuple(dropped), expanded=expanded)
    excluded = _inside_names(session, kept)
    for text, templates in _said_not_done(session, kept, query.terms).items():
        excluded[text] = excluded.get(text, frozenset()) | templates
    return ResolvedQuery(
        required=tuple(kept), mode="all", dropped=tuple(dropped), expanded=expanded, inside_names=excluded
    )


# A dotted name: a program, class or method as code names it ("NameSystem.delete", "dfs.DataNode"), not
# an address or a version (those hold digits) nor the end of a sentence ("deleted. Next").
_DOTTED_NAME_RX = re.compile(r"(?<![\w.])[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+")
_LETTERS_RX = re.compile(r"[a-z]+")


def _inside_names(session: Session, terms: Sequence[Term]) -> dict[str, frozenset[int]]:
    """For each verb said as something done, the templates where it occurs only as a piece of a dotted
    name (and no word it matches stands on its own): "how many blocks were deleted" is not about "BLOCK*
    NameSystem.delete: blk_… is added to invalidSet", which names the method that logs it. The variable
    parts of the lines are not read."""
    from logchat.retrieval.log_vocabulary import is_inflected_verb, stem

    # Only a verb said as something done ("deleted", "failing") reads a method's name as a different thing;
    # a noun ("payments") names what the dotted name names (com.example.payments.GatewayClient).
    # (the verb's stem, stems of every word of every form it matches, phrases included)
    words = {term.text: ({stem(term.text)},
                         {stem(word) for form in (*term.tokens, *term.alternatives)
                          for word in _LETTERS_RX.findall(form.lower())})
             for term in terms
             if not term.verbatim and term.text.isalpha() and is_inflected_verb(term.text)}  # fmt: skip
    if not words:
        return {}
    found: dict[str, set[int]] = {text: set() for text in words}
    wanted = sorted({verb_stem for verb_stems, _ in words.values() for verb_stem in verb_stems})
    for template_id, body in fulltext_repo.template_bodies(session, wanted):
        names = _DOTTED_NAME_RX.findall(body)
        if not names:
            continue
        inside = {stem(piece) for name in names for piece in _LETTERS_RX.findall(name.lower())}
        outside = {stem(word) for word in _LETTERS_RX.findall(_DOTTED_NAME_RX.sub(" ", body).lower())}
        for text, (stems, every_word) in words.items():
            if stems & inside and not _any_stem_matches(every_word, outside):
                found[text].add(template_id)
    return {text: frozenset(ids) for text, ids in found.items() if ids}


def _said_not_done(session: Session, terms: Sequence[Term], asked: Sequence[Term]) -> dict[str, frozenset[int]]:
    """For each verb said as done ("deleted", "sent"), the templates whose fixed text says it only as not
    done: asked for or tried ("ask … to delete"), negated ("could not connect"), or going on when something
    else happened ("exception while serving"); see :mod:`logchat.retrieval.undone`. Not when the question
    itself asks about that ("could not be deleted", "failed to open"; ``asked``: every term of the question,
    those no event contains included)."""
    from logchat.retrieval.log_vocabulary import stem
    from logchat.retrieval.undone import asks_about_undone, said_as_done, said_only_as_not_done

    if asks_about_undone([term.text for term in asked]):
        return {}
    words = {term.text: {stem(word) for form in (term.text, *term.tokens, *term.alternatives)
                         for word in _LETTERS_RX.findall(form.lower())}
             for term in terms if not term.verbatim and said_as_done(term.text)}  # fmt: skip
    if not words:
        return {}
    found: dict[str, set[int]] = {text: set() for text in words}
    pieces = sorted({piece for stems in words.values() for piece in stems if len(piece) >= 3})
    for template_id, body in fulltext_repo.template_bodies_containing(session, pieces):
        for text, stems in words.items():
            if said_only_as_not_done(body, stems):
                found[text].add(template_id)
    return {text: frozenset(ids) for text, ids in found.items() if ids}


def _any_stem_matches(stems: set[str], words: set[str]) -> bool:
    # Loose on purpose: the index's stemmer is not this one, and a word that may match in its own right
    # must never be taken away.
    return any(word.startswith(s) or s.startswith(word) for s in stems for word in words if len(word) >= 3)


def relax(
    session: Session, query: ResolvedQuery, conditions: Sequence[Condition], *, max_dropped: int = 2
) -> ResolvedQuery | None:
    """A looser query for when every term occurs somewhere but no event has them all.

    First, leave out one plain word (then a second one), keeping the combination that still matches
    the most events: "failed password *attempts* for root from 10.0.0.1" has "attempts" somewhere in
    the logs, but never on a failed-password line. Identifiers are never left out. If that finds
    nothing, identifiers stay required and any one of the words is enough. None: nothing to relax.
    """
    if query.mode != "all":
        return None
    identifiers = tuple(term for term in query.required if term.verbatim or _is_numberish(term))
    words = [term for term in query.required if term not in identifiers]
    if not words or (len(words) < 2 and not identifiers):
        return None
    for size in range(1, max_dropped + 1):
        if size >= len(words) or (size > 1 and len(words) > 6):
            break
        best: tuple[int, tuple[int, ...]] | None = None  # (matches, positions of the words left out)
        for dropped in combinations(range(len(words)), size):
            kept = [term for index, term in enumerate(words) if index not in dropped]
            candidate = replace(query, required=(*identifiers, *kept))
            matches = fulltext_repo.count_matches(session, candidate, conditions)
            if matches and (best is None or matches > best[0]):
                best = (matches, dropped)
        if best is not None:
            left_out = tuple(words[index].text for index in best[1])
            ordered = tuple(term for term in query.required if term.text not in left_out)
            return replace(query, required=ordered, unmatched=left_out)
    return replace(query, required=identifiers, optional=tuple(words), mode="any", unmatched=())


def _is_numberish(term: Term) -> bool:
    return any(char.isdigit() for char in term.text)


def search(
    session: Session,
    query: ResolvedQuery,
    conditions: Sequence[Condition],
    limit: int,
    *,
    by_recency: bool | None = None,
    within: Any = None,
) -> list[tuple[int, float]]:
    """Ids of matching events, best first, with a score (higher is better), restricted by ``conditions``.

    Ranked by score (BM25 / ts_rank), ties to the most recent event. When the words match many
    thousands of lines, scoring every one of them costs more than it tells (they share the same
    words), so the most recent matching lines come first instead; ``by_recency`` forces either way.
    ``within``: a SELECT of the ids already known to match the query and ``conditions``.
    """
    if query.mode in ("none", "impossible") or limit <= 0:
        return []
    if by_recency is None:
        # Lines that all contain every word differ only in length, which BM25 rewards; it tells more
        # when a query can be matched in several ways (any of the words, synonyms).
        several_ways = query.mode == "any" or any(term.alternatives for term in query.required)
        bound = RANK_BY_SCORE_UP_TO if several_ways else RANK_ALL_WORDS_UP_TO
        hits = fulltext_repo.fts_hits(session, query, up_to=bound)
        by_recency = hits is not None and hits > bound
    return fulltext_repo.search_events(session, query, conditions, limit, by_recency=by_recency, within=within)
