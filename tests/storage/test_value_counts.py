"""The counts of field values kept per template (logchat.storage.value_counts_repo) equal what reading the events
gives, through every change of the stored events, and answers read from them equal the answers read from the
events: on real loghub samples, on SQLite and PostgreSQL.

What the counts are checked against is the events' own SQL (``fields_repo.field_text`` grouped over the events
of a template), the path every other question takes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from logchat.ingest import value_counts
from logchat.services.ingest import index_inputs
from logchat.storage import compute_repo, fields_repo, search_repo, value_counts_repo
from logchat.storage.db import open_store
from logchat.storage.micros import to_micros
from logchat.storage.models import Event, TemplateField, ValueCount, ValueCountField
from tests.access_log import write_access_log

SYSTEMS = ("OpenSSH", "Linux", "Apache", "HDFS", "Proxifier")


@pytest.fixture
def fields_on(settings):  # type: ignore[no-untyped-def]
    settings.ingest.fields = True
    return settings


def _index(store: Any, settings: Any, loghub: Path, systems: tuple[str, ...] = SYSTEMS) -> None:
    report = index_inputs(store, settings, [str(loghub / name / f"{name}_2k.log") for name in systems])
    assert not report.failed, report.to_dict()


def _stored_counts(session: Any) -> dict[tuple[int, str], dict[str, int]]:
    counted = {
        (t, n) for t, n in session.execute(
            select(ValueCountField.template_id, ValueCountField.name).where(ValueCountField.values_bound >= 0))
    }  # fmt: skip
    found: dict[tuple[int, str], dict[str, int]] = {pair: {} for pair in counted}
    for t, n, v, c in session.execute(
        select(ValueCount.template_id, ValueCount.name, ValueCount.value, ValueCount.count)
    ):
        assert (t, n) in counted, f"values kept for a field that is not counted: {(t, n)}"
        found[(t, n)][v] = c
    return found


def _read_from_events(session: Any, template_id: int, name: str) -> dict[str, int]:
    value = fields_repo.field_text(session, name)
    rows = session.execute(
        select(value, func.count()).where(Event.template_id == template_id, value.is_not(None)).group_by(value)
    ).all()
    return {str(v): int(n) for v, n in rows}


def _assert_counts_equal_events(store: Any) -> int:
    """Every counted (template, field) holds what its events hold; returns how many are counted."""
    with store.session() as session:
        stored = _stored_counts(session)
        for (template_id, name), values in stored.items():
            assert values == _read_from_events(session, template_id, name), (template_id, name)
    return len(stored)


def _field_scopes(session: Any) -> Iterator[tuple[str, frozenset[int]]]:
    """(field, templates): each template carrying the field alone, and all of them together."""
    by_name: dict[str, set[int]] = {}
    for template_id, name in session.execute(select(TemplateField.template_id, TemplateField.name)):
        by_name.setdefault(name, set()).add(int(template_id))
    for name, templates in sorted(by_name.items()):
        for template_id in sorted(templates):
            yield name, frozenset({template_id})
        if len(templates) > 1:
            yield name, frozenset(templates)


def _assert_answers_equal(store: Any) -> int:
    """Top values, distinct counts and events carrying a field, over whole templates, read from the counts and
    read from the events, are the same; returns how many were read from the counts."""
    from_counts = 0
    with store.session() as session:
        for name, templates in _field_scopes(session):
            within = search_repo.of_templates(templates)
            value = compute_repo.value_of(session, name, within, templates=templates)
            assert value is not None
            pairs = compute_repo._counted(session, value, templates)
            from_counts += pairs is not None
            assert compute_repo.top_values(session, value, within, limit=5, whole=templates) == (
                compute_repo.top_values(session, value, within, limit=5)
            ), (name, templates)
            assert compute_repo.distinct_count(session, value, within, bound=100, whole=templates) == (
                compute_repo.distinct_count(session, value, within, bound=100)
            ), (name, templates)
            assert compute_repo.count_carrying(session, value, within, whole=templates) == (
                compute_repo.count_carrying(session, value, within)
            ), (name, templates)
    return from_counts


def test_counts_kept_at_ingest_equal_the_events_and_answer_as_they_do(store, fields_on, loghub: Path) -> None:  # type: ignore[no-untyped-def]
    _index(store, fields_on, loghub)
    # OpenSSH's "Failed password for root" becomes "for <*>" while it is read: its stored events were read again.
    assert _assert_counts_equal_events(store) > 100
    assert _assert_answers_equal(store) > 100


def test_a_field_past_the_cap_is_not_counted_and_answers_are_read_from_the_events(  # type: ignore[no-untyped-def]
    store, fields_on, loghub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(value_counts_repo, "VALUE_CAP", 3)
    monkeypatch.setattr(value_counts, "VALUE_CAP", 3)
    _index(store, fields_on, loghub, ("OpenSSH", "HDFS"))
    with store.session() as session:
        states = {
            (t, n): bound
            for t, n, bound in session.execute(
                select(ValueCountField.template_id, ValueCountField.name, ValueCountField.values_bound)
            )
        }
        over = {pair for pair, bound in states.items() if bound < 0}
        assert over and all(0 <= bound <= 3 for pair, bound in states.items() if pair not in over)
        held = {(t, n) for t, n in session.execute(select(ValueCount.template_id, ValueCount.name).distinct())}
        assert not held & over
    _assert_counts_equal_events(store)
    _assert_answers_equal(store)


def test_numbers_with_a_fraction_and_measures_are_not_counted(store, fields_on, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # SQLite writes a float with 15 digits and PostgreSQL as stored: their text is not the counts' to keep. A
    # measure (a duration here) is asked for its extremes, sums and averages, never ranked: it is not counted.
    log = tmp_path / "app.log"
    lines = [
        f"2026-01-05T10:00:{n:02d}+00:00 web-01 app[7]: request took {n / 7:.6f}s for user u{n % 3} version={n / 9:.6f}"
        for n in range(40)
    ]  # fmt: skip
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    index_inputs(store, fields_on, [str(log)])
    with store.session() as session:
        states = {
            name: bound for name, bound in session.execute(select(ValueCountField.name, ValueCountField.values_bound))
        }
        kinds = {
            name: (value_type, kind)
            for name, value_type, kind in session.execute(
                select(TemplateField.name, TemplateField.type, TemplateField.kind)
            )
        }
    assert kinds["took"] == ("float", "measure") and kinds["version"] == ("float", "identifier")
    assert states["version"] == -1
    assert "took" not in states
    assert states["user"] == 3
    _assert_counts_equal_events(store)
    _assert_answers_equal(store)


def test_retention_takes_deleted_events_out_of_the_counts(store, fields_on, loghub: Path) -> None:  # type: ignore[no-untyped-def]
    from logchat.storage.retention_repo import delete_events_before

    _index(store, fields_on, loghub, ("OpenSSH", "Linux", "Apache"))
    with store.session() as session:
        low, high = session.execute(select(func.min(Event.ts), func.max(Event.ts))).one()
        before = session.scalar(select(func.count()).select_from(ValueCount))
    middle = low + (high - low) / 2
    cutoff = datetime(middle.year, middle.month, middle.day, middle.hour, tzinfo=UTC) + timedelta(hours=1)
    with store.session() as session:
        pruned = delete_events_before(session, to_micros(cutoff))
    assert pruned.events > 0
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(ValueCount)) < before
        assert session.scalar(select(func.count()).select_from(ValueCount).where(ValueCount.count <= 0)) == 0
    assert _assert_counts_equal_events(store) > 50
    assert _assert_answers_equal(store) > 50


def test_events_whose_fields_are_read_later_are_counted(store, settings, loghub: Path) -> None:  # type: ignore[no-untyped-def]
    from logchat.services.fields import backfill_fields

    settings.ingest.fields = False
    _index(store, settings, loghub, ("OpenSSH", "Apache"))
    settings.ingest.fields = True
    _index(store, settings, loghub, ("Linux",))  # fields of new templates are counted from the start
    assert backfill_fields(store) > 0
    assert _assert_counts_equal_events(store) > 50
    assert _assert_answers_equal(store) > 50


def test_migration_counts_an_existing_store_as_ingest_does(store, fields_on, loghub: Path) -> None:  # type: ignore[no-untyped-def]
    from alembic import command

    from logchat.storage.migrate import alembic_config

    _index(store, fields_on, loghub, ("OpenSSH", "HDFS"))
    with store.session() as session:
        kept = _stored_counts(session)
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0014_pg_search_plain")
        command.upgrade(alembic_config(conn), "0015_value_counts")
    with store.session() as session:
        assert _stored_counts(session) == kept


def test_a_copied_store_answers_from_its_counts_as_the_original(store, fields_on, loghub: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from logchat.services.database import copy_database

    _index(store, fields_on, loghub, ("OpenSSH", "Linux"))
    target_url = f"sqlite:///{tmp_path / 'copy.db'}"
    copy_database(fields_on, target_url)
    target = open_store(target_url)
    try:
        with store.session() as session, target.session() as copied:
            assert _stored_counts(copied) == _stored_counts(session)
        assert _assert_counts_equal_events(target) > 50
        assert _assert_answers_equal(target) > 50
    finally:
        target.close()


def test_ask_answers_the_same_from_the_counts_and_from_the_events(  # type: ignore[no-untyped-def]
    store, fields_on, loghub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from logchat.services.ask import AskRequest, ask

    _index(store, fields_on, loghub, ("OpenSSH",))
    read_from_counts: list[str] = []
    for reading in ("top_values", "distinct_count"):
        original = getattr(value_counts_repo, reading)

        def counted(*args: Any, _original: Any = original, _name: str = reading, **kwargs: Any) -> Any:
            read_from_counts.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(value_counts_repo, reading, counted)
    questions = [
        "which users had the most invalid user attempts?",
        "how many different users had invalid user attempts?",
        "which IPs had the most failed passwords?",
        "top 3 users with failed passwords",
    ]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    answers = [ask(store, fields_on, AskRequest(q, now=now, use_llm=False)).to_json()["result"] for q in questions]
    # The first two match whole templates; the retrieval knows that on SQLite only (templates_fully_matching).
    assert set(read_from_counts) == ({"top_values", "distinct_count"} if store.is_sqlite else set())
    with store.session() as session:
        session.execute(text("DELETE FROM value_count_fields"))  # every field is read from the events now
        session.commit()
    read_from_counts.clear()
    again = [ask(store, fields_on, AskRequest(q, now=now, use_llm=False)).to_json()["result"] for q in questions]
    assert read_from_counts == []
    assert answers == again
    assert all(answer.get("value") for answer in answers)


def test_a_file_read_again_after_truncation_and_rotation_adds_its_new_events(  # type: ignore[no-untyped-def]
    store, fields_on, loghub: Path, tmp_path: Path
) -> None:
    lines = (loghub / "OpenSSH" / "OpenSSH_2k.log").read_text(encoding="utf-8").splitlines()
    log = tmp_path / "auth.log"
    log.write_text("\n".join(lines[:800]) + "\n", encoding="utf-8")
    index_inputs(store, fields_on, [str(log)])
    log.write_text("\n".join(lines[800:1200]) + "\n", encoding="utf-8")  # truncated, then written again
    assert index_inputs(store, fields_on, [str(log)]).sources[0].status == "truncated"
    log.rename(tmp_path / "auth.log.1")
    log.write_text("\n".join(lines[1200:]) + "\n", encoding="utf-8")  # rotated
    index_inputs(store, fields_on, [str(log)])
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == len(lines)
    assert _assert_counts_equal_events(store) > 10
    assert _assert_answers_equal(store) > 10


def test_a_backup_holds_the_counts_of_its_events(loghub: Path, tmp_path: Path) -> None:
    # `logchat db backup` copies SQLite stores (PostgreSQL's is pg_dump): a SQLite store whatever the backend.
    from logchat.config import load_settings
    from logchat.storage.backup import backup_sqlite

    settings = load_settings(data_dir=tmp_path / "data", database={"url": f"sqlite:///{tmp_path / 'store.db'}"})
    settings.ingest.fields = True
    store = open_store(settings.database_url)
    copy = None
    try:
        _index(store, settings, loghub, ("OpenSSH", "Linux"))
        backup_sqlite(store, tmp_path / "backup.db")
        copy = open_store(f"sqlite:///{tmp_path / 'backup.db'}")
        with store.session() as session, copy.session() as copied:
            assert _stored_counts(copied) == _stored_counts(session)
        assert _assert_answers_equal(copy) > 50
    finally:
        store.close()
        if copy is not None:
            copy.close()


def test_values_with_quotes_escapes_and_signs_are_counted_as_the_events_read_them(  # type: ignore[no-untyped-def]
    store, fields_on, tmp_path: Path
) -> None:
    # Values read straight from the JSON text: a key inside a string, escaped quotes and backslashes, non-ASCII
    # text written escaped or not, negative and 20-digit integers, true.
    import json

    users = ['a"b', "c\\d", 'x,"port":1', "é", "plain", "\u00e9", "tab\there"]
    records = [
        {"ts": f"2026-01-05T10:00:{n:02d}Z", "level": "info", "msg": "login attempt", "user": users[n % len(users)],
         "delta": -(n % 4), "request_id": 12345678901234567890 + (n % 2), "ok": True, "code": n % 3}
        for n in range(42)
    ]  # fmt: skip
    log = tmp_path / "app.jsonl"
    log.write_text("".join(json.dumps(record, ensure_ascii=n % 2 == 0) + "\n" for n, record in enumerate(records)))
    index_inputs(store, fields_on, [str(log)])
    with store.session() as session:
        states = session.execute(select(ValueCountField.name, ValueCountField.values_bound)).all()
    assert {name for name, bound in states if bound >= 0} == {"user", "ok", "code"}
    # An identifier past 64 bits: SQLite reads it as a float.
    assert {name for name, bound in states if bound < 0} == {"request_id"}
    # "delta", a measure, is not counted (and does answer, from the events: _assert_answers_equal).
    assert _assert_counts_equal_events(store) >= 3
    assert _assert_answers_equal(store) >= 3


def test_a_field_holding_integers_and_their_text_is_counted_as_one_value_per_text(  # type: ignore[no-untyped-def]
    store, fields_on, tmp_path: Path
) -> None:
    # 7 and "7" are one value to the events' SQL: their counts add up. A field holding only text, only integers or
    # both is turned into its texts in a different way each; a NUL in one value leaves its field uncounted.
    import json

    records = [
        {"ts": f"2026-01-05T10:00:{n:02d}Z", "level": "info", "msg": "job finished", "code": [7, "7", 8, "x"][n % 4],
         "count": n % 5, "owner": ["ann", "bö", "çé"][n % 3], "note": "a\u0000b" if n == 11 else "ok"}
        for n in range(40)
    ]  # fmt: skip
    log = tmp_path / "jobs.jsonl"
    log.write_text("".join(json.dumps(record) + "\n" for record in records))
    index_inputs(store, fields_on, [str(log)])
    with store.session() as session:
        states = dict(session.execute(select(ValueCountField.name, ValueCountField.values_bound)).all())
        codes = dict(session.execute(select(ValueCount.value, ValueCount.count).where(ValueCount.name == "code")).all())
    assert states["code"] == 3 and codes == {"7": 20, "8": 10, "x": 10}
    assert states["owner"] == 3 and "count" not in states  # a measure is not counted
    assert states["note"] == -1
    assert _assert_counts_equal_events(store) == 2
    assert _assert_answers_equal(store) >= 2


def test_counts_are_kept_whole_when_the_table_is_rebuilt_without_rowid(store, fields_on, loghub: Path) -> None:  # type: ignore[no-untyped-def]
    # Migration 0017 makes value_counts one B-tree keyed by (template, field, value) on SQLite (PostgreSQL keeps its
    # table): the counts survive it both ways, and ingest goes on adding to them afterwards.
    from alembic import command

    from logchat.storage.migrate import alembic_config, upgrade_to_head

    def declared() -> str | None:
        if not store.is_sqlite:
            return None
        with store.engine.connect() as conn:
            return str(conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'value_counts'").scalar_one())

    def counts() -> dict[tuple[int, str], dict[str, int]]:
        with store.session() as session:
            return _stored_counts(session)

    _index(store, fields_on, loghub, ("OpenSSH", "Apache"))
    before = counts()
    assert sum(len(values) for values in before.values()) > 50
    assert store.is_sqlite is ("WITHOUT ROWID" in (declared() or ""))
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0016_sqlite_fts_host")
    assert "WITHOUT ROWID" not in (declared() or "")
    assert counts() == before
    assert upgrade_to_head(store) is True
    assert store.is_sqlite is ("WITHOUT ROWID" in (declared() or ""))
    assert counts() == before
    _index(store, fields_on, loghub, ("HDFS", "Linux"))
    assert _assert_counts_equal_events(store) > len(before)
    _assert_answers_equal(store)


def _recounted(store: Any) -> tuple[dict[tuple[int, str], dict[str, int]], dict[tuple[int, str], bool]]:
    """The counts, and which fields are counted, that counting every template again from its stored events
    gives."""
    with store.session() as session:
        templates = {int(t) for t in session.scalars(select(TemplateField.template_id).distinct())}
        value_counts_repo.recount(session, templates)
        session.flush()
        return _stored_counts(session), _counted_or_not(session)


def _counted_or_not(session: Any) -> dict[tuple[int, str], bool]:
    # Ingest keeps a bound of the different values (what each batch added), a count keeps them exactly.
    return {
        (t, n): bound >= 0
        for t, n, bound in session.execute(
            select(ValueCountField.template_id, ValueCountField.name, ValueCountField.values_bound)
        )
    }


@pytest.mark.parametrize("counted_by", ["reader", "writer"])
def test_values_counted_by_the_reader_process_are_stored_as_the_writer_counts_them(  # type: ignore[no-untyped-def]
    store, fields_on, loghub: Path, monkeypatch: pytest.MonkeyPatch, counted_by: str, tmp_path: Path
) -> None:
    # The reader process counts a batch's values when it finishes the batch while the writer is busy; here it
    # is made to count every batch ("reader") or none ("writer"). A small cap and small batches take pairs past
    # the cap within a batch and across batches, on either side; an access log of many shapes too.
    from logchat.ingest.parallel import ReaderProcess
    from logchat.services import ingest as ingest_service
    from logchat.storage import ingest_writer

    monkeypatch.setattr(ingest_service, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(value_counts_repo, "VALUE_CAP", 40)
    monkeypatch.setattr(value_counts, "VALUE_CAP", 40)
    if counted_by == "reader":  # the writer never says it waits
        monkeypatch.setattr(ReaderProcess, "writer_waits", lambda self, waiting: None)
    else:
        monkeypatch.setattr(ingest_service, "_count_values_ahead", lambda: None)
    fields_on.ingest.batch_size = 150
    written = []
    write_batch = ingest_writer.write_batch

    def recording(*args: Any, **kwargs: Any) -> None:
        written.append(kwargs.get("value_counts"))
        write_batch(*args, **kwargs)

    monkeypatch.setattr(ingest_writer, "write_batch", recording)
    _index(store, fields_on, loghub)
    report = index_inputs(store, fields_on, [str(write_access_log(tmp_path / "access.log"))])
    assert not report.failed, report.to_dict()
    carried = [counts for counts in written if counts is not None]
    if counted_by == "reader":
        assert len(carried) == len(written) > 60
        assert any(values is None for counts in carried for values in counts.values() for values in values.values())
    else:
        assert not carried
    with store.session() as session:
        kept, states = _stored_counts(session), _counted_or_not(session)
    assert sum(states.values()) > 50 and sum(not counted for counted in states.values()) > 10
    assert _assert_counts_equal_events(store) > 50
    # Counted once over all stored events, from the events' own SQL: the same counts and the same fields counted.
    assert _recounted(store) == (kept, states)
