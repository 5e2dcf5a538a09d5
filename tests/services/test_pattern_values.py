"""The values shown per pattern come from the stored named fields, and are the values its messages hold.

The reference is the reading the fields replace: every message of the pattern read again against its template
(:func:`logchat.ingest.template_values.count_values`), on real loghub logs, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from logchat.ingest.template_values import count_field_values, count_values, top_by_name
from logchat.services.pattern_values import ValueReading, combined_top_values, pattern_top_values
from logchat.storage import search_repo
from logchat.storage.models import Event, Template
from tests.services.loghub_stores import indexed_samples

SYSTEMS = ("OpenSSH", "Linux", "HDFS", "Zookeeper", "Apache", "Hadoop", "Proxifier", "HealthApp", "Spark")
EVERY_EVENT = ValueReading([], per_pattern=1_000_000, budget=10_000_000)


def _patterns(session: Any) -> list[search_repo.PatternStats]:
    rows = session.execute(select(Template.id, Template.template, Template.count).order_by(Template.id)).all()
    return [search_repo.PatternStats(tid, text, count, None, None, None) for tid, text, count in rows]


def _from_messages(session: Any, pattern: search_repo.PatternStats) -> Counter[tuple[str, str]]:
    messages = search_repo.messages_of_template(session, pattern.template_id, [], 1_000_000)
    return count_values(pattern.template, messages)


def _selects_messages(store: Any, statements: list[str]) -> Any:
    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "events.message" in statement and "events.fields" not in statement:
            statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    return lambda: event.remove(store.engine, "before_cursor_execute", record)


def test_values_from_fields_are_the_values_of_the_messages(settings: Any, loghub: Path) -> None:
    with indexed_samples(settings, loghub, SYSTEMS) as store, store.session() as session:
        patterns = _patterns(session)
        statements: list[str] = []
        stop = _selects_messages(store, statements)
        try:
            values, raw = pattern_top_values(session, patterns, EVERY_EVENT)
        finally:
            stop()
        for pattern in patterns:
            expected = _from_messages(session, pattern)
            assert raw[pattern.template_id] == expected, pattern.template
            assert values[pattern.template_id].values == top_by_name(expected), pattern.template
            assert values[pattern.template_id].exact and values[pattern.template_id].events_read == pattern.count
        # Many patterns are read from their fields; the rest read their messages again (those with a float, a unit
        # or a value the two read differently, and those with no variable at all, which have no fields).
        with_variables = sum(1 for pattern in patterns if raw[pattern.template_id])
        from_fields = len(patterns) - len(statements)
        assert with_variables > 200 and from_fields > with_variables / 3, (from_fields, with_variables, len(patterns))


def test_the_fields_of_sshd_logins_name_the_variables_as_the_messages_do(settings: Any, loghub: Path) -> None:
    with indexed_samples(settings, loghub, ("OpenSSH",)) as store, store.session() as session:
        failed = next(p for p in _patterns(session) if p.template.startswith("Failed password for <*> from"))
        stored = search_repo.fields_of_template(session, failed.template_id, [], 1_000_000)
        found = count_field_values(failed.template, stored)
        assert found is not None and found == _from_messages(session, failed)
        assert {name for name, _ in found} == {"user", "ip", "port"}  # stored as `for`, `from` and `port`


def test_a_pattern_read_in_part_says_so(settings: Any, loghub: Path) -> None:
    with indexed_samples(settings, loghub, ("OpenSSH",)) as store, store.session() as session:
        patterns = sorted(_patterns(session), key=lambda p: -p.count)[:3]
        values, _ = pattern_top_values(session, patterns, ValueReading([], per_pattern=50, budget=120))
        assert [v.events_read for v in values.values()] == [50, 50, 20]
        assert not any(v.exact for v in values.values())
        combined = combined_top_values(session, patterns, ValueReading([], per_pattern=50, budget=120))
        assert combined.events_read == 120 and not combined.exact
        # The 50 most recent events of the first pattern, as their messages hold them.
        recent = search_repo.messages_of_template(session, patterns[0].template_id, [], 50)
        assert values[patterns[0].template_id].values == top_by_name(count_values(patterns[0].template, recent))


def test_without_fields_the_messages_are_read(settings: Any, loghub: Path) -> None:
    off = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"fields": False})})
    with indexed_samples(off, loghub, ("OpenSSH",)) as store, store.session() as session:
        assert session.scalar(select(Event.id).where(Event.fields.is_not(None)).limit(1)) is None
        patterns = _patterns(session)
        values, raw = pattern_top_values(session, patterns, EVERY_EVENT)
        for pattern in patterns:
            assert raw[pattern.template_id] == _from_messages(session, pattern)
        assert any(values[p.template_id].values.get("ip") for p in patterns)


def test_a_pattern_whose_fields_differ_from_its_messages_is_read_from_them(
    store: Any, settings: Any, tmp_path: Path
) -> None:
    # "of user test." : the field `user` is "test", the variable read from the message "host" = "test." (the
    # answer has always shown the latter); the values shown must not change with where they are read.
    from logchat.services.ingest import index_inputs

    log = tmp_path / "sessions.log"
    lines = [f"Dec 10 06:55:{n % 60:02d} web-01 systemd[1]: Started Session {100 + n} of user u{n % 4}."
             for n in range(40)]  # fmt: skip
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert not index_inputs(store, settings, [str(log)]).failed
    with store.session() as session:
        patterns = [p for p in _patterns(session) if "Started Session" in p.template]
        assert patterns
        stored = search_repo.fields_of_template(session, patterns[0].template_id, [], 1_000)
        assert all(fields for fields in stored)  # the fields are there, and read otherwise
        _, raw = pattern_top_values(session, patterns, EVERY_EVENT)
        for pattern in patterns:
            assert raw[pattern.template_id] == _from_messages(session, pattern)
