"""Negated actions in questions, and the plan terms they give: the action required, the negation matching
any word logs write for not doing it; two nouns also match their initials when the logs print those."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from logchat.retrieval.negated_actions import NOT_DONE, NegatedAction, negated_actions
from logchat.retrieval.planner import StoreVocabulary, acronym_candidates, build_plan
from logchat.retrieval.question import parse_question


@pytest.mark.parametrize(("question", "expected"), [
    ("how many times could it not reach the resource manager?", [NegatedAction("not", "reach")]),
    ("when did jk2_init first fail to find a child?", [NegatedAction("fail", "find")]),
    ("how many connections could not be made through the proxy?", [NegatedAction("not", "made")]),
    ("why couldn't the client connect?", [NegatedAction(None, "connect")]),
    ("how many jobs were unable to start?", [NegatedAction("unable", "start")]),
    ("how many times did the backup fail?", []),  # a failure, but no action it failed to do
    ("when was the first partition not found?", []),  # how the line is worded, not an action not done
])  # fmt: skip
def test_negated_actions_are_read_from_the_question(question: str, expected: list[NegatedAction]) -> None:
    assert negated_actions(question) == expected


def _terms(question: str, store: StoreVocabulary) -> dict[str, tuple[str, ...]]:
    filters = parse_question(question, now=datetime(2015, 10, 18, tzinfo=UTC), tz=ZoneInfo("UTC"))
    return {term.text: term.alternatives for term in build_plan(question, filters, store).terms}


def test_the_action_is_required_and_the_negation_is_any_word_for_not_doing_it() -> None:
    terms = _terms("when did jk2_init first fail to find a child?", StoreVocabulary())
    assert set(terms) == {"jk2_init", "fail", "child", "find"}
    assert set(NOT_DONE) <= set(terms["fail"])
    # A negation the question's words drop ("couldn't") is added as "not".
    terms = _terms("why couldn't the client connect?", StoreVocabulary())
    assert set(NOT_DONE) <= set(terms["not"]) and "connect" in terms


def test_two_nouns_match_their_initials_only_when_the_logs_print_them() -> None:
    question = "how many times could it not reach the resource manager?"
    assert {"RM"} <= acronym_candidates(question)
    printed = _terms(question, StoreVocabulary(acronyms=frozenset({"rm"})))
    assert "rm" in printed["resource"] and "rm" in printed["manager"]
    unprinted = _terms(question, StoreVocabulary())
    assert "rm" not in unprinted["resource"] and "resourcemanager" in unprinted["resource"]
    # A verb is not half of a name: "tasks ran" gives no initials.
    assert "TR" not in acronym_candidates("how many tasks ran in stage 3?")
