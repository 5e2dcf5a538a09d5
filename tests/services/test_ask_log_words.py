"""Questions say things in other words than the logs: any inflection of a verb finds the words logs use,
phrases ("shut down", "timed out") stand for the one word logs print, nouns match their log abbreviations
("block" -> blk_), two words match the one name programs make of them ("packet responders" ->
PacketResponder), negations match each other and a word done again matches the doing ("recomputed" ->
computing). Counts are checked against the raw loghub samples, read here with regular expressions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from logchat.services.ask import AskRequest, ask
from tests.services.loghub_stores import indexed_samples, raw_lines


@pytest.fixture
def hdfs_and_zookeeper(settings: Any, loghub: Path) -> Any:
    with indexed_samples(settings, loghub, ("HDFS", "Zookeeper", "Spark", "Thunderbird")) as store:
        yield store, settings


def _ask(hdfs_and_zookeeper: Any, question: str) -> dict[str, Any]:
    store, settings = hdfs_and_zookeeper
    return ask(store, settings, AskRequest(question, use_llm=False)).to_json()


def test_a_past_tense_finds_its_verb_and_a_noun_its_abbreviation(hdfs_and_zookeeper: Any, loghub: Path) -> None:
    # "passed" is never logged; "Verification succeeded for blk_..." is, and "block" is written blk.
    lines = raw_lines(loghub, "HDFS", r"Verification succeeded for blk_")
    result = _ask(hdfs_and_zookeeper, "how many block verifications passed?")
    assert result["matched"] == len(lines) > 0
    assert result["filters"]["text_match"]["left_out"] == []


def test_two_words_match_the_name_programs_make_of_them(hdfs_and_zookeeper: Any, loghub: Path) -> None:
    lines = raw_lines(loghub, "HDFS", r"PacketResponder \d+ for block blk_\S+ terminating")
    result = _ask(hdfs_and_zookeeper, "how many packet responders shut down?")
    assert result["matched"] == len(lines) > 0
    shutdown = next(term for term in result["plan"]["terms"] if term["text"] == "shut")
    assert {"shut down", "shutdown", "terminating"} <= set(shutdown["alternatives"])


def test_a_phrase_stands_for_the_word_logs_print(hdfs_and_zookeeper: Any, loghub: Path) -> None:
    lines = raw_lines(loghub, "Zookeeper", r"Expiring session 0x[0-9a-f]+, timeout of \d+ms exceeded")
    result = _ask(hdfs_and_zookeeper, "how many sessions timed out?")
    assert result["matched"] == len(lines) > 0


def test_a_negation_matches_the_one_the_log_wrote_and_a_program_its_path(hdfs_and_zookeeper: Any, loghub: Path) -> None:
    # Thunderbird's gmetad writes "got not answer", and is logged by its path: /apps/.../sbin/gmetad[1682].
    lines = raw_lines(loghub, "Thunderbird", r"/gmetad\[\d+\]: data_thread\(\) got not answer from any .* datasource")
    result = _ask(hdfs_and_zookeeper, "how many times did gmetad get no answer from a datasource?")
    assert result["matched"] == len(lines) > 0
    assert any(name.endswith("/sbin/gmetad") for name in result["plan"]["filters"]["processes"])


def test_a_word_done_again_that_no_line_has_matches_the_doing(hdfs_and_zookeeper: Any, loghub: Path) -> None:
    lines = raw_lines(loghub, "Spark", r"Partition rdd_\S+ not found, computing it")
    result = _ask(hdfs_and_zookeeper, "how many partitions had to be recomputed?")
    assert result["matched"] == len(lines) > 0
    assert result["filters"]["text_match"]["synonyms"] == {"recomputed": ["computed"]}


def test_done_is_a_word_logs_print(hdfs_and_zookeeper: Any, loghub: Path) -> None:
    finished = raw_lines(loghub, "Spark", r"Finished task \S+ in stage 27\.0 ")
    result = _ask(hdfs_and_zookeeper, "how many tasks were done in stage 27.0?")
    assert result["matched"] == len(finished) > 0


def test_a_verb_said_as_done_does_not_count_lines_that_only_ask_or_try_it(
    hdfs_and_zookeeper: Any, loghub: Path
) -> None:
    # "BLOCK* ask 10.250.….:50010 to delete blk_…" asks a datanode to delete; "Deleting block" is the deletion.
    deleting = raw_lines(loghub, "HDFS", r"Deleting block blk_\S+ file ")
    asked = raw_lines(loghub, "HDFS", r"BLOCK\* ask \S+ to delete\s+blk_")
    assert asked
    result = _ask(hdfs_and_zookeeper, "how many blocks were deleted?")
    assert result["matched"] == len(deleting) > 0
    # Asked about what was asked for, those lines are the answer.
    result = _ask(hdfs_and_zookeeper, "how many times was a datanode asked to delete blocks?")
    assert result["matched"] == len(asked)


def test_a_verb_said_as_done_does_not_count_what_was_going_on_when_something_failed(
    hdfs_and_zookeeper: Any, loghub: Path
) -> None:
    # "10.251.….:50010:Got exception while serving blk_… to /10.251.…:" did not serve the block.
    served = raw_lines(loghub, "HDFS", r"Served block blk_\S+ to /")
    failed = raw_lines(loghub, "HDFS", r"Got exception while serving blk_")
    assert _ask(hdfs_and_zookeeper, "how many blocks were sent to clients?")["matched"] == len(served) > 0
    result = _ask(hdfs_and_zookeeper, "how many exceptions happened while serving blocks?")
    assert result["matched"] == len(failed) > 0
