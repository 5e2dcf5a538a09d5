"""An identifier made of parts joined by "_" also names the ids that extend it: "broadcast_9" is logged whole and
as its piece "broadcast_9_piece0", and "a block of rdd_42" is any of rdd_42_0, rdd_42_1, … whatever the line
calls it. Counts are checked against the raw Spark sample, read here with regular expressions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from logchat.services.ask import AskRequest, ask


@pytest.fixture
def spark(settings: Any, loghub: Path) -> Any:
    from logchat.config import load_settings
    from logchat.services.ingest import index_inputs
    from logchat.storage.db import open_store

    with_fields = load_settings(data_dir=settings.data_dir, database={"url": settings.database_url},
                                ingest={"fields": True})  # fmt: skip
    store = open_store(with_fields.database_url)
    assert not index_inputs(store, with_fields, [str(loghub / "Spark" / "Spark_2k.log")]).failed
    yield store, with_fields
    store.close()


def _raw(loghub: Path, pattern: str) -> list[str]:
    regex = re.compile(pattern)
    lines = (loghub / "Spark" / "Spark_2k.log").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if regex.search(line)]


def _ask(spark: Any, question: str) -> dict[str, Any]:
    store, settings = spark
    return ask(store, settings, AskRequest(question, use_llm=False)).to_json()


def test_an_id_logged_whole_also_counts_the_lines_of_its_parts(spark: Any, loghub: Path) -> None:
    whole = _raw(loghub, r"broadcast_9(?![\w.])")
    with_parts = _raw(loghub, r"broadcast_9(?![0-9A-Za-z])")
    assert len(with_parts) > len(whole) > 0  # "Block broadcast_9_piece0 stored as bytes in memory"
    result = _ask(spark, "how many lines mention broadcast_9?")
    assert result["matched"] == len(with_parts)
    assert result["plan"]["terms"][0]["prefix"] is True
    assert "broadcast_9 also matched the ids that extend it (broadcast_9_…)" in result["plan"]["notes"]


def test_an_id_whose_parts_are_never_logged_is_matched_whole(spark: Any, loghub: Path) -> None:
    lines = _raw(loghub, r"rdd_2_4(?![0-9A-Za-z])")
    assert lines and all(re.search(r"rdd_2_4(?![\w.])", line) for line in lines)
    result = _ask(spark, "how many lines mention rdd_2_4?")
    assert result["matched"] == len(lines)
    assert result["plan"]["terms"][0]["prefix"] is False


def test_the_noun_before_of_an_id_names_it(spark: Any, loghub: Path) -> None:
    # "Found block rdd_42_1 locally" says block; "Partition rdd_42_1 not found, computing it" does not.
    lines = _raw(loghub, r"rdd_42(?![0-9A-Za-z])")
    assert any("block" not in line.lower() for line in lines)
    result = _ask(spark, "how many times was a block of rdd_42 mentioned?")
    assert result["matched"] == len(lines)
    assert "block (names the identifier)" in result["plan"]["ignored"]
