"""The plan drives retrieval: bound field values, log synonyms and id prefixes change what is counted.

Counts are checked against the raw Spark and OpenSSH samples, read here with plain regular expressions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from logchat.services.ask import AskRequest, ask
from tests.services.loghub_stores import indexed_samples, raw_lines


@pytest.fixture
def spark_and_sshd(settings: Any, loghub: Path) -> tuple[Any, Any]:
    with indexed_samples(settings, loghub, ("Spark", "OpenSSH", "Zookeeper")) as store:
        yield store, settings


def _ask(store: Any, settings: Any, question: str) -> dict[str, Any]:
    return ask(store, settings, AskRequest(question, use_llm=False)).to_json()


def test_a_stage_number_counts_that_stage_only(spark_and_sshd: tuple[Any, Any], loghub: Path) -> None:
    store, settings = spark_and_sshd
    finished = raw_lines(loghub, "Spark", r"Finished task \S+ in stage 26\.0 ")
    result = _ask(store, settings, "how many tasks completed in stage 26.0?")
    assert result["matched"] == len(finished) == 40
    assert result["plan"]["conditions"] == [
        {"name": "stage", "operator": "=", "value": 26.0, "source_text": "stage 26.0"}
    ]
    # "completed" is not in these logs: it matched the lines that say Finished.
    assert all("Finished task" in item["text"] for item in result["evidence"])


def test_the_same_number_as_text_also_matches_task_numbers(spark_and_sshd: tuple[Any, Any], loghub: Path) -> None:
    store, settings = spark_and_sshd
    anywhere = raw_lines(loghub, "Spark", r"Finished task .*\b26\.0\b")
    bound = raw_lines(loghub, "Spark", r"Finished task \S+ in stage 26\.0 ")
    assert len(anywhere) > len(bound)  # task 26.0 of other stages: what binding leaves out
    result = _ask(store, settings, "how many tasks finished with 26.0?")
    assert result["matched"] == len(anywhere)
    assert result["plan"]["conditions"] == []


def test_an_id_prefix_matches_the_ids_it_starts(spark_and_sshd: tuple[Any, Any], loghub: Path) -> None:
    store, settings = spark_and_sshd
    lines = raw_lines(loghub, "Spark", r"(?<![\w-])rdd_2(?![0-9A-Za-z])")
    result = _ask(store, settings, "how many lines mention rdd_2?")
    assert result["matched"] == len(lines) == 95
    assert result["plan"]["terms"][0] == {"text": "rdd_2", "alternatives": [], "prefix": True, "required": True}
    assert "nothing matched rdd_2 whole; matched as the start of logged ids" in result["plan"]["notes"]
    assert "rdd_2… (ids starting with it)" in result["answer"]


def test_an_address_bound_to_from_counts_what_grep_counts(spark_and_sshd: tuple[Any, Any], loghub: Path) -> None:
    store, settings = spark_and_sshd
    lines = raw_lines(loghub, "OpenSSH", r"Failed password for .* from 183\.62\.140\.253 ")
    result = _ask(store, settings, "how many failed passwords came from 183.62.140.253?")
    assert result["matched"] == len(lines) == 286
    assert result["plan"]["conditions"][0]["name"] == "from"


def test_a_value_the_field_never_takes_matches_nothing(spark_and_sshd: tuple[Any, Any], loghub: Path) -> None:
    store, settings = spark_and_sshd
    assert raw_lines(loghub, "Spark", r"Running task 35\.0 in stage")  # 35.0 is a task number, never a stage
    result = _ask(store, settings, "how many tasks ran in stage 35.0?")
    assert result["matched"] == 0
    assert "no event has stage = 35.0" in result["notices"]
    # "ran" is logged as "Running task": it is required, through the words logs use for it.
    assert result["answer"] == "No events match (matching tasks AND ran (~ running, run, runs); stage = 35.0)."


def test_from_an_address_also_counts_lines_that_name_the_address_otherwise(
    spark_and_sshd: tuple[Any, Any], loghub: Path
) -> None:
    store, settings = spark_and_sshd
    # "Received connection request /10.10.34.13:…" has no from field; "Connection request from old client
    # /10.10.34.13:…" has one, holding "old": both are connection requests from that address.
    lines = raw_lines(loghub, "Zookeeper", r"(?i)connection request.*/10\.10\.34\.13:")
    result = _ask(store, settings, "how many connection requests came from 10.10.34.13?")
    assert result["matched"] == len(lines) == 115
    assert result["plan"]["conditions"][0]["name"] == "from"
