"""Operations over a question's stored matches (the temporary table of matching ids) give what the loghub CSV
gives, whichever way SQLite is steered to read them: the full-text hits walked in id order, the matches read
instead of a template's index, ids of vector windows read before the matches."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import and_, select, text

from logchat.retrieval import fulltext
from logchat.retrieval.plan import Operation, Plan
from logchat.services.compute import compute
from logchat.services.ingest import index_inputs
from logchat.storage import fulltext_repo, search_repo
from logchat.storage.models import Event

IP = "187.141.143.180"


@pytest.fixture
def settings(data_dir: Path, database_url: str):  # type: ignore[no-untyped-def]
    from logchat.config import load_settings

    return load_settings(data_dir=data_dir, database={"url": database_url}, ingest={"fields": True})


@pytest.fixture
def openssh(store, settings, loghub: Path):  # type: ignore[no-untyped-def]
    report = index_inputs(store, settings, [str(loghub / "OpenSSH" / "OpenSSH_2k.log")])
    assert not report.failed, report.to_dict()
    with (loghub / "OpenSSH" / "OpenSSH_2k.log_structured.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # The lines the words "failed password" and the address select, as the CSV reads them.
    wanted = [
        row
        for row in rows
        if "Failed password" in row["Content"] and re.search(rf"\b{re.escape(IP)}\b", row["Content"])
    ]
    assert len(wanted) > 25  # more ids than SQLite reads before the stored matches
    return store, wanted


def _resolved(session: Any) -> fulltext.ResolvedQuery:
    query = fulltext.resolve_query(session, fulltext.parse_text_query(f"failed password {IP}", [IP]))
    assert query.mode == "all"
    return query


def _stored_ids(session: Any) -> list[int]:
    return sorted(session.scalars(search_repo.matched_ids()))


def test_walking_the_hits_stores_the_events_the_condition_selects(openssh) -> None:  # type: ignore[no-untyped-def]
    store, wanted = openssh
    with store.session() as session:
        query = _resolved(session)
        count, _ = search_repo.materialise_matches(session, [fulltext_repo.match_condition(session, query)])
        by_condition = _stored_ids(session)
        walk = fulltext_repo.index_walk(session, query)
        if not store.is_sqlite:
            assert walk is None  # PostgreSQL's tsvector condition is planned by PostgreSQL
            assert len(by_condition) == len(wanted)
            return
        assert walk is not None
        expression, rest = walk
        assert rest is not None  # the address's exact form is checked on each hit's event
        walked, _ = search_repo.materialise_matches(session, [rest], hits=expression)
        assert walked == count == len(wanted)
        assert _stored_ids(session) == by_condition
        lines = sorted(session.scalars(select(Event.line_no).where(Event.id.in_(by_condition))))
    assert lines == sorted(int(row["LineId"]) for row in wanted)


def test_operations_over_stored_matches_read_every_match(openssh) -> None:  # type: ignore[no-untyped-def]
    store, wanted = openssh
    ports = [(int(re.search(r" port (\d+) ", row["Content"]).group(1)), int(row["LineId"])) for row in wanted]  # type: ignore[union-attr]
    users = Counter(re.search(r"for (?:invalid user )?(\S+) from", row["Content"]).group(1) for row in wanted)  # type: ignore[union-attr]
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with store.session() as session:
        query = _resolved(session)
        _, matched = search_repo.materialise_matches(session, [fulltext_repo.match_condition(session, query)])
        within = and_(matched)
        from sqlalchemy import event

        event.listen(store.engine, "before_cursor_execute", record)
        try:
            for kind, pick in (("max", max), ("min", min)):
                result = compute(session, Plan(question="q", operation=Operation(kind=kind, field="port")), within)
                value = pick(port for port, _ in ports)
                assert result.value == value
                assert result.details["values"] == len(ports)
                line = session.scalar(select(Event.line_no).where(Event.id == result.event_id))
                assert line == min(line for port, line in ports if port == value)
            top = compute(session, Plan(question="q", operation=Operation(kind="top", field="user", limit=3)), within)
            distinct = compute(
                session, Plan(question="q", operation=Operation(kind="count_distinct", field="user")), within
            )
        finally:
            event.remove(store.engine, "before_cursor_execute", record)
        # Told the templates of the matches, the same values from those templates' events alone.
        templates = {t for t in session.scalars(select(Event.template_id).where(within).distinct()) if t is not None}
        told = compute(
            session, Plan(question="q", operation=Operation(kind="top", field="user", limit=3)), within,
            templates=templates,
        )  # fmt: skip
        assert (told.value, told.details) == (top.value, top.details)
    carrying = top.details["events_with_field"]
    assert carrying == distinct.details["events_with_field"] == sum(users.values())
    assert distinct.value == len(users)
    expected = sorted(users.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert [tuple(pair) for pair in top.value] == [(user, n) for user, n in expected]
    reading = [s for s in statements if "json" in s and "logchat_matches" in s]
    assert reading
    if store.is_sqlite:
        # Fewer matches than events of the templates carrying the field: no index of a template may serve them.
        assert all("events.template_id IN" not in s for s in reading), reading


def test_window_members_are_checked_against_the_stored_matches(openssh) -> None:  # type: ignore[no-untyped-def]
    store, wanted = openssh
    with store.session() as session:
        query = _resolved(session)
        _, matched = search_repo.materialise_matches(session, [fulltext_repo.match_condition(session, query)])
        stored = set(_stored_ids(session))
        first, last = min(stored), max(stored)
        source_id = session.scalar(select(Event.source_id).where(Event.id == first))
        # One window over every stored match, and one of the lines before them: far more ids than 20.
        windows = [(source_id, first, last), (source_id, 1, first - 1)]
        members = search_repo.events_in_windows(session, windows, [matched])
    assert [event_id for event_id, _ in members[0]] == sorted(stored)
    assert members[1] == []
    assert len(stored) == len(wanted)


@pytest.fixture
def linux(store, settings, loghub: Path):  # type: ignore[no-untyped-def]
    report = index_inputs(store, settings, [str(loghub / "Linux" / "Linux_2k.log")])
    assert not report.failed, report.to_dict()
    with (loghub / "Linux" / "Linux_2k.log_structured.csv").open(encoding="utf-8", newline="") as handle:
        return store, list(csv.DictReader(handle))


def _walk_narrowed(store, session, word: str, condition, column: str, **narrowing) -> str | None:  # type: ignore[no-untyped-def]
    """Store the events matching ``word`` and ``condition`` by walking the full-text hits narrowed to the
    filter's ``column`` (``narrowing``: the processes or hosts), and check the walk stores what the walk not
    narrowed does; the narrowed expression (None on PostgreSQL, which matches without a walk)."""
    query = fulltext.resolve_query(session, fulltext.parse_text_query(word, []))
    walk = fulltext_repo.index_walk(session, query, **narrowing)
    if not store.is_sqlite:
        assert walk is None
        search_repo.materialise_matches(session, [fulltext_repo.match_condition(session, query), condition])
        return None
    assert walk is not None
    narrowed, rest = walk
    assert rest is None and f"{column} : " in narrowed
    widest = fulltext_repo.index_walk(session, query)
    assert widest is not None and f"{column} : " not in widest[0]
    walked_wide, _ = search_repo.materialise_matches(session, [condition], hits=widest[0])
    walked, _ = search_repo.materialise_matches(session, [condition], hits=narrowed)
    assert walked == walked_wide
    return narrowed


def _lines_with(rows: list[dict[str, str]], column: str, names: list[str], word: str) -> list[int]:
    """The loghub line numbers whose ``column`` is one of ``names`` and whose text has a word starting ``word``."""
    return sorted(
        int(row["LineId"])
        for row in rows
        if row[column] in names and re.search(rf"\b{word}", row["Content"], re.IGNORECASE)
    )


@pytest.mark.parametrize(
    ("word", "processes"),
    [
        ("session", ["su(pam_unix)"]),  # su and sshd both log sessions; both names hold the words pam and unix
        ("session", ["sshd(pam_unix)"]),
        ("session", ["su(pam_unix)", "login(pam_unix)"]),
        ("connection", ["klogind"]),  # 15 of the 926 lines with the word
    ],
)
def test_a_process_filter_narrows_the_hits_walked_to_the_same_events(linux, word, processes) -> None:  # type: ignore[no-untyped-def]
    store, rows = linux
    wanted = _lines_with(rows, "Component", processes, word)
    with store.session() as session:
        _walk_narrowed(store, session, word, Event.process.in_(processes), "process", processes=processes)
        lines = sorted(session.scalars(select(Event.line_no).where(Event.id.in_(search_repo.matched_ids()))))
    assert lines == wanted


def test_a_process_name_the_index_may_split_otherwise_is_not_walked_by_name(openssh) -> None:  # type: ignore[no-untyped-def]
    store, _ = openssh
    with store.session() as session:
        query = _resolved(session)
        plain = fulltext_repo.index_walk(session, query)
        for names in (["-"], ["übung"], ["sshd", "[]"]):
            walk = fulltext_repo.index_walk(session, query, processes=names)
            assert (walk and walk[0]) == (plain and plain[0])
        if store.is_sqlite:
            assert plain is not None and "process : " not in plain[0]


@pytest.fixture
def thunderbird(store, settings, loghub: Path):  # type: ignore[no-untyped-def]
    # Lines of many hosts (tbird-admin1, cn936, #8# ...), whose names are words of no line's text but a few.
    report = index_inputs(store, settings, [str(loghub / "Thunderbird" / "Thunderbird_2k.log")])
    assert not report.failed, report.to_dict()
    with (loghub / "Thunderbird" / "Thunderbird_2k.log_structured.csv").open(encoding="utf-8", newline="") as handle:
        return store, list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("word", "hosts"),
    [
        ("synchronized", ["cn936"]),  # 3 of the 568 lines with the word
        ("root", ["eadmin1", "cadmin1"]),
        ("closed", ["#8#"]),  # a name of punctuation around one digit
        ("root", ["tbird-admin1"]),  # a name of two words, the first one of every tbird- host
    ],
)
def test_a_host_filter_narrows_the_hits_walked_to_the_same_events(thunderbird, word, hosts) -> None:  # type: ignore[no-untyped-def]
    store, rows = thunderbird
    wanted = _lines_with(rows, "User", hosts, word)
    with store.session() as session:
        narrowed = _walk_narrowed(store, session, word, Event.host.in_(hosts), "host", hosts=hosts)
        if narrowed is not None:
            # The narrowed walk reads no hit of another host.
            query = fulltext.resolve_query(session, fulltext.parse_text_query(word, []))
            assert fulltext_repo.fts_hits(session, query) > len(wanted)
            hits = session.execute(text("SELECT count(*) FROM events_fts WHERE events_fts MATCH :q"), {"q": narrowed})
            assert hits.scalar_one() == len(wanted)
        lines = sorted(session.scalars(select(Event.line_no).where(Event.id.in_(search_repo.matched_ids()))))
    assert lines == wanted


# The words of host names, and the one word the index holds for dn228 (its UTF-8 bytes in hexadecimal).
@pytest.mark.parametrize("word", ["tbird", "admin1", "dn228", b"dn228".hex()])
def test_a_word_that_is_a_host_name_matches_only_lines_that_hold_it(thunderbird, word) -> None:  # type: ignore[no-untyped-def]
    store, rows = thunderbird
    # The host is the first word of the message of no line, so only the text (and the process) is searched.
    wanted = sorted(
        int(row["LineId"])
        for row in rows
        if re.search(rf"\b{word}", row["Content"] + " " + row["Component"], re.IGNORECASE)
    )
    assert len(wanted) < sum(1 for row in rows if word in row["User"] or word == row["User"].encode().hex())
    with store.session() as session:
        query = fulltext.resolve_query(session, fulltext.parse_text_query(word, []))
        found = fulltext_repo.search_events(session, query, [], 2000)
        lines = sorted(row.line_no for row in search_repo.fetch_events(session, [i for i, _ in found]).values())
        assert lines == wanted
        # The word by itself, as the resolver asks whether the store has it, and as a query it did not resolve.
        term = fulltext.Term(text=word, tokens=(word,))
        assert fulltext_repo.term_exists(session, term) == bool(wanted)
        direct = fulltext.ResolvedQuery(required=(term,), mode="all")
        assert fulltext_repo.count_matches(session, direct, []) == len(wanted)
        if store.is_sqlite:
            assert fulltext_repo.fts_hits(session, direct) == len(wanted)


def test_ranking_by_score_keeps_the_order_of_the_text_alone(thunderbird) -> None:  # type: ignore[no-untyped-def]
    store, _ = thunderbird
    if not store.is_sqlite:
        return  # ts_rank over events.search, which never held the host
    with store.session() as session:
        # The index as it was before it held the host: BM25 over message and process alone.
        connection = session.connection()
        connection.exec_driver_sql(
            "CREATE VIRTUAL TABLE temp.text_only USING fts5(message, process, tokenize='porter unicode61')"
        )
        connection.exec_driver_sql(
            "INSERT INTO text_only(rowid, message, process) SELECT id, message, process FROM events"
        )
        # "root" and "user" are in lines of the same text on hosts of one word (eadmin1) and of two (tbird-admin1):
        # ties that would go to the shorter host name if the host were indexed as its own words.
        for words in ("root", "user", "root session", "tbird", "synchronized stratum"):
            query = fulltext.resolve_query(session, fulltext.parse_text_query(words, []))
            found = fulltext_repo.search_events(session, query, [], 2000)
            expression = " AND ".join(f'"{word}"' for word in words.split())
            ranked = connection.exec_driver_sql(
                "SELECT text_only.rowid, -bm25(text_only) FROM text_only JOIN events ON events.id = text_only.rowid "
                "WHERE text_only MATCH ? ORDER BY bm25(text_only), events.ts DESC, events.id DESC",
                (expression,),
            ).all()
            assert found and [event_id for event_id, _ in found] == [event_id for event_id, _ in ranked]
            # Each line is one word longer (its host), the average line too: the scores barely move.
            assert [score for _, score in found] == pytest.approx([score for _, score in ranked], rel=0.05)
