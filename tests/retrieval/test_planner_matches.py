"""The planner's field choice among the fields of the matching lines, and the unit a question asks its value in.

Fields are those `logchat fields` lists for the loghub Zookeeper, OpenStack and Spark samples (names, types,
kinds, units and the words of the templates that carry them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from logchat.retrieval.plan import Plan
from logchat.retrieval.planner import KnownField, StoreVocabulary, asked_unit, build_plan, choose_field
from logchat.retrieval.question import parse_question

NOW = datetime(2017, 6, 9, 21, 0, tzinfo=UTC)


def _field(
    name: str,
    type_: str,
    kind: str,
    *templates: str,
    unit: str | None = None,
    events: int = 100,
    example: str | None = None,
) -> KnownField:
    words = tuple(frozenset(word for word in template.lower().replace("<num>", " ").split() if word.isalpha())
                  for template in templates)  # fmt: skip
    return KnownField(name=name, type=type_, kind=kind, unit=unit, events=events, example=example,
                      context=frozenset().union(*words), templates=words)  # fmt: skip


SESSION = _field("session", "id", "identifier", "Expiring session <HEX>, timeout of <NUM>ms exceeded", events=120)
SESSIONID = _field("sessionid", "id", "identifier", "Processed session termination for sessionid: <HEX>", events=47)
ZOOKEEPER = StoreVocabulary(fields=(SESSION, SESSIONID))

SPARK = StoreVocabulary(fields=(
    _field("took", "float", "measure", "Reading broadcast variable <NUM> took <NUM> ms", unit="s", events=37),
    _field("variable", "int", "measure", "Reading broadcast variable <NUM> took <NUM> ms", events=37),
))  # fmt: skip


def _plan(question: str, store: StoreVocabulary) -> Plan:
    filters = parse_question(question, now=NOW, tz=ZoneInfo("UTC"), known_hosts=store.hosts,
                             known_processes=store.processes, known_sources=store.sources)  # fmt: skip
    return build_plan(question, filters, store)


def test_among_the_store_s_fields_the_name_wins_among_the_matching_lines_theirs() -> None:
    question = "how many distinct sessions were terminated?"
    # Before retrieval every field of the store competes, and "session" is the question's own word.
    assert _plan(question, ZOOKEEPER).operation.field == "session"
    # The termination lines carry only sessionid: among their fields, that one fits.
    assert choose_field(question, "count_distinct", StoreVocabulary(fields=(SESSIONID,))) == "sessionid"


def test_no_field_of_the_matching_lines_fitting_gives_none() -> None:
    took = SPARK.fields[0]
    assert choose_field("how many distinct sessions were terminated?", "count_distinct",
                        StoreVocabulary(fields=(took,))) is None  # fmt: skip


@pytest.mark.parametrize(("question", "unit"), [
    ("total time spent reading broadcast variables, in ms?", "ms"),
    ("what was the slowest request, in seconds?", "s"),
    ("largest response, in KB", "KiB"),
    ("total bytes received in bytes", "bytes"),
    ("what was the slowest request?", None),
    ("errors in 2015", None),
])  # fmt: skip
def test_the_unit_a_question_asks_for(question: str, unit: str | None) -> None:
    assert asked_unit(question) == unit


def test_the_unit_asked_for_is_not_a_word_the_lines_must_contain() -> None:
    plan = _plan("total time spent reading broadcast variables, in ms?", SPARK)
    assert plan.operation.kind == "sum" and plan.operation.field == "took"
    assert [term.text for term in plan.terms] == ["spent", "reading", "broadcast", "variables"]
    assert "ms (says what to compute)" in plan.ignored


SSHD = StoreVocabulary(
    fields=(
        _field("user", "string", "label", "Invalid user <*> from <IP>",
               "Accepted password for <*> from <IP> port <NUM>", events=940, example="admin"),
        _field("rhost", "ip", "label", "authentication failure; logname= uid=<NUM> euid=<NUM> tty=ssh ruser= rhost=<*>",
               events=490, example="218.188.2.4"),
    ),
)  # fmt: skip


def test_a_modifier_the_field_s_lines_print_says_which_lines_are_meant() -> None:
    plan = _plan("how many different invalid user names were tried?", SSHD)
    assert plan.operation.field == "user"
    # "Invalid user admin from ...": "invalid" picks those lines among all that carry a user.
    assert "invalid" in [term.text for term in plan.terms]
    assert "user" not in [term.text for term in plan.terms] and "names" not in [term.text for term in plan.terms]


def test_a_modifier_the_lines_do_not_print_only_names_the_field() -> None:
    plan = _plan("how many distinct remote hosts failed authentication?", SSHD)
    assert plan.operation.field == "rhost"
    assert [term.text for term in plan.terms] == ["failed", "authentication"]
