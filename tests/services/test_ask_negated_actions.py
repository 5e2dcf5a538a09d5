"""Actions a question says were not done ("could not reach", "failed to find") match the lines that log the
action with a word of failure ("Can't find child", "ERROR IN CONTACTING RM"), and two nouns match their
initials when the logs print them in capitals ("resource manager" -> RM). Counts are checked against the raw
loghub samples, read here with regular expressions."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from logchat.services.ask import AskRequest, ask
from tests.services.loghub_stores import indexed_samples, raw_lines


@pytest.fixture
def apache_and_hadoop(settings: Any, loghub: Path) -> Any:
    with indexed_samples(settings, loghub, ("Apache", "Hadoop")) as store:
        yield store, settings


def _ask(apache_and_hadoop: Any, question: str) -> dict[str, Any]:
    store, settings = apache_and_hadoop
    return ask(store, settings, AskRequest(question, use_llm=False)).to_json()


def test_failing_to_do_something_finds_the_line_that_says_it_could_not(apache_and_hadoop: Any, loghub: Path) -> None:
    # "Can't find child 6740 in scoreboard": the "Found child" lines of the same program are not failures.
    lines = raw_lines(loghub, "Apache", r"jk2_init\(\) Can't find child")
    first = datetime.strptime(lines[0][1:25], "%a %b %d %H:%M:%S %Y")
    result = _ask(apache_and_hadoop, "when did jk2_init first fail to find a child?")
    assert result["matched"] == len(lines) > 0
    assert first.strftime("%Y-%m-%d %H:%M:%S") in result["answer"].split("\n")[0]
    terms = {term["text"]: term["alternatives"] for term in result["plan"]["terms"]}
    assert "find" in terms  # the action stays required, though "find" alone says nothing to the parser
    assert {"can't", "cannot", "unable", "error"} <= set(terms["fail"])


def test_could_not_reach_matches_an_error_contacting_and_the_initials(apache_and_hadoop: Any, loghub: Path) -> None:
    lines = raw_lines(loghub, "Hadoop", r"ERROR IN CONTACTING RM")
    result = _ask(apache_and_hadoop, "how many times could it not reach the resource manager?")
    assert result["matched"] == len(lines) == 147
    terms = {term["text"]: term["alternatives"] for term in result["plan"]["terms"]}
    assert "rm" in terms["resource"] and "rm" in terms["manager"]
    assert "error" in terms["not"]


def test_initials_the_logs_do_not_print_in_capitals_are_not_words(apache_and_hadoop: Any) -> None:
    # "rm" is a piece of Hadoop's package names (org.apache.hadoop.mapreduce.v2.app.rm); no pattern prints
    # "WE" or "ES" as a word: "worker env" and "error state" keep their own words and compound only.
    result = _ask(apache_and_hadoop, "how many times was the worker env in error state 6?")
    for term in result["plan"]["terms"]:
        assert "we" not in term["alternatives"] and "es" not in term["alternatives"]
