"""Which numbers of an answer were given to the model, and which it made up."""

from __future__ import annotations

import pytest

from logchat.llm.numbers import canonical, check_numbers, known_numbers

# What a model is given: a computed fact, a tool result, an evidence line as the prompt shows it.
GIVEN = [
    "matching events (exact count): 1234",
    '<logs>\n{"field":"took","function":"max","value":0.716,"unit":"s"}\n</logs>',
    "[E1] 2025-12-10T06:55:46+00:00 - OpenSSH_2k.log:17 | Dec 10 06:55:46 LabSZ sshd[24200]: "
    "Failed password for root from 183.62.140.253 port 55431 ssh2",
]


@pytest.mark.parametrize(("written", "value"), [
    ("1,234", "1234"), ("1234", "1234"), ("3.50", "3.5"), ("007", "7"), ("2.0", "2"), ("10.0.0.1", "10.0.0.1"),
])
def test_one_spelling_per_value(written: str, value: str) -> None:
    assert canonical(written) == value


def test_numbers_given_are_verified_however_they_are_written() -> None:
    answer = ("There were 1,234 failures [E1], the slowest took 0.7160 s; root failed from 183.62.140.253 "
              "on port 55431 (sshd[24200]) at 06:55:46 on 2025-12-10.")
    assert check_numbers(answer, known_numbers(GIVEN)).unverified == []


def test_numbers_nobody_gave_are_unverified_once_each_in_order() -> None:
    answer = "There were 251 such events [E1], about 12.5% of 1,234; 251 is a lot and 10.0.0.7 too."
    assert check_numbers(answer, known_numbers(GIVEN)).unverified == ["251", "12.5", "10.0.0.7"]


def test_ids_and_names_with_digits_are_not_numbers() -> None:
    answer = "See [E99] and [E1, E42]: ssh2, p95 and blk_77 are names, not numbers."
    assert check_numbers(answer, known_numbers([])).ok
