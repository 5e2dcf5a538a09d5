"""The planner, question by question: real questions read against the fields real logs give, exact plans.

The fields below are what `logchat fields` lists for the loghub samples and the bundled examples (names, types,
kinds, units and the words of the templates that carry them), so each plan is the one `logchat ask` would run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from logchat.retrieval.plan import FieldCondition, Operation, Plan, PlanFilters, TextTerm
from logchat.retrieval.planner import KnownField, StoreVocabulary, build_plan
from logchat.retrieval.question import parse_question
from logchat.services.planning import prefix_fallback

NOW = datetime(2017, 6, 9, 21, 0, tzinfo=UTC)


def _field(name: str, type_: str, kind: str, *templates: str, unit: str | None = None, events: int = 100,
           example: str | None = None) -> KnownField:
    words = tuple(frozenset(word for word in template.lower().replace("<num>", " ").split() if word.isalpha())
                  for template in templates)  # fmt: skip
    return KnownField(name=name, type=type_, kind=kind, unit=unit, events=events, example=example,
                      context=frozenset().union(*words), templates=words)  # fmt: skip


SPARK = StoreVocabulary(fields=(
    _field("stage", "float", "measure", "Running task <NUM> in stage <NUM> (TID <NUM>)",
           "Finished task <NUM> in stage <NUM> (TID <NUM>). <NUM> bytes result sent to driver", events=605),
    _field("tid", "int", "identifier", "Running task <NUM> in stage <NUM> (TID <NUM>)", events=605),
    _field("bytes", "int", "measure",
           "Finished task <NUM> in stage <NUM> (TID <NUM>). <NUM> bytes result sent to driver", unit="B", events=300),
    _field("took", "float", "measure", "Reading broadcast variable <NUM> took <NUM> ms", unit="s", events=37),
    _field("variable", "int", "measure", "Reading broadcast variable <NUM> took <NUM> ms", events=37),
    _field("rdd", "id", "identifier", "Found block rdd_<NUM>_<NUM> locally", events=332),
), processes=("executor.Executor", "storage.BlockManager"))  # fmt: skip

SSHD = StoreVocabulary(fields=(
    _field("from", "ip", "label", "Failed password for <*> from <IP> port <NUM> ssh2",
           "Invalid user <*> from <IP>", events=1116, example="183.62.140.253"),
    _field("user", "string", "label", "Failed password for invalid user <*> from <IP> port <NUM> ssh2",
           "Invalid user <*> from <IP>", events=940, example="root"),
    _field("port", "int", "identifier", "Failed password for <*> from <IP> port <NUM> ssh2", events=525),
), processes=("sshd",), hosts=("LabSZ",))  # fmt: skip

ACCESS = StoreVocabulary(fields=(
    _field("status", "int", "identifier", "<IP> GET <PATH> HTTP/1.1 status: <NUM> len: <NUM> time: <NUM>", events=1017),
    _field("duration", "float", "measure", "<IP> GET <PATH> HTTP/1.1 status: <NUM> len: <NUM> duration: <NUM>",
           unit="s", events=1017),
    _field("bytes", "int", "measure", "<IP> GET <PATH> HTTP/1.1 status: <NUM> bytes: <NUM>", unit="B", events=1017),
    _field("client", "ip", "label", "<IP> GET <PATH> HTTP/1.1 status: <NUM>", events=1017, example="10.0.0.1"),
    _field("user", "string", "label", "user <*> logged in", events=50, example="root"),
    _field("worker", "int", "identifier", "worker <NUM> started", events=20),
), hosts=("web-01", "web-02"))  # fmt: skip

OFF = StoreVocabulary(fields=(), fields_enabled=False, processes=("executor.Executor",))


def _plan(question: str, store: StoreVocabulary) -> Plan:
    filters = parse_question(question, now=NOW, tz=ZoneInfo("UTC"), known_hosts=store.hosts,
                             known_processes=store.processes, known_sources=store.sources)  # fmt: skip
    return build_plan(question, filters, store)


COMPLETED = ("completed", "finished", "done", "succeeded", "complete", "success")


def test_a_number_after_a_noun_binds_to_that_field_and_the_verb_maps_to_log_words() -> None:
    assert _plan("how many tasks completed in stage 26.0?", SPARK) == Plan(
        question="how many tasks completed in stage 26.0?",
        terms=(TextTerm("tasks"), TextTerm("completed", alternatives=COMPLETED)),
        conditions=(FieldCondition("stage", "=", 26.0, source_text="stage 26.0"),),
        operation=Operation(kind="count"),
        ignored=("stage (a field condition)", "26.0 (a field condition)"),
    )


def test_with_fields_off_the_number_stays_text_and_the_notes_say_why() -> None:
    plan = _plan("how many tasks completed in stage 26.0?", OFF)
    assert plan.conditions == ()
    assert [term.text for term in plan.terms] == ["tasks", "completed", "stage", "26.0"]
    assert plan.notes == (
        "named fields are off ([ingest] fields = true): stage 26.0 is matched as text",
        "named fields are off ([ingest] fields = true turns them on); values are matched as text",
    )


@pytest.mark.parametrize(("question", "condition"), [
    ("how many requests had status 502?", FieldCondition("status", "=", 502, "status 502")),
    ("requests with status >= 500", FieldCondition("status", ">=", 500, "status >= 500")),
    ("how many requests returned 404?", FieldCondition("status", "=", 404, "returned 404")),
    ("what did worker 7 do?", FieldCondition("worker", "=", 7, "worker 7")),
    ("requests from client 10.0.0.1", FieldCondition("client", "=", "10.0.0.1", "client 10.0.0.1")),
    ("when did user root log in?", FieldCondition("user", "=", "root", "user root")),
    ("requests above 500ms", FieldCondition("duration", ">", 0.5, "above 500ms")),
])  # fmt: skip
def test_field_conditions(question: str, condition: FieldCondition) -> None:
    assert _plan(question, ACCESS).conditions == (condition,)


def test_an_address_after_from_binds_to_the_from_field() -> None:
    plan = _plan("how many failed password attempts came from 183.62.140.253?", SSHD)
    assert plan.conditions == (FieldCondition("from", "=", "183.62.140.253", "from 183.62.140.253"),)
    assert [term.text for term in plan.terms] == ["failed", "password", "attempts"]
    assert plan.operation == Operation(kind="count")


@pytest.mark.parametrize(("question", "operation"), [
    ("which users failed to log in most often?", Operation(kind="top", field="user")),
    ("which IPs failed to log in most often? top 3", Operation(kind="top", field="from", limit=3)),
    ("which users failed most often per host?", Operation(kind="top", field="user", by="host")),
    ("how many different users failed a password?", Operation(kind="count_distinct", field="user")),
    ("how many unique source addresses tried an invalid user?", Operation(kind="count_distinct", field="from")),
    ("what was the highest port of a failed password?", Operation(kind="max", field="port")),
    ("when did the system last reboot?", Operation(kind="last")),
    ("when was the first failed password?", Operation(kind="first")),
    ("failed passwords per hour", Operation(kind="series", interval=3600)),
    ("failed passwords over time", Operation(kind="series")),
    ("invalid users by day", Operation(kind="series", interval=86400)),
    ("why did sshd reject logins?", Operation(kind="explain")),
    ("show the failed passwords", Operation(kind="list")),
])  # fmt: skip
def test_operations_on_sshd_logs(question: str, operation: Operation) -> None:
    assert _plan(question, SSHD).operation == operation


@pytest.mark.parametrize(("question", "operation"), [
    ("what is the p95 duration?", Operation(kind="percentile", field="duration", percentile=95.0)),
    ("median request duration", Operation(kind="percentile", field="duration", percentile=50.0)),
    ("average duration of a request", Operation(kind="avg", field="duration")),
    ("total bytes sent", Operation(kind="sum", field="bytes")),
    ("top 5 clients", Operation(kind="top", field="client", limit=5)),
    ("requests per 5 minutes", Operation(kind="series", interval=300)),
])  # fmt: skip
def test_operations_on_access_logs(question: str, operation: Operation) -> None:
    assert _plan(question, ACCESS).operation == operation


def test_identifiers_are_never_summed_nor_averaged() -> None:
    for question, store, kind in (("what is the average status?", ACCESS, "avg"),
                                  ("total port of failed passwords", SSHD, "sum")):
        plan = _plan(question, store)
        assert plan.operation == Operation(kind=kind)  # type: ignore[arg-type]
        assert plan.notes == ("no numeric field fits the question",)


def test_a_unit_in_the_question_picks_the_field_with_that_unit() -> None:
    assert _plan("what was the slowest broadcast variable read, in ms?", SPARK).operation == Operation(
        kind="max", field="took")
    assert _plan("average task result size in bytes?", SPARK).operation == Operation(kind="avg", field="bytes")


def test_the_noun_naming_an_identifier_is_not_required() -> None:
    plan = _plan("how many log lines are about task attempt attempt_1445144423722_0020_m_000002?", StoreVocabulary())
    assert [term.text for term in plan.terms] == ["attempt_1445144423722_0020_m_000002"]
    assert {"task (names the identifier)", "attempt (names the identifier)"} <= set(plan.ignored)
    # Only the words right before the id, or the one noun before "of" it: the parts of rdd_42 (rdd_42_0,
    # rdd_42_1…) are its blocks, whether the line says "Found block rdd_42_1" or "Partition rdd_42_1 not found".
    assert [term.text for term in _plan("how many times was a block of rdd_42 mentioned?", SPARK).terms] == [
        "rdd_42"]
    # A word of what happened is not a kind of thing: "failures of job_42" are failures.
    assert [term.text for term in _plan("how many failures of job_42?", StoreVocabulary()).terms] == [
        "failures", "job_42"]
    # Numbers and addresses are not identifiers of a kind: "stage 26.0", "serving blocks did 10.251.26.8".
    assert "blocks" in [term.text for term in _plan("how many blocks did 10.251.26.8 serve?", StoreVocabulary()).terms]


def test_question_words_that_logs_never_contain_are_not_required() -> None:
    plan = _plan("what errors did cups report?", StoreVocabulary())
    assert [term.text for term in plan.terms] == ["cups"]
    assert "report (a question word)" in plan.ignored
    assert plan.filters.levels == ("ERROR", "CRITICAL")


def test_reboot_maps_to_the_words_syslog_uses() -> None:
    plan = _plan("when did the system last reboot?", StoreVocabulary())
    assert plan.operation == Operation(kind="last")
    reboot = next(term for term in plan.terms if term.text == "reboot")
    assert {"boot", "booting", "shutdown"} <= set(reboot.alternatives)


def test_a_crash_is_also_an_exit_with_a_code() -> None:
    plan = _plan("how many times did ALERT crash?", StoreVocabulary())
    crash = next(term for term in plan.terms if term.text == "crash")
    assert {"exited", "terminated", "killed", "segfault", "exited with code"} <= set(crash.alternatives)


def test_an_identifier_becomes_a_prefix_only_when_nothing_matches_it_whole() -> None:
    plan = _plan("how many lines mention job_42?", StoreVocabulary())
    assert plan.terms == (TextTerm("job_42"),)
    assert prefix_fallback(plan, ("other",)) is None
    prefixed = prefix_fallback(plan, ("job_42",))
    assert prefixed is not None
    assert prefixed.terms == (TextTerm("job_42", prefix=True),)
    assert prefixed.notes[-1] == "nothing matched job_42 whole; matched as the start of logged ids"


def test_filters_come_from_the_question_reading() -> None:
    plan = _plan("how many errors did sshd log since 10:00?", SSHD)
    assert plan.filters == PlanFilters(start=datetime(2017, 6, 9, 10, 0, tzinfo=UTC), end=NOW,
                                       levels=("ERROR", "CRITICAL"), processes=("sshd",))  # fmt: skip
    assert plan.operation == Operation(kind="count")
    assert plan.terms == ()


def test_the_plan_serialises_for_ask_json() -> None:
    import json

    data = json.loads(json.dumps(_plan("how many tasks completed in stage 26.0 since 20:00?", SPARK).to_json()))
    assert data["filters"]["start"] == "2017-06-09T20:00:00+00:00"
    assert data["conditions"] == [{"name": "stage", "operator": "=", "value": 26.0, "source_text": "stage 26.0"}]
    assert data["operation"]["kind"] == "count"
