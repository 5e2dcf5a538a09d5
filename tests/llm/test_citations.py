"""Citation extraction, checking against the evidence given, and terminal rendering."""

from __future__ import annotations

import pytest

from logchat.llm.citations import CitationCheck, check_citations, extract_citations, render_citations


@pytest.mark.parametrize(
    ("answer", "ids"),
    [
        ("Disk full [E12].", ["E12"]),
        ("Both [E1, E3] and later [E2].", ["E1", "E3", "E2"]),
        ("Back to back [E1][E2], again [E1].", ["E1", "E2"]),
        ("Separators [E4; E5] [E6 and E7] [ e8 ]", ["E4", "E5", "E6", "E7", "E8"]),
        ("Leading zeros [E03] mean [E3].", ["E3"]),
        ("Not citations: [ERROR] [E3 was first] [P1] E9 (E10)", []),
        ("", []),
    ],
)
def test_extract_citations(answer: str, ids: list[str]) -> None:
    assert extract_citations(answer) == ids


def test_unknown_ids_are_flagged() -> None:
    check = check_citations("It crashed [E1] after the upgrade [E7].", {"E1", "E2"})
    assert check == CitationCheck(cited=["E1", "E7"], unknown=["E7"], ok=False)


def test_known_ids_only_is_ok() -> None:
    assert check_citations("See [E2, E1].", ["E1", "E2"]).ok


def test_an_answer_without_citations_is_not_ok_when_there_was_evidence() -> None:
    assert not check_citations("It was the disk.", ["E1"]).ok
    assert check_citations("Nothing matched.", []).ok


def test_render_citations_points_at_file_and_line() -> None:
    evidence = {
        "E1": {"path": "/var/log/syslog", "line": 42},
        "E2": {"path": "app.log", "line": 7},
    }
    rendered = render_citations("Crash [E1], then [E1, E2] and [E9]; [ERROR] stays.", evidence)
    assert rendered == "Crash [/var/log/syslog:42], then [/var/log/syslog:42, app.log:7] and [E9]; [ERROR] stays."
