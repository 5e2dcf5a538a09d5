"""The field an answer computes over is one the matching lines carry: chosen among the fields of the templates
that matched, with the words of those templates, after retrieval.

Expected values are read from the raw Zookeeper, OpenSSH and Spark samples with plain regular expressions.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from logchat.services.ask import AskRequest, ask


@pytest.fixture
def with_fields(settings: Any, loghub: Path) -> tuple[Any, Any]:
    from logchat.config import load_settings
    from logchat.services.ingest import index_inputs
    from logchat.storage.db import open_store

    fields_on = load_settings(data_dir=settings.data_dir, database={"url": settings.database_url},
                              ingest={"fields": True})  # fmt: skip
    store = open_store(fields_on.database_url)
    logs = [str(loghub / name / f"{name}_2k.log") for name in ("Zookeeper", "OpenSSH", "Spark")]
    report = index_inputs(store, fields_on, logs)
    assert not report.failed
    yield store, fields_on
    store.close()


def _values(loghub: Path, system: str, pattern: str) -> list[str]:
    """The first group of ``pattern`` in every raw line of ``system`` that matches it."""
    regex = re.compile(pattern)
    text = (loghub / system / f"{system}_2k.log").read_text(encoding="utf-8")
    return [match.group(1) for match in map(regex.search, text.splitlines()) if match]


def _ask(store: Any, settings: Any, question: str) -> dict[str, Any]:
    return ask(store, settings, AskRequest(question, use_llm=False)).to_dict()


def test_a_field_the_matching_lines_lack_gives_way_to_theirs(with_fields: tuple[Any, Any], loghub: Path) -> None:
    store, settings = with_fields
    sessions = _values(loghub, "Zookeeper", r"Processed session termination for sessionid: (0x[0-9a-f]+)")
    result = _ask(store, settings, "how many distinct sessions were terminated?")
    # Other lines have a field named "session"; the termination lines call theirs "sessionid".
    assert result["plan"]["operation"]["field"] == "sessionid"
    assert result["result"]["distinct"] == len(set(sessions)) == 47
    assert result["answer"].startswith("There were 47 different values of sessionid")
    assert any("chosen among the fields of the matching lines" in note for note in result["plan"]["notes"])


def test_an_address_counts_across_templates_that_name_it_differently(
    with_fields: tuple[Any, Any], loghub: Path
) -> None:
    store, settings = with_fields
    peers = _values(loghub, "Zookeeper", r"Received connection request /([\d.]+):")
    clients = _values(loghub, "Zookeeper", r"Connection request from old client /([\d.]+):")
    assert set(clients) - set(peers)  # the old clients are other hosts: one template alone undercounts
    result = _ask(store, settings, "how many distinct hosts requested connections?")
    assert result["result"]["distinct"] == len(set(peers) | set(clients)) == 17
    assert result["result"]["details"]["events_with_field"] == len(peers) + len(clients)


def test_an_address_field_of_the_matching_template_is_ranked(with_fields: tuple[Any, Any], loghub: Path) -> None:
    store, settings = with_fields
    accepted = Counter(_values(loghub, "Zookeeper", r"Accepted socket connection from /([\d.]+):"))
    result = _ask(store, settings, "which clients opened the most socket connections? top 2")
    # "opened" is logged as "Accepted"; the closing lines (field "client") are not openings.
    assert result["result"]["values"] == [list(pair) for pair in accepted.most_common(2)]
    assert result["result"]["values"][0] == ["10.10.34.11", 16]


def test_the_one_address_of_a_template_is_what_is_counted(with_fields: tuple[Any, Any], loghub: Path) -> None:
    store, settings = with_fields
    addresses = _values(loghub, "OpenSSH", r"\[([\d.]+)\] failed - POSSIBLE BREAK-IN ATTEMPT")
    result = _ask(store, settings, "how many different IPs triggered POSSIBLE BREAK-IN ATTEMPT?")
    assert result["result"]["distinct"] == len(set(addresses)) == 4
    assert result["result"]["details"]["events_with_field"] == len(addresses)


def test_a_value_is_said_in_the_unit_the_question_asks(with_fields: tuple[Any, Any], loghub: Path) -> None:
    store, settings = with_fields
    took = [int(ms) for ms in _values(loghub, "Spark", r"Reading broadcast variable \d+ took (\d+) ms")]
    result = _ask(store, settings, "total time spent reading broadcast variables, in ms?")
    assert result["answer"].startswith(f"The total took was {sum(took):,} ms ({sum(took) / 1000:g} s)")
    # "ms" said how to answer, not which lines: it is not a term the lines must contain.
    assert "ms" not in [term["text"] for term in result["plan"]["terms"]]
