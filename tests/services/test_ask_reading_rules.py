"""How a question's words are read against the lines of real logs: a word in capitals is the log's own word,
a request is the request line a web server prints, and so on. Counts are checked against the raw loghub
samples (OpenStack, OpenSSH, HealthApp, indexed together), read here with plain regular expressions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from logchat.services.ask import AskRequest, ask
from tests.services.loghub_stores import indexed_samples, raw_lines

SYSTEMS = ("OpenStack", "OpenSSH", "HealthApp")


@pytest.fixture
def three_logs(settings: Any, loghub: Path) -> Any:
    with indexed_samples(settings, loghub, SYSTEMS) as store:
        yield store, settings


def _ask(three_logs: Any, question: str) -> dict[str, Any]:
    store, settings = three_logs
    return ask(store, settings, AskRequest(question, use_llm=False)).to_json()


def test_a_word_in_capitals_is_the_logs_own_word(three_logs: Any, loghub: Path) -> None:
    # "get" is a filler of questions ("get me the errors"); "GET" is the method the request line prints.
    lines = raw_lines(loghub, "OpenStack", r'"GET [^"]*" status: 200 ')
    result = _ask(three_logs, "how many GET requests returned 200?")
    assert result["matched"] == len(lines) == 911
    assert "GET" in [term["text"] for term in result["plan"]["terms"]]


def test_a_whole_question_in_capitals_keeps_its_fillers_out(three_logs: Any, loghub: Path) -> None:
    shouted = _ask(three_logs, "HOW MANY FAILED PASSWORDS FOR USER ROOT?")
    asked = _ask(three_logs, "how many failed passwords for user root?")
    assert shouted["matched"] == asked["matched"] > 0
    assert "HOW" not in [term["text"] for term in shouted["plan"]["terms"]]


def test_requests_are_the_request_lines_a_web_server_prints(three_logs: Any, loghub: Path) -> None:
    # nova's API server logs '10.11.10.1 "GET /v2/... HTTP/1.1" status: 200 len: 1893 time: 0.24': no word
    # "request" anywhere, and the "HTTP exception thrown" lines are not requests.
    requests = raw_lines(loghub, "OpenStack", r'"(?:GET|POST|DELETE) [^"]* HTTP/1\.1" status: \d+ len: \d+ time: ')
    # The word itself still counts where it is logged: sshd's "input_userauth_request: invalid user ...".
    saying_it = [
        line
        for system in SYSTEMS
        for line in raw_lines(loghub, system, r"(?i)(?<![a-z0-9])request(s|ed|ing)?(?![a-z0-9])")
    ]
    result = _ask(three_logs, "how many requests were there?")
    assert result["matched"] == len(requests) + len(saying_it) == 1017 + 120
    slowest = max(float(re.search(r"time: ([\d.]+)", line).group(1)) for line in requests)  # type: ignore[union-attr]
    answer = _ask(three_logs, "what was the slowest request, in seconds?")
    assert answer["result"]["value"] == pytest.approx(slowest)
    assert answer["result"]["variable"] == "time"


def test_the_word_before_log_names_the_log_not_its_lines(three_logs: Any, loghub: Path) -> None:
    # "the ssh log" is OpenSSH's file; its lines say "ssh" only in "tty=ssh" and "ssh2".
    failures = raw_lines(loghub, "OpenSSH", r"(?i)\bfail(ed|ure|ures|s)?\b")
    # Two of them are syslog's notes that a failed password came again (see the next test).
    notes = raw_lines(loghub, "OpenSSH", r"sshd\[\d+\]: message repeated \d+ times: \[ Failed password")
    result = _ask(three_logs, "how many failures are in the ssh log?")
    assert result["matched"] == len(failures) - len(notes) == 1117
    assert result["plan"]["filters"]["sources"]
    assert all(name.endswith("OpenSSH_2k.log") for name in result["plan"]["filters"]["sources"])
    assert "ssh" not in [term["text"] for term in result["plan"]["terms"]]


def test_syslog_repeat_notes_are_not_lines_of_the_kind_they_quote(three_logs: Any, loghub: Path) -> None:
    # "message repeated 5 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]" quotes the line
    # before it: it is a note that the line came again, not one more failed password.
    failed = raw_lines(loghub, "OpenSSH", r"sshd\[\d+\]: Failed password for root from ")
    notes = raw_lines(loghub, "OpenSSH", r"sshd\[\d+\]: message repeated \d+ times: \[ Failed password for root ")
    result = _ask(three_logs, "how many failed passwords were there for root?")
    assert result["matched"] == len(failed) == 368
    assert len(notes) == 2 and any("message repeated" in notice for notice in result["notices"])
    # Asked about, the notes are what is counted.
    assert _ask(three_logs, "how many messages were repeated?")["matched"] == len(notes)


def test_a_measure_leaves_out_the_words_whose_lines_carry_no_such_number(three_logs: Any, loghub: Path) -> None:
    # "API" is in the program names of nova's API lines ("nova.api.openstack.wsgi"), which carry no size; the
    # request lines its server logs ("... HTTP/1.1" status: 200 len: 1893 ...) do.
    requests = raw_lines(loghub, "OpenStack", r'HTTP/1\.1" status: \d+ len: \d+ ')
    lengths = [int(re.findall(r" len: (\d+) ", line)[0]) for line in requests]
    result = _ask(three_logs, "total bytes returned by the API?")
    assert result["result"]["variable"] == "len"
    assert result["result"]["value"] == sum(lengths) == 1448970
    assert result["filters"]["text_match"]["left_out"] == ["api"]
    assert any("left out: api" in notice for notice in result["notices"])


def test_total_says_to_add_up_and_names_no_field() -> None:
    from logchat.retrieval.planner import KnownField, StoreVocabulary, choose_field

    # OpenStack's fields: the size of a request's answer, and one the template "Final resource view: ...
    # total_vcpus=<*> used_disk=<*>GB" carries beside the word "total".
    length = KnownField("len", "int", "measure", events=1017, context=frozenset({"status", "len", "time", "http"}))
    disk = KnownField("used_disk", "int", "measure", unit="B", events=15,
                      context=frozenset({"final", "resource", "view", "total", "used", "disk"}))  # fmt: skip
    store = StoreVocabulary(fields=(length, disk))
    assert choose_field("total bytes returned by the API?", "sum", store) == "len"
    assert choose_field("what was the largest total disk used?", "max", store) == "used_disk"
