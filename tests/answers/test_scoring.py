"""The rules benchmarks/eval_answers.py scores answers by: what the first sentence is, what counts as a
number, and how each tolerance rule finds an expected value in a text."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "eval_answers.py"


@pytest.fixture(scope="module")
def evaluation() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_answers", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["eval_answers"] = module
    spec.loader.exec_module(module)
    return module


ANSWER = (
    "286 events match (matching failed AND password AND 183.62.140.253), from 2015-12-10 10:54:29 to "
    "2015-12-10 11:04:43 UTC.\nBy pattern: 277 × Failed password for <*> from <IP> port <NUM> ssh2."
)


def test_the_first_sentence_ends_at_a_full_stop_or_a_line_break_not_inside_numbers(evaluation: ModuleType) -> None:
    assert evaluation.first_sentence(ANSWER).endswith("11:04:43 UTC")
    assert evaluation.first_sentence("Largest request_time: 0.7116742: [E1] a.log:3: x") == (
        "Largest request_time: 0.7116742: [E1] a.log:3: x")
    assert evaluation.first_sentence("Top ip values: 10.0.0.1 (3). More") == "Top ip values: 10.0.0.1 (3)"


def test_numbers_are_whole_words_with_optional_separators_and_unit(evaluation: ModuleType) -> None:
    numbers = evaluation.numbers_in("1,234 events, 716ms, (26), 0.71 s; 2015-12-10 10:54:29 from 10.0.0.1 e2e")
    assert numbers == [1234, 716, 26, 0.71]


@pytest.mark.parametrize(("text", "expected", "tolerance", "found"), [
    ("286 events match", {"value": 286}, {"rule": "exact"}, True),
    ("1,286 events match", {"value": 1286}, {"rule": "exact"}, True),
    ("2,286 events match", {"value": 286}, {"rule": "exact"}, False),
    ("from 183.62.140.253", {"value": 62}, {"rule": "exact"}, False),
    ("average 0.234 s", {"value": 0.23}, {"rule": "numeric", "abs": 0.01}, True),
    ("average 0.25 s", {"value": 0.23}, {"rule": "numeric", "abs": 0.01}, False),
    ("Last seen at 2015-12-10 09:20:00 UTC", {"value": "2015-12-10 09:20:00"}, {"rule": "timestamp"}, True),
    ("Last seen at 2015-12-10 09:20:00.5 UTC", {"value": "2015-12-10 09:20:00"}, {"rule": "timestamp"}, False),
    ("Top ip values: 10.0.0.1 (5), 10.0.0.2 (3)", {"values": [["10.0.0.1", 5], ["10.0.0.2", 3]]},
     {"rule": "ordered"}, True),
    ("Top ip values: 10.0.0.2 (5), 10.0.0.1 (3)", {"values": [["10.0.0.1", 5], ["10.0.0.2", 3]]},
     {"rule": "ordered"}, False),
    ("Top ip values: 10.0.0.12 (5)", {"values": [["10.0.0.1", 5]]}, {"rule": "ordered"}, False),
    ("Top ip values: 10.0.0.2 (5), 10.0.0.1 (3)", {"values": [["10.0.0.1", 5], ["10.0.0.2", 3]]},
     {"rule": "set"}, True),
    ("2015-12-10 06:00: 1, 2015-12-10 07:00: 43", {"buckets": [["2015-12-10 06:00", 1], ["2015-12-10 07:00", 43]]},
     {"rule": "series"}, True),
    ("2015-12-10 06:00: 43, 2015-12-10 07:00: 1", {"buckets": [["2015-12-10 06:00", 1], ["2015-12-10 07:00", 43]]},
     {"rule": "series"}, False),
])
def test_each_tolerance_rule(evaluation: ModuleType, text: str, expected: dict, tolerance: dict, found: bool) -> None:
    assert evaluation.contains_value(text, expected, tolerance) is found
