"""The question set that measures `logchat ask` (tests/answers/questions.jsonl) is derived from the
loghub ground truth: regenerating it gives the committed file byte for byte, and a sample of its
expected values is derived again here from the raw .log files with hand-written regular expressions,
without the structured CSVs. Whether logchat answers the questions is measured by
benchmarks/eval_answers.py, not asserted here."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.answers.make_question_set import CATEGORIES, DEFAULT_OUT, NO_LEVEL, build, render

COMMITTED = DEFAULT_OUT


def committed() -> list[dict[str, Any]]:
    return [json.loads(line) for line in COMMITTED.read_text(encoding="utf-8").splitlines()]


def test_regenerating_from_the_csvs_gives_the_committed_file(loghub: Path) -> None:
    assert render(build(loghub)) == COMMITTED.read_text(encoding="utf-8")


def test_the_set_is_large_and_covers_systems_and_categories() -> None:
    records = committed()
    assert len(records) >= 250
    assert len({r["system"] for r in records}) >= 8
    per_category = Counter(r["category"] for r in records)
    assert set(per_category) == set(CATEGORIES)
    assert min(per_category.values()) >= 15, per_category
    assert len({r["id"] for r in records}) == len(records)
    assert len({(r["system"], r["question"], r["now"]) for r in records}) == len(records)
    gate = [r for r in records if r["gate"]]
    assert 15 <= len(gate) <= 25
    assert len({r["system"] for r in gate}) >= 8


def test_every_record_is_complete(loghub: Path) -> None:
    rules = {"exact", "numeric", "ordered", "set", "timestamp", "series"}
    for record in committed():
        assert (loghub / record["log"]).is_file(), record["id"]
        assert record["question"].strip() and record["tolerance"]["rule"] in rules, record["id"]
        expected = record["expected"]
        assert expected["unit"], record["id"]
        if expected["kind"] in ("first", "last"):
            datetime.strptime(expected["value"], "%Y-%m-%d %H:%M:%S")
            assert expected["line"] >= 1
        elif expected["kind"] == "top":
            counts = [count for _, count in expected["values"]]
            assert counts == sorted(counts, reverse=True) and len(set(counts)) == len(counts), record["id"]
        elif expected["kind"] == "series":
            assert len(expected["buckets"]) >= 2
        else:
            assert isinstance(expected["value"], int | float), record["id"]
        if record["now"] is not None:
            datetime.strptime(record["now"], "%Y-%m-%d %H:%M")


LEVEL_WORDS = re.compile(r"(?i)\b(info|notice|warn|warning|error|err|fatal|severe|critical|debug|trace)\b")


def test_the_logs_without_levels_have_no_level_words_in_their_headers(loghub: Path) -> None:
    """Read from the raw lines: the words before each message hold no level (a message may say "error")."""
    questions = [r for r in committed() if r["category"] == "no_level"]
    assert {r["system"] for r in questions} <= set(NO_LEVEL) and len({r["system"] for r in questions}) >= 5
    headers = {
        "OpenSSH": r"^\w{3} +\d+ [\d:]+ \S+ sshd\[\d+\]:",
        "Linux": r"^\w{3} +\d+ [\d:]+ combo [^:]+:",
        "Proxifier": r"^\[[\d. :]+\] .+? - ",  # a program may be "svchost.exe *64"
        "HealthApp": r"^[\d:-]+\|[^|]+\|\d+\|",
        "Thunderbird": r"^\S+ \d+ [\d.]+ \S+ \w{3} +\d+ [\d:]+ \S+ [^:]+:",
    }
    for system in {r["system"] for r in questions}:
        raw = (loghub / system / f"{system}_2k.log").read_text(encoding="utf-8", errors="replace").splitlines()
        header = re.compile(headers[system])
        prefixes = [header.match(line) for line in raw]
        assert all(prefixes), f"{system}: a line without the expected header"
        assert not any(LEVEL_WORDS.search(match.group(0)) for match in prefixes if match), system


# --- independent re-derivation from the raw logs ----------------------------------------------------------

def _syslog_2015(line: str) -> datetime:
    return datetime.strptime("2015 " + line[:15], "%Y %b %d %H:%M:%S").replace(tzinfo=UTC)


def _iso_prefix(line: str) -> datetime:
    return datetime.strptime(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line).group(0),  # type: ignore[union-attr]
                             "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def _hdfs(line: str) -> datetime:
    return datetime.strptime(line[:13], "%y%m%d %H%M%S").replace(tzinfo=UTC)


RAW_TIME: dict[str, Callable[[str], datetime]] = {
    "OpenSSH": _syslog_2015, "Zookeeper": _iso_prefix, "Hadoop": _iso_prefix, "OpenStack": _iso_prefix, "HDFS": _hdfs,
}

# A user name may be empty or start with a space ("invalid user  0101").
FAILED_PASSWORD = r": Failed password for (?:invalid user )?(.*?) from (\S+) port (\d+) ssh2$"
# Both lines that give a received block's size, with or without its two ends.
RECEIVED_SIZE = r"Received block blk_-?\d+ (?:src: /[\d.:]+ dest: /[\d.:]+ )?of size (\d+)"
# A peer's and an old client's connection request.
ZOOKEEPER_REQUEST = r"(?:Received connection request|Connection request from old client) /([\d.]+):\d+"

# id -> (regular expression over the raw line, how the expected value follows from the matching lines;
# "group N" picks the value a shape is about)
SAMPLE: dict[str, tuple[str, str]] = {
    "openssh-count-field-01": (r": Failed password for (?:invalid user )?\S+ from 183\.62\.140\.253 port", "count"),
    "openssh-count-field-06": (r": Failed password for (?:invalid user )?root from ", "count"),
    "linux-count-field-01": (r"authentication failure; .* rhost=150\.183\.249\.110(?:\s|$)", "count"),
    "linux-paraphrase-01": (r" logrotate: ALERT exited abnormally with \[1\]$", "count"),
    "linux-count-field-05": (r"sshd\(pam_unix\)\[\d+\]: authentication failure; .* user=root\s*$", "count"),
    "hdfs-count-field-01": (r"Received block blk_-?\d+ of size \d+ from /10\.251\.214\.130$", "count"),
    "zookeeper-count-field-01": (ZOOKEEPER_REQUEST.replace(r"([\d.]+)", r"10\.10\.34\.13"), "count"),
    "openstack-count-field-02": (r'HTTP/1\.1" status: 404 len:', "count"),
    "apache-count-field-01": (r"\[error\] mod_jk child workerEnv in error state 6$", "count"),
    "hadoop-count-field-01": (r"ERROR IN CONTACTING RM", "count"),
    "bgl-count-field-01": (r"^\S+ \d+ \S+ \S+ \S+ \S+ RAS \S+ FATAL ", "count"),
    "spark-paraphrase-04": (r"executor\.Executor: Finished task [\d.]+ in stage", "count"),
    "hdfs-paraphrase-01": (r"Deleting block blk_-?\d+ file ", "count"),
    "zookeeper-paraphrase-01": (r"Connection broken for id \d+, my id = \d+, error =", "count"),
    "proxifier-no-level-04": (r"(?i)\berror\b", "count"),
    "hpc-count-field-03": (r"(?i)\bwarning\b", "count"),
    "hpc-count-field-04": (r"(?i)\blink\s?errors?\b", "count"),
    "hadoop-count-field-02": (r"^\S+ \S+ (?:ERROR|FATAL) ", "count"),
    "hadoop-prefix-id-08": (r"(?<![\w-])job_1445144423722_0020(?![0-9A-Za-z])", "count"),
    "spark-prefix-id-01": (r"(?<![\w-])rdd_2(?![0-9A-Za-z])", "count"),
    "openssh-count-distinct-01": (FAILED_PASSWORD, "distinct 2"),
    "zookeeper-count-distinct-01": (ZOOKEEPER_REQUEST, "distinct 1"),
    "hdfs-count-distinct-01": (r"Deleting block (blk_-?\d+) file ", "distinct 1"),
    "hdfs-numeric-01": (RECEIVED_SIZE, "max 1"),
    "hdfs-numeric-03": (RECEIVED_SIZE, "sum 1"),
    "hdfs-numeric-04": (RECEIVED_SIZE, "avg 1"),
    "spark-numeric-01": (r"Finished task .* (\d+) bytes result sent to driver", "max 1"),
    "openstack-numeric-01": (r'"(?:DELETE|GET|POST) [^"]*" status: \d+ len: \d+ time: (\d+\.\d+)', "max 1"),
    "openssh-top-n-01": (FAILED_PASSWORD, "top 2"),
    "zookeeper-top-n-01": (ZOOKEEPER_REQUEST, "top 1"),
    "apache-top-n-01": (r"mod_jk child workerEnv in error state (\d+)$", "top 1"),
    "openssh-first-last-03": (r"failed - POSSIBLE BREAK-IN ATTEMPT!$", "last"),
    "zookeeper-first-last-01": (ZOOKEEPER_REQUEST, "last"),
    "hadoop-first-last-01": (r"ERROR IN CONTACTING RM", "first"),
    "hdfs-first-last-01": (r"Got exception while serving blk_", "first"),
    "openstack-time-series-01": (r'"(?:DELETE|GET|POST) [^"]*" status: \d+ len:', "series 5"),
    "openssh-time-series-01": (FAILED_PASSWORD, "series 60"),
}


def _raw_matches(loghub: Path, record: dict[str, Any], pattern: str) -> list[tuple[int, str, re.Match[str]]]:
    regex = re.compile(pattern)
    text = (loghub / record["log"]).read_text(encoding="utf-8", errors="replace")
    found = []
    for number, line in enumerate(text.splitlines(), start=1):  # the raw files use CRLF
        match = regex.search(line)
        if match:
            found.append((number, line, match))
    return found


def _derive(record: dict[str, Any], matches: list[tuple[int, str, re.Match[str]]]) -> Any:
    how, _, arg = SAMPLE[record["id"]][1].partition(" ")
    if how == "count":
        return len(matches)
    if how in ("first", "last"):
        ordered = sorted(matches, key=lambda m: (RAW_TIME[record["system"]](m[1]), m[0]))
        number, line, _ = ordered[0] if how == "first" else ordered[-1]
        return RAW_TIME[record["system"]](line).strftime("%Y-%m-%d %H:%M:%S"), number
    if how == "series":
        width = int(arg)
        buckets: Counter[datetime] = Counter()
        for _, line, _ in matches:
            stamp = RAW_TIME[record["system"]](line).replace(second=0)
            buckets[stamp - timedelta(minutes=(stamp.hour * 60 + stamp.minute) % width)] += 1
        return [[start.strftime("%Y-%m-%d %H:%M"), n] for start, n in sorted(buckets.items())]
    values = [m.group(int(arg)) for _, _, m in matches]
    if how == "distinct":
        return len(set(values))
    if how == "top":
        return Counter(values).most_common()
    numbers = [float(v) for v in values]
    return {"max": max(numbers), "sum": sum(numbers), "avg": sum(numbers) / len(numbers)}[how]


@pytest.mark.parametrize("question_id", sorted(SAMPLE))
def test_expected_values_follow_from_the_raw_log(loghub: Path, question_id: str) -> None:
    record = next(r for r in committed() if r["id"] == question_id)
    matches = _raw_matches(loghub, record, SAMPLE[question_id][0])
    assert matches, f"{question_id}: the check's pattern matches no line"
    derived = _derive(record, matches)
    expected = record["expected"]
    if expected["kind"] in ("first", "last"):
        assert derived == (expected["value"], expected["line"])
    elif expected["kind"] == "series":
        assert derived == expected["buckets"]
    elif expected["kind"] == "top":
        n = len(expected["values"])
        assert [list(item) for item in derived[:n]] == expected["values"]
        assert len(derived) == n or derived[n][1] < expected["values"][-1][1]  # no tie with the next value
    elif expected["kind"] == "avg":
        assert abs(derived - expected["value"]) <= record["tolerance"]["abs"]
    else:
        assert derived == expected["value"]


def test_the_sample_covers_every_category_and_the_gate() -> None:
    records = {r["id"]: r for r in committed()}
    sampled = [records[question_id] for question_id in SAMPLE]
    assert {r["category"] for r in sampled} == set(CATEGORIES)
    assert len({r["system"] for r in sampled}) >= 8
    # Later work asserts the gate questions exactly: each of them is checked against the raw log.
    assert {r["id"] for r in records.values() if r["gate"]} <= set(SAMPLE)
