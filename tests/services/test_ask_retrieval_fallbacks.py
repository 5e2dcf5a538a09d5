"""Words of a question that select the wrong lines, or none: a word that is also a program's name, a word that
only occurs inside a dotted program name, a relaxation that leaves out the wrong word. Counts and values are
checked against the raw loghub samples, read here with regular expressions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from logchat.services.ask import AskRequest, ask


@pytest.fixture
def loghub_store(settings: Any, loghub: Path) -> Any:
    from logchat.config import load_settings
    from logchat.services.ingest import index_inputs
    from logchat.storage.db import open_store

    settings = load_settings(data_dir=settings.data_dir, database={"url": settings.database_url},
                             ingest={"fields": True})  # fmt: skip
    store = open_store(settings.database_url)
    logs = [str(loghub / name / f"{name}_2k.log") for name in ("Zookeeper", "Spark", "HDFS")]
    assert not index_inputs(store, settings, logs).failed
    yield store, settings
    store.close()


def _raw(loghub: Path, system: str, pattern: str) -> list[re.Match[str]]:
    regex = re.compile(pattern)
    lines = (loghub / system / f"{system}_2k.log").read_text(encoding="utf-8").splitlines()
    return [match for line in lines if (match := regex.search(line))]


def _ask(loghub_store: Any, question: str, **flags: Any) -> dict[str, Any]:
    store, settings = loghub_store
    return ask(store, settings, AskRequest(question, use_llm=False, **flags)).to_json()


def test_a_word_naming_a_program_that_logged_none_of_the_lines_is_read_as_a_word(
    loghub_store: Any, loghub: Path
) -> None:
    # Zookeeper has a program called `Notification`, but "Notification time out: 3200" is logged by
    # FastLeaderElection: the process filter left nothing, so the word is matched in the text.
    timeouts = [int(match[1]) for match in _raw(loghub, "Zookeeper", r"Notification time out: (\d+)")]
    result = _ask(loghub_store, "what was the longest notification timeout?")
    assert result["matched"] == len(timeouts) > 0
    assert result["result"]["value"] == max(timeouts)
    assert result["filters"]["processes"] == []
    assert any("'notification'" in notice for notice in result["notices"])


def test_a_word_naming_a_program_stays_a_process_when_its_lines_match(loghub_store: Any, loghub: Path) -> None:
    lines = _raw(loghub, "Spark", r"INFO rdd\.HadoopRDD: Input split")
    result = _ask(loghub_store, "how many input splits did rdd read?")
    assert result["matched"] == len(lines) > 0
    assert result["filters"]["processes"] == ["rdd.HadoopRDD"]


def test_a_process_flag_is_never_read_as_a_word(loghub_store: Any) -> None:
    result = _ask(loghub_store, "what was the longest notification timeout?", processes=["Notification"])
    assert result["matched"] == 0
    assert result["filters"]["processes"] == ["Notification"]


def test_a_word_naming_a_program_with_a_dotted_name_is_read_as_a_word(loghub_store: Any, loghub: Path) -> None:
    blocks = {match[1] for match in _raw(loghub, "Spark", r"Found block (rdd_\d+_\d+) locally")}
    result = _ask(loghub_store, "how many distinct rdd blocks were found locally?")
    assert result["result"]["value"] == len(blocks) > 0


def test_timeouts_match_lines_that_say_time_out_but_not_every_time(loghub_store: Any, loghub: Path) -> None:
    # Zookeeper writes "Notification time out: 3200"; lines that only say "time" are not timeouts, and
    # "maxSessionTimeout" is one word to the index.
    lines = _raw(loghub, "Zookeeper", r"(?i)\btime ?outs?\b|\btimed out\b|\bexpir")
    result = _ask(loghub_store, "how many timeouts were there?")
    store, _ = loghub_store
    if store.url.startswith("sqlite"):
        assert result["matched"] == len(lines) > 0
    else:
        # PostgreSQL's `english` configuration drops "out" from a phrase (a stop word, see docs/ask.md),
        # so there the phrases match every line that says "time": no fewer lines than on SQLite.
        assert result["matched"] >= len(lines) > 0
    timeout = next(term for term in result["plan"]["terms"] if term["text"] == "timeouts")
    assert {"time out", "timed out"} <= set(timeout["alternatives"])


def test_a_word_inside_a_dotted_program_name_does_not_match(loghub_store: Any, loghub: Path) -> None:
    # "BLOCK* NameSystem.delete: blk_… is added to invalidSet" names the method that logs it; the blocks
    # deleted are the "Deleting block blk_…" lines ("ask 10.250.… to delete blk_…" only asks for it).
    dotted = re.compile(r"(?<![\w.])[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+")
    said = re.compile(r"(?i)(?<!to )\b(delet\w*|remov\w*)\b")
    lines = [match for match in _raw(loghub, "HDFS", r"blk_") if said.search(dotted.sub(" ", match.string))]
    named = _raw(loghub, "HDFS", r"NameSystem\.delete: blk_")
    result = _ask(loghub_store, "how many blocks were deleted?")
    assert result["matched"] == len(lines) > 0
    assert len(named) > 100


def test_a_noun_still_matches_inside_a_dotted_name(loghub_store: Any, loghub: Path) -> None:
    # Spark's "INFO storage.BlockManager: Found block rdd_2_0 locally": "storage" is a piece of the name.
    lines = _raw(loghub, "Spark", r"\bstorage\.")
    result = _ask(loghub_store, "how many lines mention storage?")
    assert result["matched"] == len(lines) > 0


def test_a_verb_that_names_a_longer_method_still_matches(loghub_store: Any, loghub: Path) -> None:
    # "block allocated" is the name `allocateBlock` programs make of the two words, not a method piece.
    lines = _raw(loghub, "HDFS", r"NameSystem\.allocateBlock: ")
    result = _ask(loghub_store, "how many blocks were allocated?")
    assert result["matched"] == len(lines) > 0
