"""Full-text search over events, one interface for SQLite FTS5 and PostgreSQL tsvector.

A text query is a list of terms. Each term must match (AND), in the message or process of an event:

- A plain word matches through the full-text index, stemmed (porter on SQLite, the 'english'
  configuration on PostgreSQL), so "rejected" finds "reject".
- An identifier with punctuation (an IP, ``blk_-123``, ``10.0.0.1:50010``, a quoted phrase) must appear
  verbatim, with word boundaries and ignoring case: "10.0.0.1" does not match "10.0.0.12". The two
  tokenizers split such strings differently (FTS5 into "10", "0", "0", "1"; PostgreSQL keeps
  "/10.0.0.1" as a path), so identifiers are checked with a regular expression on the message, which
  gives both backends the same answer. On SQLite the identifier's pieces are also sent to FTS5 first,
  so the expression only runs on rows that contain every piece.

Question words that no event contains ("why did sshd *reject* *logins*") carry no information about
the logs: :func:`resolve_query` drops them, or replaces them by a few domain synonyms that do occur
("reject" -> failed, invalid, denied...). An identifier that no event contains is not dropped: the
query then matches nothing, which is the true answer.

User text never reaches FTS5's query syntax: every token is a double-quoted string of letters and
digits, so quotes, colons, NEAR, AND/OR/NOT or parentheses in a question cannot cause a syntax error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, false, func, literal_column, select, table, text
from sqlalchemy.orm import Session

from logchat.storage.models import Event

__all__ = [
    "ResolvedQuery",
    "Term",
    "TextQuery",
    "count_matches",
    "fts_hits",
    "match_condition",
    "parse_text_query",
    "relax",
    "resolve_query",
    "search",
    "templates_fully_matching",
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

FTS_TABLE = table("events_fts")
_FTS = literal_column("events_fts")
_PG_SEARCH = literal_column("events.search")


@dataclass(frozen=True)
class Term:
    text: str  # as written
    tokens: tuple[str, ...]  # lower-cased letter/digit runs
    verbatim: bool = False  # must appear exactly (identifier with punctuation, quoted phrase)
    alternatives: tuple[str, ...] = ()  # synonyms standing in for a word the store lacks

    @property
    def display(self) -> str:
        if self.alternatives:
            return f"{self.text} (~ {', '.join(self.alternatives)})"
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


# --- SQL ------------------------------------------------------------------------------------------------


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _fts_string(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _fts_term(term: Term) -> str:
    groups = [term.tokens] if term.tokens else []
    groups.extend(tokens_of(alternative) for alternative in term.alternatives)
    return "(" + " OR ".join("(" + " AND ".join(_fts_string(t) for t in group) + ")" for group in groups) + ")"


def _fts_expression(required: Sequence[Term], optional: Sequence[Term]) -> str | None:
    parts = [_fts_term(term) for term in required]
    if optional:
        parts.append("(" + " OR ".join(_fts_term(term) for term in optional) + ")")
    return " AND ".join(parts) if parts else None


def verbatim_pattern(term: Term) -> str:
    """A regular expression (valid for Python and PostgreSQL) matching the term with word boundaries."""
    pieces = []
    for char in term.text:
        if char.isalnum():
            pieces.append(char)
        elif char.isspace():
            if pieces and pieces[-1] != r"\s+":
                pieces.append(r"\s+")
        else:
            pieces.append("\\" + char)
    body = "".join(pieces)
    start = r"(^|[^0-9a-z_.])" if term.text[:1].isalnum() else ""
    # A sentence may end right after the identifier ("from 10.0.0.1."), another number may not.
    end = r"($|[^0-9a-z_.]|\.($|[^0-9a-z_]))" if term.text[-1:].isalnum() else ""
    return start + body + end


def _regex_condition(session: Session, term: Term) -> ColumnElement[bool]:
    pattern = verbatim_pattern(term)
    if _dialect(session) == "postgresql":
        return Event.message.regexp_match(pattern, flags="i")
    # SQLAlchemy's SQLite REGEXP is Python's re.search, which takes the flag inline.
    return Event.message.regexp_match("(?i)" + pattern)


def _pg_term_query(term: Term) -> Any:
    def one(words: str) -> Any:
        return func.plainto_tsquery(literal_column("'english'"), words)

    phrases = [" ".join(term.tokens)] if term.tokens else []
    phrases.extend(term.alternatives)
    query = one(phrases[0])
    for alternative in phrases[1:]:
        query = query.op("||")(one(alternative))
    return query


def _pg_expression(required: Sequence[Term], optional: Sequence[Term]) -> Any | None:
    query = None
    for term in required:
        part = _pg_term_query(term)
        query = part if query is None else query.op("&&")(part)
    if optional:
        anyof = None
        for term in optional:
            part = _pg_term_query(term)
            anyof = part if anyof is None else anyof.op("||")(part)
        query = anyof if query is None else query.op("&&")(anyof)
    return query


def _split(terms: Sequence[Term], dialect: str) -> tuple[list[Term], list[Term]]:
    """(terms for the index, terms for the regular expression)."""
    if dialect == "postgresql":
        return [t for t in terms if not t.verbatim], [t for t in terms if t.verbatim]
    # FTS5 prefilters verbatim terms by their pieces; the expression then checks the exact text.
    return list(terms), [t for t in terms if t.verbatim]


def match_condition(session: Session, query: ResolvedQuery) -> ColumnElement[bool] | None:
    """A condition on ``events`` selecting the rows that match ``query``; None when it has no text."""
    if query.mode == "none":
        return None
    if query.mode == "impossible":
        return false()
    dialect = _dialect(session)
    indexed, verbatim = _split(query.required, dialect)
    # relax() only makes plain words optional, so the "any" group is always the index's business.
    optional = list(query.optional)
    conditions: list[ColumnElement[bool]] = []
    if dialect == "postgresql":
        expression = _pg_expression(indexed, optional)
        if expression is not None:
            conditions.append(_PG_SEARCH.op("@@")(expression))
    else:
        expression = _fts_expression(indexed, optional)
        if expression is not None:
            subquery = select(literal_column("rowid")).select_from(FTS_TABLE).where(_FTS.op("MATCH")(expression))
            conditions.append(Event.id.in_(subquery))
    conditions.extend(_regex_condition(session, term) for term in verbatim)
    return and_(*conditions) if conditions else None


def _term_exists(session: Session, term: Term) -> bool:
    dialect = _dialect(session)
    if term.verbatim:
        if dialect == "postgresql":
            statement = select(literal_column("1")).select_from(Event).where(_regex_condition(session, term)).limit(1)
            return session.execute(statement).first() is not None
        condition = match_condition(session, ResolvedQuery(required=(term,), mode="all"))
        assert condition is not None
        return session.execute(select(Event.id).where(condition).limit(1)).first() is not None
    if dialect == "postgresql":
        query = _pg_term_query(term)
        if session.scalar(select(func.numnode(query))) == 0:
            return False  # only stop words
        return session.execute(
            select(literal_column("1")).select_from(Event).where(_PG_SEARCH.op("@@")(query)).limit(1)
        ).first() is not None
    expression = _fts_term(term)
    row = session.execute(
        text("SELECT 1 FROM events_fts WHERE events_fts MATCH :q LIMIT 1"), {"q": expression}
    ).first()
    return row is not None


def resolve_query(session: Session, query: TextQuery) -> ResolvedQuery:
    """Check each term against the store: drop or replace words no event contains."""
    if query.empty:
        return ResolvedQuery()
    kept: list[Term] = []
    dropped: list[str] = []
    missing: list[str] = []
    expanded: dict[str, tuple[str, ...]] = {}
    for term in query.terms:
        if _term_exists(session, term):
            kept.append(term)
            continue
        if term.verbatim or (len(term.tokens) == 1 and any(c.isdigit() for c in term.tokens[0])):
            missing.append(term.text)
            continue
        alternatives = tuple(
            alt for alt in synonyms_for(term.text) if _term_exists(session, Term(alt, tokens_of(alt)))
        )
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
    return ResolvedQuery(required=tuple(kept), mode="all", dropped=tuple(dropped), expanded=expanded)


def relax(
    session: Session, query: ResolvedQuery, conditions: Sequence[ColumnElement[bool]], *, max_dropped: int = 2
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
            matches = count_matches(session, candidate, conditions)
            if matches and (best is None or matches > best[0]):
                best = (matches, dropped)
        if best is not None:
            left_out = tuple(words[index].text for index in best[1])
            ordered = tuple(term for term in query.required if term.text not in left_out)
            return replace(query, required=ordered, unmatched=left_out)
    return replace(query, required=identifiers, optional=tuple(words), mode="any", unmatched=())


def _is_numberish(term: Term) -> bool:
    return any(char.isdigit() for char in term.text)


_PLACEHOLDER_RX = re.compile(r"<[^<>\s]*>")
_TEMPLATE_FTS = "temp.logchat_template_fts"
MAX_TEMPLATES_FOR_LITERAL_MATCH = 50_000


def fts_hits(session: Session, query: ResolvedQuery) -> int | None:
    """How many events the index part of ``query`` matches, ignoring filters and identifiers' exact
    form (FTS5 counts this without touching the events table). None on PostgreSQL."""
    if _dialect(session) != "sqlite" or query.mode not in ("all", "any"):
        return None
    expression = _fts_expression(query.required, query.optional)
    if expression is None:
        return None
    return int(session.execute(
        text("SELECT count(*) FROM events_fts WHERE events_fts MATCH :q"), {"q": expression}
    ).scalar_one())


def templates_fully_matching(session: Session, query: ResolvedQuery) -> frozenset[int]:
    """Templates whose fixed text already satisfies ``query``, so that every one of their events does.

    "Failed password for <*> from <IP>" matches "failed password" for all of its 150,000 events: they
    can be counted from the rollup instead of one by one. Placeholders are removed before matching, and
    identifiers (which live in the variable parts) never match a template. SQLite only: it uses the same
    FTS5 tokenizer as the events, so a template matches exactly when its events' fixed words do.
    """
    if _dialect(session) != "sqlite" or query.mode not in ("all", "any"):
        return frozenset()
    if any(term.verbatim for term in (*query.required, *query.optional)):
        return frozenset()
    expression = _fts_expression(query.required, query.optional)
    if expression is None:
        return frozenset()
    rows = session.execute(text("SELECT id, template FROM templates LIMIT :n"),
                           {"n": MAX_TEMPLATES_FOR_LITERAL_MATCH + 1}).all()
    if not rows or len(rows) > MAX_TEMPLATES_FOR_LITERAL_MATCH:
        return frozenset()
    connection = session.connection()
    connection.exec_driver_sql(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {_TEMPLATE_FTS} USING fts5(body, tokenize='porter unicode61')"
    )
    connection.exec_driver_sql(f"DELETE FROM {_TEMPLATE_FTS}")
    connection.exec_driver_sql(
        f"INSERT INTO {_TEMPLATE_FTS}(rowid, body) VALUES (?, ?)",
        [(template_id, _PLACEHOLDER_RX.sub(" ", template or "")) for template_id, template in rows],
    )
    matched = connection.exec_driver_sql(
        f"SELECT rowid FROM {_TEMPLATE_FTS} WHERE {_TEMPLATE_FTS.split('.')[1]} MATCH ?", (expression,)
    ).all()
    return frozenset(int(row[0]) for row in matched)


def count_matches(session: Session, query: ResolvedQuery, conditions: Sequence[ColumnElement[bool]]) -> int:
    where = list(conditions)
    condition = match_condition(session, query)
    if condition is not None:
        where.append(condition)
    return int(session.scalar(select(func.count()).select_from(Event).where(*where)) or 0)


def search(
    session: Session,
    query: ResolvedQuery,
    conditions: Sequence[ColumnElement[bool]],
    limit: int,
    *,
    by_recency: bool | None = None,
    within: Any = None,
) -> list[tuple[int, float]]:
    """Ids of matching events, best first, with a score (higher is better), restricted by ``conditions``.

    Ranked by BM25 on SQLite and ts_rank on PostgreSQL; ties (common in logs, where thousands of lines
    share the same words) go to the most recent event. When the words match many thousands of lines,
    scoring every one of them costs more than it tells (they share the same words), so the most recent
    matching lines come first instead; ``by_recency`` forces either way. ``within``: a SELECT of the
    ids already known to match the query and ``conditions`` (ranking then only reads those).
    """
    if query.mode in ("none", "impossible") or limit <= 0:
        return []
    dialect = _dialect(session)
    condition = match_condition(session, query)
    assert condition is not None
    if by_recency is None:
        # Lines that all contain every word differ only in length, which BM25 rewards; it tells more
        # when a query can be matched in several ways (any of the words, synonyms).
        hits = fts_hits(session, query)
        several_ways = query.mode == "any" or any(term.alternatives for term in query.required)
        by_recency = hits is not None and hits > (RANK_BY_SCORE_UP_TO if several_ways else RANK_ALL_WORDS_UP_TO)
    if dialect == "postgresql":
        expression = _pg_expression([t for t in query.required if not t.verbatim], list(query.optional))
        if expression is None or by_recency:
            rank: Any = literal_column("0.0")
        else:
            rank = func.ts_rank(_PG_SEARCH, expression)
        where = [Event.id.in_(within)] if within is not None else [condition, *conditions]
        statement = (
            select(Event.id, rank.label("score"))
            .where(*where)
            .order_by(literal_column("score").desc(), Event.ts.desc(), Event.id.desc())
            .limit(limit)
        )
        return [(int(row[0]), float(row[1])) for row in session.execute(statement)]
    indexed, verbatim = _split(query.required, dialect)
    expression = _fts_expression(indexed, list(query.optional))
    assert expression is not None
    fts = table("events_fts", literal_column("rowid"))
    rowid = literal_column("events_fts.rowid")
    if by_recency:
        # FTS5 walks its hits in descending rowid (= event id, i.e. arrival) order natively.
        statement = select(Event.id, literal_column("0.0").label("score")).order_by(rowid.desc())
    else:
        statement = select(Event.id, func.bm25(_FTS).label("score")).order_by(
            literal_column("score"), Event.ts.desc(), Event.id.desc()
        )
    match = _FTS.op("MATCH")(bindparam("fts_query", expression))
    if within is not None:
        # The matching ids are known: rank them without re-checking filters or identifiers. The unary +
        # keeps SQLite from handing the id list to FTS5 (which would run the MATCH once per id).
        known = literal_column("+events_fts.rowid").in_(within)
        score = literal_column("0.0") if by_recency else func.bm25(_FTS)
        order = [rowid.desc()] if by_recency else [literal_column("score"), rowid.desc()]
        ranked = select(rowid, score.label("score")).select_from(fts).where(match, known).order_by(*order)
        return [(int(row[0]), -float(row[1])) for row in session.execute(ranked.limit(limit))]
    statement = statement.select_from(fts).join(Event, Event.id == rowid).where(match, *conditions).limit(limit)
    for term in verbatim:
        statement = statement.where(_regex_condition(session, term))
    # bm25() is lower-is-better; negate so every caller sees higher-is-better.
    return [(int(row[0]), -float(row[1])) for row in session.execute(statement)]
