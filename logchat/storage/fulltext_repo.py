"""Full-text search in SQL: SQLite FTS5 and PostgreSQL tsvector behind one function, :func:`search_events`.

A text query (built and resolved by :mod:`logchat.retrieval.fulltext`) arrives here as terms that must
all match (``required``) plus, in mode "any", a group of which one must match (``optional``):

- A plain word goes through the full-text index, stemmed (porter on SQLite, the 'english'
  configuration on PostgreSQL), so "rejected" finds "reject". Both indexes hold the runs of letters
  and digits of the text: FTS5's unicode61 tokenizer splits on everything else, and PostgreSQL's
  ``events.search`` is built from the text with ASCII punctuation turned into spaces, so the word
  "payments" inside ``com.example.payments.GatewayClient`` or ``/api/v1/payments`` is found on both.
- A verbatim term (an identifier with punctuation, a quoted phrase) is checked with a regular
  expression on the message, word boundaries and case ignored, because neither index keeps the
  punctuation ("10.0.0.1" is "10", "0", "0", "1" to both). On SQLite the identifier's pieces are also
  sent to FTS5 first, so the expression only runs on rows that contain every piece.

User text never reaches FTS5's query syntax: every token is a double-quoted string of letters and
digits, so quotes, colons, NEAR, AND/OR/NOT or parentheses in a question cannot cause a syntax error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from logchat.storage.models import Event, Template

__all__ = [
    "MAX_TEMPLATES_FOR_LITERAL_MATCH",
    "TextMatch",
    "TextTerm",
    "count_matches",
    "fts_hits",
    "index_walk",
    "match_condition",
    "matches_beyond",
    "outside_templates",
    "over_hits",
    "rebuild_fulltext_index",
    "search_events",
    "templates_fully_matching",
    "term_exists",
    "verbatim_pattern",
]

_TOKEN_RX = re.compile(r"[^\W_]+", re.UNICODE)
_PLACEHOLDER_RX = re.compile(r"<[^<>\s]*>")
_TEMPLATE_FTS = "temp.logchat_template_fts"
MAX_TEMPLATES_FOR_LITERAL_MATCH = 50_000

FTS_TABLE = table("events_fts")
_FTS = literal_column("events_fts")
_PG_SEARCH = literal_column("events.search")


class TextTerm(Protocol):
    """One term of a text query (:class:`logchat.retrieval.fulltext.Term` has this shape)."""

    @property
    def text(self) -> str: ...  # as written
    @property
    def tokens(self) -> tuple[str, ...]: ...  # lower-cased letter/digit runs
    @property
    def verbatim(self) -> bool: ...  # must appear exactly
    @property
    def alternatives(self) -> tuple[str, ...]: ...  # synonyms standing in for the word


class TextMatch(Protocol):
    """A resolved text query (:class:`logchat.retrieval.fulltext.ResolvedQuery` has this shape)."""

    @property
    def required(self) -> Sequence[TextTerm]: ...
    @property
    def optional(self) -> Sequence[TextTerm]: ...
    @property
    def mode(self) -> str: ...  # none (no text condition) | all | any | impossible


class _OneTerm:
    """A query of a single required term."""

    mode = "all"
    optional: tuple[TextTerm, ...] = ()

    def __init__(self, term: TextTerm) -> None:
        self.required = (term,)


# --- building expressions -------------------------------------------------------------------------------


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _tokens_of(text: str) -> tuple[str, ...]:
    return tuple(token.lower() for token in _TOKEN_RX.findall(text))


def _fts_string(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _fts_term(term: TextTerm) -> str:
    groups = [term.tokens] if term.tokens else []
    groups.extend(_tokens_of(alternative) for alternative in term.alternatives)
    return "(" + " OR ".join("(" + " AND ".join(_fts_string(t) for t in group) + ")" for group in _fewest(groups)) + ")"


def _fewest(groups: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    """Groups of tokens (any group, all of its tokens) that match the same events with the fewest lists to walk:
    a token once per group, and no group that holds all the tokens of another (a line with "http" and "1" is
    matched whether it also has "0" or not). HTTP/1.1, HTTP/1.0 and HTTP/2 as words of "request" were three
    groups over the doclist of "1", a token of most lines: 56 ms to walk their hits at a million events, 33 ms
    as "http" AND "1" OR "http" AND "2"."""
    unique = list(dict.fromkeys(tuple(dict.fromkeys(group)) for group in groups))
    return [group for group in unique if not any(other and set(other) < set(group) for other in unique)]


def _fts_expression(required: Sequence[TextTerm], optional: Sequence[TextTerm]) -> str | None:
    parts = [_fts_term(term) for term in required]
    if optional:
        parts.append("(" + " OR ".join(_fts_term(term) for term in optional) + ")")
    return " AND ".join(parts) if parts else None


# The columns of events_fts that hold an event's text. The index also holds the host (migration 0016), only to
# narrow a walk to asked hosts: no word of a question is looked for there, so a host adds no hits, and the
# phrases' BM25 weights (IDF) are those of the text alone.
_TEXT_COLUMNS = "{message process}"


def _in_text_columns(expression: str) -> str:
    return f"{_TEXT_COLUMNS} : ({expression})"


def _events_expression(required: Sequence[TextTerm], optional: Sequence[TextTerm]) -> str | None:
    """The FTS5 expression of ``events_fts`` for these terms, searching the events' text columns only."""
    expression = _fts_expression(required, optional)
    return _in_text_columns(expression) if expression is not None else None


def verbatim_pattern(term: TextTerm) -> str:
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
    # A sentence may end right after the identifier ("from 10.0.0.1."), another number may not. A prefix
    # (job_42 for job_42_1, job_42.3) may go on after punctuation, but not within a number or a word.
    if getattr(term, "prefix", False):
        end = r"($|[^0-9a-z])" if term.text[-1:].isalnum() else ""
    else:
        end = r"($|[^0-9a-z_.]|\.($|[^0-9a-z_]))" if term.text[-1:].isalnum() else ""
    return start + body + end


def _regex_condition(session: Session, term: TextTerm) -> ColumnElement[bool]:
    pattern = verbatim_pattern(term)
    if _dialect(session) == "postgresql":
        return Event.message.regexp_match(pattern, flags="i")
    # SQLAlchemy's SQLite REGEXP is Python's re.search, which takes the flag inline.
    return Event.message.regexp_match("(?i)" + pattern)


def _pg_term_query(term: TextTerm) -> Any:
    def one(words: str) -> Any:
        return func.plainto_tsquery(literal_column("'english'"), words)

    # The runs of letters and digits, space-separated: what events.search was built from (migration
    # 0011), so the parser reads a query exactly as it read the events.
    phrases = [" ".join(term.tokens)] if term.tokens else []
    phrases.extend(" ".join(_tokens_of(alternative)) for alternative in term.alternatives)
    query = one(phrases[0])
    for alternative in phrases[1:]:
        query = query.op("||")(one(alternative))
    return query


def _pg_expression(required: Sequence[TextTerm], optional: Sequence[TextTerm]) -> Any | None:
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


def _split(terms: Sequence[TextTerm], dialect: str) -> tuple[list[TextTerm], list[TextTerm]]:
    """(terms for the index, terms for the regular expression)."""
    if dialect == "postgresql":
        return [t for t in terms if not t.verbatim], [t for t in terms if t.verbatim]
    # FTS5 prefilters verbatim terms by their pieces; the expression then checks the exact text.
    return list(terms), [t for t in terms if t.verbatim]


# --- conditions and counts ------------------------------------------------------------------------------


def match_condition(session: Session, query: TextMatch) -> ColumnElement[bool] | None:
    """A condition on ``events`` selecting the rows that match ``query``; None when it has no text."""
    return _match_condition(session, query, with_index=True)


def index_walk(
    session: Session, query: TextMatch, *, processes: Sequence[str] = (), hosts: Sequence[str] = ()
) -> tuple[str, ColumnElement[bool] | None] | None:
    """``query`` split for a statement that walks the full-text index's hits: (the FTS5 expression, a condition on
    ``events`` for the rest of ``query``, None when nothing is left). SQLite only; None on PostgreSQL or when the
    query has no index part. ``processes`` and ``hosts``: the question's process and host filters, which the caller
    still checks on each event; the index holds the process and the host too, so its hits are narrowed to the
    events that can pass them (:func:`_in_processes`, :func:`_on_hosts`).

    FTS5 returns its hits in rowid order, and the rowid is the event id (migration 0013), so joining the hits to
    ``events`` looks each event up once, in order; ``id IN (SELECT rowid …)`` first lists every hit in a
    temporary index (300,000 of them for a word in every access-log line) and then looks the events up."""
    if query.mode not in ("all", "any") or _dialect(session) != "sqlite":
        return None
    indexed, _ = _split(query.required, "sqlite")
    expression = _events_expression(indexed, list(query.optional))
    if expression is None:
        return None
    narrowed = _on_hosts(_in_processes(expression, processes), hosts)
    return narrowed, _match_condition(session, query, with_index=False)


# Process names whose words FTS5's unicode61 tokenizer and :data:`_TOKEN_RX` surely split alike.
_ASCII_NAME_RX = re.compile(r"[\x20-\x7e]*[A-Za-z0-9][\x20-\x7e]*")


def _in_processes(expression: str, processes: Sequence[str]) -> str:
    """``expression`` also requiring one of ``processes`` as a phrase of the index's process column: every event
    of such a process has it there (case and a word's ending aside, so the exact filter is still checked on each
    hit). "time" is in every access-log line (``request_time=``): 301,806 hits, each looked up for its process to
    keep the 1,937 of the payments service, where the index alone finds those 1,937. Unchanged when a name may
    have no word the tokenizer keeps (an empty phrase would match nothing)."""
    if not processes or not all(_ASCII_NAME_RX.fullmatch(name) for name in processes):
        return expression
    named = " OR ".join(f"process : {_fts_string(name)}" for name in sorted(set(processes)))
    return f"({expression}) AND ({named})"


def _on_hosts(expression: str, hosts: Sequence[str]) -> str:
    """``expression`` also requiring one of ``hosts`` in the index's host column, which holds each event's host as
    one word, its UTF-8 bytes in hexadecimal (migration 0016): exactly the events of those hosts. "request" is in
    every access-log line: 301,806 hits, each looked up for its host to keep the 30,206 of lb-01, where the index
    alone finds those 30,206. Unchanged for an empty name, which the column holds no word for."""
    if not hosts or not all(hosts):
        return expression
    named = " OR ".join(f"host : {_fts_string(name.encode().hex())}" for name in sorted(set(hosts)))
    return f"({expression}) AND ({named})"


def over_hits(statement: Select[Any], expression: str) -> Select[Any]:
    """``statement`` (a SELECT of ``events`` columns) reading only the events FTS5 finds for ``expression``,
    walked in event id order (see :func:`index_walk`)."""
    fts = table("events_fts", literal_column("rowid"))
    # The unary + leaves SQLite one way in: the hits first, each event looked up by its id. Otherwise it may
    # start from an index of another condition and run the MATCH again for every event that index yields.
    joined = statement.select_from(fts).join(Event, Event.id == literal_column("+events_fts.rowid"))
    return joined.where(_FTS.op("MATCH")(expression))


def _match_condition(session: Session, query: TextMatch, *, with_index: bool) -> ColumnElement[bool] | None:
    if query.mode == "none":
        return None
    if query.mode == "impossible":
        return false()
    dialect = _dialect(session)
    indexed, verbatim = _split(query.required, dialect)
    # Only plain words are ever optional, so the "any" group is always the index's business.
    optional = list(query.optional)
    conditions: list[ColumnElement[bool]] = []
    if dialect == "postgresql":
        expression = _pg_expression(indexed, optional)
        if expression is not None:
            conditions.append(_PG_SEARCH.op("@@")(expression))
    elif with_index:
        expression = _events_expression(indexed, optional)
        if expression is not None:
            subquery = select(literal_column("rowid")).select_from(FTS_TABLE).where(_FTS.op("MATCH")(expression))
            conditions.append(Event.id.in_(subquery))
    conditions.extend(_regex_condition(session, term) for term in verbatim)
    if excluded := _excluded_templates(query):
        conditions.append(outside_templates(excluded))
    return and_(*conditions) if conditions else None


def outside_templates(template_ids: Iterable[int]) -> ColumnElement[bool]:
    """The events of none of ``template_ids`` (events without a template included)."""
    return or_(Event.template_id.is_(None), Event.template_id.not_in(sorted(template_ids)))


def _excluded_templates(query: TextMatch) -> frozenset[int]:
    # Templates a word of the query matches only inside a program's dotted name (see fulltext.resolve_query).
    return frozenset(getattr(query, "excluded_templates", ()))


def template_bodies(session: Session, after_dot: Sequence[str]) -> list[tuple[int, str]]:
    """The text of the templates that have one of ``after_dot`` (lower-case letters) right after a dot, with
    their placeholders blanked; empty when more templates than a question may read have it."""
    return _template_bodies(session, [f"%.{piece}%" for piece in after_dot])


def template_bodies_containing(session: Session, pieces: Sequence[str]) -> list[tuple[int, str]]:
    """The text of the templates that contain one of ``pieces`` (lower-case letters) anywhere, with their
    placeholders blanked; empty when more templates than a question may read have one."""
    return _template_bodies(session, [f"%{piece}%" for piece in pieces])


def _template_bodies(session: Session, patterns: list[str]) -> list[tuple[int, str]]:
    lowered = func.lower(Template.template)
    query = (select(Template.id, Template.template)
             .where(or_(*(lowered.like(pattern) for pattern in patterns)))
             .limit(MAX_TEMPLATES_FOR_LITERAL_MATCH + 1))  # fmt: skip
    rows = session.execute(query).all()
    if len(rows) > MAX_TEMPLATES_FOR_LITERAL_MATCH:
        return []
    return [(int(template_id), _PLACEHOLDER_RX.sub(" ", template or "")) for template_id, template in rows]


def term_exists(session: Session, term: TextTerm) -> bool:
    """Whether any event contains ``term`` (one query; two on PostgreSQL for a plain word)."""
    dialect = _dialect(session)
    if term.verbatim:
        if dialect == "postgresql":
            statement = select(literal_column("1")).select_from(Event).where(_regex_condition(session, term)).limit(1)
            return session.execute(statement).first() is not None
        condition = match_condition(session, _OneTerm(term))
        assert condition is not None
        return session.execute(select(Event.id).where(condition).limit(1)).first() is not None
    if dialect == "postgresql":
        query = _pg_term_query(term)
        if session.scalar(select(func.numnode(query))) == 0:
            return False  # only stop words
        return session.execute(
            select(literal_column("1")).select_from(Event).where(_PG_SEARCH.op("@@")(query)).limit(1)
        ).first() is not None
    expression = _in_text_columns(_fts_term(term))
    row = session.execute(
        text("SELECT 1 FROM events_fts WHERE events_fts MATCH :q LIMIT 1"), {"q": expression}
    ).first()
    return row is not None


def count_matches(session: Session, query: TextMatch, conditions: Sequence[ColumnElement[bool]]) -> int:
    """Events matching ``query`` and every one of ``conditions``."""
    exact_hits = not conditions and not _excluded_templates(query) and query.mode in ("all", "any")
    if exact_hits and _dialect(session) == "sqlite" and not any(term.verbatim for term in query.required):
        # Nothing to check on the events themselves: FTS5 counts its hits (the event ids) without
        # looking each event up, which at 150,000 hits is the difference between 5 and 60 ms.
        hits = fts_hits(session, query)
        if hits is not None:
            return hits
    where = list(conditions)
    condition = match_condition(session, query)
    if condition is not None:
        where.append(condition)
    return int(session.scalar(select(func.count()).select_from(Event).where(*where)) or 0)


def matches_beyond(
    session: Session, wider: TextMatch, narrower: TextMatch, conditions: Sequence[ColumnElement[bool]]
) -> bool:
    """Whether some event meets ``conditions`` and matches ``wider`` but not ``narrower``: one row looked for,
    where counting both would read every match twice."""
    where = [*conditions]
    wide = match_condition(session, wider)
    if wide is not None:
        where.append(wide)
    narrow = match_condition(session, narrower)
    if narrow is not None:
        where.append(~narrow)
    return session.execute(select(Event.id).where(*where).limit(1)).first() is not None


def fts_hits(session: Session, query: TextMatch, *, up_to: int | None = None) -> int | None:
    """How many events the index part of ``query`` matches, ignoring filters and identifiers' exact
    form (FTS5 counts this without touching the events table). None on PostgreSQL.

    ``up_to``: the caller only compares the count with this bound, so FTS5 stops after ``up_to + 1``
    hits, and the answer is ``up_to + 1`` whenever there are more: counting all 301,806 hits of "request"
    or "http" (in every access-log line) took 56 ms, the first 1,938 well under one."""
    if _dialect(session) != "sqlite" or query.mode not in ("all", "any"):
        return None
    expression = _events_expression(query.required, query.optional)
    if expression is None:
        return None
    # Asked more than once per question (to count, then to choose how to rank); the answer cannot
    # change within one transaction. Kept as (hits counted, whether that is all of them).
    transaction = session.get_transaction()
    cached = session.info.get("logchat_fts_hits")
    if cached is None or cached[0] is not transaction:
        cached = session.info["logchat_fts_hits"] = (transaction, {})
    known: dict[str, tuple[int, bool]] = cached[1]
    counted = known.get(expression)
    if counted is None or not (counted[1] or (up_to is not None and counted[0] > up_to)):
        if up_to is None:
            statement = text("SELECT count(*) FROM events_fts WHERE events_fts MATCH :q")
        else:
            # FTS5 yields its hits one by one in rowid order, so the LIMIT ends the walk.
            statement = text("SELECT count(*) FROM (SELECT 1 FROM events_fts WHERE events_fts MATCH :q LIMIT :n)")
        hits = int(session.execute(statement, {"q": expression, "n": (up_to or 0) + 1}).scalar_one())
        counted = (hits, up_to is None or hits <= up_to)
        known[expression] = counted
    return counted[0] if up_to is None else min(counted[0], up_to + 1)


def templates_fully_matching(session: Session, query: TextMatch) -> frozenset[int]:
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
    connection.exec_driver_sql(f"DELETE FROM {_TEMPLATE_FTS}")  # nosec B608  # a constant table name
    connection.exec_driver_sql(
        # A constant table name; values are bound.
        f"INSERT INTO {_TEMPLATE_FTS}(rowid, body) VALUES (?, ?)",  # nosec B608
        [(template_id, _PLACEHOLDER_RX.sub(" ", template or "")) for template_id, template in rows],
    )
    matched = connection.exec_driver_sql(
        # A constant table name; the expression is bound.
        f"SELECT rowid FROM {_TEMPLATE_FTS} WHERE {_TEMPLATE_FTS.split('.')[1]} MATCH ?", (expression,)  # nosec B608
    ).all()
    return frozenset(int(row[0]) for row in matched) - _excluded_templates(query)


# --- the search -----------------------------------------------------------------------------------------


def search_events(
    session: Session,
    query: TextMatch,
    conditions: Sequence[ColumnElement[bool]],
    limit: int,
    *,
    by_recency: bool = False,
    within: Any = None,
) -> list[tuple[int, float]]:
    """Ids of events matching ``query`` and ``conditions``, best first, with a score (higher is better).

    Ranked by BM25 on SQLite and ts_rank on PostgreSQL; ties (common in logs, where thousands of lines
    share the same words) go to the most recent event. ``by_recency``: the most recent matching lines
    first, without scoring. ``within``: a SELECT of the ids already known to match the query and
    ``conditions`` (ranking then only reads those).
    """
    if query.mode in ("none", "impossible") or limit <= 0:
        return []
    dialect = _dialect(session)
    condition = match_condition(session, query)
    assert condition is not None
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
    expression = _events_expression(indexed, list(query.optional))
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


def rebuild_fulltext_index(connection: Connection) -> None:
    """Derive the full-text index again from the events table (after a bulk copy into it).

    SQLite: FTS5's 'rebuild' command re-reads its external content table. PostgreSQL: nothing to do,
    a trigger fills ``events.search`` for every row written without it (migration 0014).
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("INSERT INTO events_fts(events_fts) VALUES ('rebuild')")
