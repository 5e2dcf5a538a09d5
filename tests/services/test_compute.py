"""Operations computed over all matching events, on SQLite and PostgreSQL, checked against values read
independently from loghub's structured CSV (Content column) with plain regular expressions."""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from logchat.retrieval.plan import FieldCondition, Operation, Plan
from logchat.services.compute import FIELDS_OFF, cite, compute
from logchat.services.ingest import index_inputs
from logchat.storage.models import Event

FAILED = "Failed password"
TOOK = " took "


@pytest.fixture
def settings(data_dir: Path, database_url: str):  # type: ignore[no-untyped-def]
    """The test settings with field extraction on (it is off by default)."""
    from logchat.config import load_settings

    return load_settings(data_dir=data_dir, database={"url": database_url}, ingest={"fields": True})


def _csv_rows(loghub: Path, system: str) -> list[dict[str, str]]:
    with (loghub / system / f"{system}_2k.log_structured.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _indexed(store, settings, loghub: Path, system: str) -> None:  # type: ignore[no-untyped-def]
    report = index_inputs(store, settings, [str(loghub / system / f"{system}_2k.log")])
    assert not report.failed, report.to_dict()


def _plan(kind: str, **fields: object) -> Plan:
    return Plan(question="test", operation=Operation(kind=kind, **fields))  # type: ignore[arg-type]


def _line_of(session, event_id: int | None) -> int:  # type: ignore[no-untyped-def]
    assert event_id is not None
    return int(session.scalar(select(Event.line_no).where(Event.id == event_id)))


@pytest.fixture
def openssh(store, settings, loghub: Path):  # type: ignore[no-untyped-def]
    _indexed(store, settings, loghub, "OpenSSH")
    return store, [row for row in _csv_rows(loghub, "OpenSSH") if FAILED in row["Content"]]


@pytest.fixture
def spark(store, settings, loghub: Path):  # type: ignore[no-untyped-def]
    _indexed(store, settings, loghub, "Spark")
    return store, [row for row in _csv_rows(loghub, "Spark") if TOOK in row["Content"]]


def test_count_distinct_and_top_over_failed_passwords(openssh) -> None:  # type: ignore[no-untyped-def]
    store, rows = openssh
    sources = [re.search(r" from (\d+\.\d+\.\d+\.\d+) ", row["Content"]).group(1) for row in rows]  # type: ignore[union-attr]
    within = Event.message.contains(FAILED)
    with store.session() as session:
        counted = compute(session, _plan("count"), within)
        assert counted.value == counted.matched == len(rows)
        assert counted.sentence == f"There were {len(rows):,} matching events."

        distinct = compute(session, _plan("count_distinct", field="from"), within)
        assert distinct.value == len(set(sources)) and distinct.exact
        assert f"There were {len(set(sources)):,} different values of from" in distinct.sentence

        top = compute(session, _plan("top", field="from", limit=3), within)
        expected = sorted(Counter(sources).items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        assert [tuple(pair) for pair in top.value] == expected
        (first, n1), (second, n2), (third, n3) = expected
        assert top.sentence == (f"The most frequent from was {first} ({n1:,} events), then {second} ({n2:,}), "
                                f"{third} ({n3:,}).")

        # Grouped by an event column: one host in this log, so the groups are the overall top values.
        by_host = compute(session, _plan("top", field="from", by="host", limit=3), within)
        hosts = Counter(row["Component"] for row in rows)
        assert [group for group, _ in by_host.value] == list(hosts)
        assert [tuple(pair) for pair in by_host.value[0][1]] == expected


def test_max_and_min_port_cite_the_line_holding_them(openssh) -> None:  # type: ignore[no-untyped-def]
    store, rows = openssh
    ports = [(int(re.search(r" port (\d+) ", row["Content"]).group(1)), int(row["LineId"])) for row in rows]  # type: ignore[union-attr]
    within = Event.message.contains(FAILED)
    with store.session() as session:
        for kind, pick in (("max", max), ("min", min)):
            result = compute(session, _plan(kind, field="port"), within)
            value = pick(port for port, _ in ports)
            assert result.value == value
            assert _line_of(session, result.event_id) == min(line for port, line in ports if port == value)
            word = "highest" if kind == "max" else "lowest"
            assert result.sentence == f"The {word} port was {value}."  # an identifier: no thousands separator
            evidence = [{"id": "E1", "event_id": result.event_id, "source": "OpenSSH_2k.log",
                         "line": _line_of(session, result.event_id)}]
            assert cite(result, evidence).sentence == (
                f"The {word} port was {value}, in [E1] OpenSSH_2k.log:{evidence[0]['line']}.")


def _spark_time(row: dict[str, str]) -> datetime:
    return datetime.strptime(f"{row['Date']} {row['Time']}", "%y/%m/%d %H:%M:%S").replace(tzinfo=UTC)


def test_measures_keep_their_unit(spark) -> None:  # type: ignore[no-untyped-def]
    store, rows = spark
    millis = [int(re.search(r"took (\d+) ms", row["Content"]).group(1)) for row in rows]  # type: ignore[union-attr]
    within = Event.message.contains(TOOK)
    with store.session() as session:
        largest = compute(session, _plan("max", field="took"), within)
        assert largest.unit == "s" and math.isclose(largest.value, max(millis) / 1000)
        assert largest.sentence.startswith(f"The highest took was {max(millis)} ms (")

        total = compute(session, _plan("sum", field="took"), within)
        assert math.isclose(total.value, sum(millis) / 1000)
        assert total.sentence.startswith("The total took was ") and f"over {len(millis)} values" in total.sentence

        average = compute(session, _plan("avg", field="took"), within)
        assert math.isclose(average.value, sum(millis) / len(millis) / 1000)
        said = re.search(r"was ([\d.]+) ms", average.sentence)
        assert said is not None and math.isclose(float(said.group(1)), sum(millis) / len(millis), rel_tol=1e-5)

        ordered = sorted(millis)
        for share in (50.0, 90.0, 99.0):
            rank = share / 100 * (len(ordered) - 1)
            low, high = math.floor(rank), math.ceil(rank)
            expected = (ordered[low] + (ordered[high] - ordered[low]) * (rank - low)) / 1000
            result = compute(session, _plan("percentile", field="took", percentile=share), within)
            assert math.isclose(result.value, expected, rel_tol=1e-9), share


def test_a_value_is_said_in_the_unit_the_question_asks(spark) -> None:  # type: ignore[no-untyped-def]
    store, rows = spark
    millis = [int(re.search(r"took (\d+) ms", row["Content"]).group(1)) for row in rows]  # type: ignore[union-attr]
    within = Event.message.contains(TOOK)
    with store.session() as session:
        in_ms = Plan(question="total read time, in ms?", operation=Operation(kind="sum", field="took"))
        total = compute(session, in_ms, within)
        assert math.isclose(total.value, sum(millis) / 1000)  # stored in seconds, said in ms
        assert total.sentence.startswith(f"The total took was {sum(millis):,} ms ({sum(millis) / 1000:g} s)")
        in_seconds = Plan(question="slowest read in seconds?", operation=Operation(kind="max", field="took"))
        assert compute(session, in_seconds, within).sentence.startswith(
            f"The highest took was {max(millis) / 1000:g} s")
        # A unit of another dimension is not a conversion: the value is said as without it.
        in_bytes = Plan(question="slowest read in bytes?", operation=Operation(kind="max", field="took"))
        assert compute(session, in_bytes, within).sentence.startswith(f"The highest took was {max(millis)} ms (")


def test_first_last_and_series_in_utc(spark) -> None:  # type: ignore[no-untyped-def]
    store, rows = spark
    within = Event.message.contains(TOOK)
    times = [(_spark_time(row), int(row["LineId"])) for row in rows]
    with store.session() as session:
        first = compute(session, _plan("first"), within)
        last = compute(session, _plan("last"), within)
        assert first.value == min(times)[0] and _line_of(session, first.event_id) == min(times)[1]
        assert last.value == max(times)[0] and _line_of(session, last.event_id) == max(line for at, line in times
                                                                                     if at == max(times)[0])
        assert f"was at {min(times)[0]:%Y-%m-%d %H:%M:%S} UTC" in first.sentence

        minutes = sorted(Counter(at.replace(second=0) for at, _ in times).items())
        series = compute(session, _plan("series", interval=60), within)
        assert [(start, count) for start, count in series.value] == minutes
        expected = ", ".join(f"{start:%Y-%m-%d %H:%M} — {count}" for start, count in minutes)
        assert series.sentence == f"Per minute (UTC): {expected}."

        # No interval given: picked from the time span.
        span = max(times)[0] - min(times)[0]
        picked = compute(session, _plan("series"), within)
        assert picked.operation.interval == (60 if span.total_seconds() <= 7200 else 3600 if span.days < 3 else 86400)
        assert sum(count for _, count in picked.value) == len(rows)


def test_bounds_sums_of_identifiers_and_unknown_fields(openssh) -> None:  # type: ignore[no-untyped-def]
    store, _rows = openssh
    within = Event.message.contains(FAILED)
    with store.session() as session:
        refused = compute(session, _plan("sum", field="port"), within)
        assert refused.value is None and not refused.exact and "not added up" in refused.sentence
        unknown = compute(session, _plan("top", field="no_such_field"), within)
        assert unknown.value is None and "No event has a field named 'no_such_field'" in unknown.sentence

    from logchat.services import compute as compute_module

    bounded = compute_module.DISTINCT_BOUND
    try:
        compute_module.DISTINCT_BOUND = 3
        with store.session() as session:
            result = compute(session, _plan("count_distinct", field="from"), within)
        assert result.value == 3 and not result.exact and "at least 3" in result.sentence
    finally:
        compute_module.DISTINCT_BOUND = bounded


def test_field_operations_say_fields_are_off(store, data_dir: Path, database_url: str, loghub: Path) -> None:  # type: ignore[no-untyped-def]
    from logchat.config import load_settings

    plain = load_settings(data_dir=data_dir, database={"url": database_url}, ingest={"fields": False})
    _indexed(store, plain, loghub, "OpenSSH")
    with store.session() as session:
        result = compute(session, _plan("top", field="from"), Event.message.contains(FAILED))
        assert result.reason == FIELDS_OFF and "fields = true" in result.sentence
        # Operations on the events themselves need no fields.
        counted = compute(session, _plan("count"), Event.message.contains(FAILED))
        processes = compute(session, _plan("top", field="process", limit=1), Event.message.contains(FAILED))
    rows = [row for row in _csv_rows(loghub, "OpenSSH") if FAILED in row["Content"]]
    assert counted.value == len(rows)
    assert processes.value == [["sshd", len(rows)]]

    from logchat.services.ask import AskRequest, ask

    answered = ask(store, plain, AskRequest("how many distinct IPs had failed passwords?", use_llm=False)).to_json()
    assert FIELDS_OFF in answered["notices"] and "operation" not in answered["result"]


def test_ask_leads_with_the_computed_result_and_cites_its_line(openssh, settings) -> None:  # type: ignore[no-untyped-def]
    from logchat.services.ask import AskRequest, ask

    store, rows = openssh
    ports = [(int(re.search(r" port (\d+) ", row["Content"]).group(1)), int(row["LineId"])) for row in rows]  # type: ignore[union-attr]
    highest = max(port for port, _ in ports)
    result = ask(store, settings, AskRequest("what was the highest port of a failed password?", use_llm=False)
                 ).to_json()
    first_line = result["answer"].splitlines()[0]
    cited = result["evidence"][0]
    assert cited["line"] == min(line for port, line in ports if port == highest)
    assert first_line == f"The highest port was {highest}, in [E1] {cited['source']}:{cited['line']}."
    assert result["result"]["operation"]["kind"] == "max" and result["result"]["value"] == highest
    assert result["result"]["event_id"] == cited["event_id"] and result["result"]["exact"] is True

    # syslog's "message repeated N times: [ Failed password … ]" notes quote a line, they are not one more
    # failed password: the answer leaves them out of its count (docs/ask.md).
    hours = Counter(f"{datetime.strptime(row['Time'], '%H:%M:%S'):%H}:00" for row in rows
                    if not row["Content"].startswith("message repeated"))
    series = ask(store, settings, AskRequest("failed passwords per hour", use_llm=False)).to_json()
    assert series["result"]["operation"]["kind"] == "series" and series["result"]["operation"]["interval"] == 3600
    said = re.findall(r"\d{4}-\d{2}-\d{2} (\d{2}:\d{2}) — ([\d,]+)", series["answer"].splitlines()[0])
    assert [(hour, int(count.replace(",", ""))) for hour, count in said] == sorted(hours.items())


def test_users_of_failed_passwords_read_the_field_each_template_names_them_by(openssh) -> None:  # type: ignore[no-untyped-def]
    # "Failed password for root" keeps the user in field `for`, "Failed password for invalid user admin" in
    # `user`: ranking or counting users reads whichever of the two a line has.
    store, rows = openssh
    users = [re.search(r" for (?:invalid user )?\s*(\S+) from ", row["Content"]).group(1) for row in rows]  # type: ignore[union-attr]
    within = Event.message.contains(FAILED)
    with store.session() as session:
        distinct = compute(session, _plan("count_distinct", field="user"), within)
        assert distinct.value == len(set(users))
        top = compute(session, _plan("top", field="user", limit=2), within)
        expected = sorted(Counter(users).items(), key=lambda kv: (-kv[1], kv[0]))[:2]
        assert [pair[0] for pair in top.value] == [name for name, _ in expected]
        assert list(top.value[1]) == list(expected[1])


def test_an_address_after_from_counts_the_lines_that_show_it(store, settings, loghub: Path) -> None:  # type: ignore[no-untyped-def]
    # Zookeeper's "Connection request from old client /10.10.34.13:50545" has a field `from` = "old": the count
    # of "connection requests from 10.10.34.13" holds those lines too, as retrieval does.
    _indexed(store, settings, loghub, "Zookeeper")
    rows = [row for row in _csv_rows(loghub, "Zookeeper")
            if "connection request" in row["Content"].lower() and "/10.10.34.13:" in row["Content"]]
    plan = Plan(question="how many connection requests came from 10.10.34.13?", operation=Operation(kind="count"),
                conditions=(FieldCondition("from", "=", "10.10.34.13", source_text="from 10.10.34.13"),))
    with store.session() as session:
        counted = compute(session, plan, Event.message.ilike("%connection request%"))
    assert counted.value == len(rows) > 0
