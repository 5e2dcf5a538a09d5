"""Write the question set used to measure `logchat ask` on the loghub samples.

    python tests/answers/make_question_set.py [--loghub DIR] [--out FILE]

Every expected answer is computed here from the structured CSV ground truth of each system (the
template's `<*>` aligned with the line's content gives its values; see groundtruth.py), never typed
by hand and never produced by logchat. Regenerating gives the committed questions.jsonl byte for byte
(tests/answers/test_question_set.py checks it).

One JSON object a line:
  id, system, log (relative to the loghub folder), category, question, now (time phrases are read
  relative to it, or null), gate (true: a fixed subset later work asserts exactly),
  expected: {kind, unit, value | values | buckets, line (first/last: the line's number in the log)},
  tolerance: how a value in an answer counts as the expected one (see benchmarks/eval_answers.py):
    exact      the integer, with or without thousands separators ("1,234" or "1234")
    numeric    any number within `abs` of the value
    ordered    the values appear in this order (top-N)
    set        every value appears, in any order
    timestamp  the time as logchat prints it, "YYYY-MM-DD HH:MM:SS" (UTC)
    series     each bucket's start "YYYY-MM-DD HH:MM" followed by its count, in order
  reference_mtime: for logs without a year, the modification time the indexed copy must carry so the
  year inferred for its lines is the year used here (see groundtruth.YEARLESS_REFERENCE).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.answers.groundtruth import YEARLESS_REFERENCE, Line, log_file, read_lines

HERE = Path(__file__).resolve().parent
DEFAULT_LOGHUB = HERE.parents[1].parent / "shared" / "datasets" / "loghub"
DEFAULT_OUT = HERE / "questions.jsonl"

CATEGORIES = ("count_field", "count_distinct", "numeric", "top_n", "first_last", "time_series", "prefix_id",
              "paraphrase", "no_level")
# Systems whose lines carry no level at all (the Linux CSV's "Level" column holds the host name).
NO_LEVEL = ("OpenSSH", "Linux", "Proxifier", "HealthApp", "Thunderbird")

Select = Callable[[Line], bool]


def events(*ids: str) -> Select:
    wanted = set(ids)
    return lambda line: line.event in wanted


def contains(pattern: str) -> Select:
    regex = re.compile(pattern, re.IGNORECASE)
    return lambda line: regex.search(line.content) is not None


def param(index: int) -> Callable[[Line], str]:
    return lambda line: line.params[index].strip()


def whole_line(line: Line) -> str:
    """Every field of the line's CSV row but the ground-truth columns: its header fields and message."""
    return " ".join(value for key, value in line.fields.items() if key not in ("LineId", "EventId", "EventTemplate"))


def ranked(values: Iterable[str]) -> list[tuple[str, int]]:
    """Values by count, most frequent first, ties by value: a stable order to pick examples from."""
    return sorted(Counter(values).items(), key=lambda item: (-item[1], item[0]))


def stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def number(text: str) -> float:
    return float(text.replace(",", ""))


class QuestionSet:
    def __init__(self, loghub: Path) -> None:
        self.loghub = loghub
        self.records: list[dict[str, Any]] = []
        self.counters: Counter[tuple[str, str]] = Counter()

    def lines(self, system: str) -> tuple[Line, ...]:
        lines = read_lines(self.loghub, system)
        misaligned = [line.line for line in lines if not line.params and "<*>" in line.template]
        if misaligned:  # a value could not be read: the answers would silently miss those lines
            raise ValueError(f"{system}: the template does not align with the content on lines {misaligned[:10]}")
        return lines

    def pick(self, system: str, select: Select) -> list[Line]:
        return [line for line in self.lines(system) if select(line)]

    def add(self, system: str, category: str, question: str, expected: dict[str, Any], tolerance: dict[str, Any],
            *, now: str | None = None) -> None:
        if category == "no_level" and system not in NO_LEVEL:
            raise ValueError(f"{system} has levels: {question!r} is not a question about a log without levels")
        self.counters[(system, category)] += 1
        record = {
            "id": f"{system.lower()}-{category.replace('_', '-')}-{self.counters[(system, category)]:02d}",
            "system": system,
            "log": log_file(system),
            "category": category,
            "question": question,
            "now": now,
            "gate": False,
            "expected": expected,
            "tolerance": tolerance,
        }
        if system in YEARLESS_REFERENCE:
            record["reference_mtime"] = YEARLESS_REFERENCE[system]
        self.records.append(record)

    # --- shapes -----------------------------------------------------------------------------------

    def count(self, system: str, category: str, question: str, select: Select, unit: str = "events",
              *, now: str | None = None, since: datetime | None = None, until: datetime | None = None) -> None:
        matched = [line for line in self.pick(system, select)
                   if (since is None or (line.ts is not None and line.ts >= since))
                   and (until is None or (line.ts is not None and line.ts < until))]
        self.add(system, category, question, {"kind": "count", "unit": unit, "value": len(matched)},
                 {"rule": "exact"}, now=now)

    def counts_by(self, system: str, category: str, phrasings: Sequence[str], select: Select,
                  key: Callable[[Line], str], picks: Sequence[int], unit: str = "events") -> None:
        """One count question per picked value (by rank among the values), phrasings in turn."""
        values = ranked(key(line) for line in self.pick(system, select))
        for turn, rank in enumerate(picks):
            if rank >= len(values):
                continue
            value, _ = values[rank]
            self.count(system, category, phrasings[turn % len(phrasings)].format(value=value),
                       lambda line, v=value: select(line) and key(line) == v, unit)

    def distinct(self, system: str, question: str, select: Select, key: Callable[[Line], str], unit: str) -> None:
        values = {key(line) for line in self.pick(system, select)}
        self.add(system, "count_distinct", question, {"kind": "count_distinct", "unit": unit, "value": len(values)},
                 {"rule": "exact"})

    def aggregate(self, system: str, question: str, select: Select, key: Callable[[Line], str], how: str,
                  unit: str, category: str = "numeric") -> None:
        numbers = [number(key(line)) for line in self.pick(system, select)]
        value = {"max": max, "min": min, "sum": sum, "avg": lambda xs: sum(xs) / len(xs)}[how](numbers)
        if how == "avg":
            # An average is rarely a logged value: two decimals, and any answer within 0.01 of it.
            value, tolerance = round(value, 2), {"rule": "numeric", "abs": 0.01}
        elif float(value).is_integer():
            value, tolerance = int(value), {"rule": "exact"}
        else:
            # A logged decimal (max/min: as logged) or a sum of them (rounded past the logged precision).
            value = value if how in ("max", "min") else round(value, 9)
            tolerance = {"rule": "numeric", "abs": 0.000001}
        self.add(system, category, question, {"kind": how, "unit": unit, "value": value}, tolerance)

    def top(self, system: str, question: str, select: Select, key: Callable[[Line], str], n: int, unit: str) -> None:
        values = ranked(key(line) for line in self.pick(system, select))
        counts = [count for _, count in values[: n + 1]]
        # Only questions whose answer has one order: no tie among the top n nor with the next value.
        if len(values) < n or len(set(counts)) != len(counts):
            raise ValueError(f"{system}: {question!r} has tied values: {values[: n + 1]}")
        self.add(system, "top_n", question,
                 {"kind": "top", "unit": unit, "values": [[value, count] for value, count in values[:n]]},
                 {"rule": "ordered"})

    def occurrence(self, system: str, question: str, select: Select, which: str, category: str = "first_last") -> None:
        matched = [line for line in self.pick(system, select) if line.ts is not None]
        order = sorted(matched, key=lambda line: (line.ts, line.line))
        line = order[0] if which == "first" else max(matched, key=lambda item: (item.ts, item.line))
        self.add(system, category, question,
                 {"kind": which, "unit": "UTC timestamp", "value": stamp(line.ts), "line": line.line},  # type: ignore[arg-type]
                 {"rule": "timestamp"})

    def series(self, system: str, question: str, select: Select, minutes: int, category: str = "time_series") -> None:
        width = timedelta(minutes=minutes)
        buckets: Counter[datetime] = Counter()
        for line in self.pick(system, select):
            assert line.ts is not None
            start = line.ts.replace(second=0, microsecond=0)
            start -= timedelta(minutes=(start.hour * 60 + start.minute) % minutes)
            buckets[start] += 1
        if not 2 <= len(buckets) <= 12:
            raise ValueError(f"{system}: {question!r} has {len(buckets)} buckets of {width}")
        interval = {1: "minute", 60: "hour", 1440: "day"}.get(minutes, f"{minutes} minutes")
        self.add(system, category, question, {
            "kind": "series", "unit": "events", "interval": interval,
            "buckets": [[start.strftime("%Y-%m-%d %H:%M"), n] for start, n in sorted(buckets.items())],
        }, {"rule": "series"})

    def prefix(self, system: str, question: str, prefix: str) -> None:
        """Lines naming an id that is `prefix` or starts with `prefix_` (job_42 covers job_42_1), anywhere in
        the line: the message or a header field (Hadoop names jobs in its thread names)."""
        regex = re.compile(rf"(?<![\w-]){re.escape(prefix)}(?![0-9A-Za-z])")
        self.count(system, "prefix_id", question, lambda line: regex.search(whole_line(line)) is not None)


# --- the questions, per system ------------------------------------------------------------------------

FAILED = events("E9", "E10")  # OpenSSH: "Failed password for [invalid user] <user> from <ip> port <port> ssh2"


def openssh(qs: QuestionSet) -> None:
    s = "OpenSSH"
    qs.counts_by(s, "count_field", [
        "how many failed password attempts came from {value}?",
        "count the failed logins from {value}",
        "how many times did {value} fail password authentication?",
        "failed passwords from {value}: how many?",
    ], FAILED, param(1), [0, 1, 2, 4, 7])
    qs.counts_by(s, "count_field", [
        "how many failed passwords were there for user {value}?",
        "how many times did a password fail for {value}?",
    ], FAILED, param(0), [0, 1, 3])
    qs.counts_by(s, "count_field", [
        "how many POSSIBLE BREAK-IN ATTEMPT warnings were there for {value}?",
    ], events("E27"), param(1), [0])
    day = datetime.fromisoformat("2015-12-10T00:00:00+00:00")
    qs.count(s, "count_field", "how many failed passwords were there between 7am and 8am?", FAILED,
             now="2015-12-10 12:00", since=day.replace(hour=7), until=day.replace(hour=8))
    qs.count(s, "count_field", "how many failed password attempts since 10:00?", FAILED,
             now="2015-12-10 12:00", since=day.replace(hour=10))
    qs.distinct(s, "how many distinct IPs had failed passwords?", FAILED, param(1), "IP addresses")
    qs.distinct(s, "how many different invalid user names were tried?", events("E13"), param(0), "user names")
    qs.distinct(s, "how many unique source addresses tried an invalid user?", events("E13"), param(1), "IP addresses")
    qs.distinct(s, "how many distinct users failed to log in with a password?", FAILED, param(0), "users")
    qs.aggregate(s, "what was the highest source port of a failed password attempt?", FAILED, param(2), "max",
                 "port")
    qs.aggregate(s, "lowest port used by a failed password login?", FAILED, param(2), "min", "port")
    qs.top(s, "which IPs failed to log in most often? top 3", FAILED, param(1), 3, "ip")
    qs.top(s, "which invalid user name was tried most often?", events("E13"), param(0), 1, "user")
    qs.top(s, "which users had the most failed passwords?", FAILED, param(0), 2, "user")
    qs.top(s, "which addresses tried invalid users most often? top 2", events("E13"), param(1), 2, "ip")
    top_ip = ranked(param(1)(line) for line in qs.pick(s, FAILED))[0][0]
    qs.occurrence(s, f"when did {top_ip} first fail a password?",
                  lambda line: FAILED(line) and param(1)(line) == top_ip, "first")
    qs.occurrence(s, f"when was the last failed password from {top_ip}?",
                  lambda line: FAILED(line) and param(1)(line) == top_ip, "last")
    qs.occurrence(s, "when was the last POSSIBLE BREAK-IN ATTEMPT?", events("E27"), "last")
    qs.occurrence(s, "when did we first see 'Did not receive identification string'?", events("E3"), "first")
    qs.series(s, "failed passwords per hour", FAILED, 60)
    qs.series(s, "how many invalid user attempts per hour?", events("E13"), 60)
    qs.series(s, "break-in attempts per hour", events("E27"), 60)
    qs.distinct(s, "how many different IPs triggered POSSIBLE BREAK-IN ATTEMPT?", events("E27"), param(1),
                "IP addresses")
    qs.count(s, "paraphrase", "how many connections were dropped before authentication?",
             contains(r"^Connection closed by .* \[preauth\]$"))
    qs.count(s, "paraphrase", "how many times did clients disconnect?", contains(r"Received disconnect from"))
    qs.count(s, "paraphrase", "how many logins were rejected for a nonexistent user?", events("E13"))
    qs.count(s, "no_level", "how many errors did sshd log?", contains(r"\berror\b"))
    qs.count(s, "no_level", "how many failures are in the ssh log?", contains(r"\bfail(ed|ure|ures|s)?\b"))
    qs.count(s, "no_level", "how many authentication failures were logged?", contains(r"authentication failure"))


def linux(qs: QuestionSet) -> None:
    s = "Linux"
    # "authentication failure; ... rhost=<*> [user=...]": E17-E19 are the same line with user guest, root, test.
    auth = events("E16", "E17", "E18", "E19")
    rhost = param(0)
    qs.counts_by(s, "count_field", [
        "how many authentication failures came from {value}?",
        "count auth failures with rhost {value}",
        "how many times did {value} fail to authenticate?",
    ], auth, rhost, [0, 1, 2, 5])
    qs.count(s, "count_field", "how many authentication failures were for user root?", events("E18"))
    qs.count(s, "count_field", "how many authentication failures were for user guest?", events("E17"))
    qs.distinct(s, "how many distinct remote hosts failed authentication?", auth, rhost, "hosts")
    # "session opened for user <*> by (uid=<*>)" and, for a console login, "... by LOGIN(uid=<*>)".
    opened = events("E102", "E103")
    qs.distinct(s, "how many different users had a session opened?", opened, param(0), "users")
    qs.distinct(s, "how many distinct addresses connected?", events("E29"), param(0), "IP addresses")
    qs.top(s, "which host failed authentication most often?", auth, rhost, 1, "rhost")
    qs.top(s, "which programs logged the most lines? top 3", lambda line: True,
           lambda line: line.fields["Component"], 3, "process")
    qs.occurrence(s, "when was the first Kerberos authentication failure?", events("E61"), "first")
    qs.occurrence(s, "when did ALERT last exit abnormally?", events("E8"), "last")
    qs.occurrence(s, "when was the last authentication failure?", auth, "last")
    qs.count(s, "paraphrase", "how many times did ALERT crash?", events("E8"))
    qs.count(s, "paraphrase", "how many sessions were started?", opened)
    qs.count(s, "paraphrase", "how many sessions ended?", events("E101"))
    qs.count(s, "paraphrase", "how many times did cupsd stop?", contains(r"cupsd shutdown succeeded"))
    qs.count(s, "no_level", "how many failures were logged?", contains(r"\bfail(ed|ure|ures|s)?\b"))
    qs.count(s, "no_level", "how many warnings?", contains(r"\bwarn(ing|ings)?\b"))
    qs.count(s, "count_field", "how many lines mention user cyrus?", contains(r"\bcyrus\b"))


def hdfs(qs: QuestionSet) -> None:
    s = "HDFS"
    received = events("E11")  # "Received block blk_<*> of size <*> from /<*>"
    qs.counts_by(s, "count_field", [
        "how many blocks were received from {value}?",
        "count the blocks received from /{value}",
        "how many 'Received block' lines came from {value}?",
    ], received, param(2), [0, 1, 3])
    qs.counts_by(s, "count_field", [
        "how many 'Got exception while serving' errors happened on {value}?",
        "how many exceptions while serving blocks did {value} have?",
    ], events("E3"), param(0), [0, 1])
    qs.distinct(s, "how many distinct blocks were deleted?", events("E9"), param(0), "blocks")
    qs.distinct(s, "how many different datanodes sent blocks?", received, param(2), "IP addresses")
    qs.distinct(s, "how many datanodes had exceptions while serving blocks?", events("E3"), param(0), "IP addresses")
    # A received block's size is logged by two templates: E11, and E12 when the receiving datanode also
    # names both ends ("Received block <*> src: <*>:<*> dest: <*>:<*> of size <*>").
    sized = events("E11", "E12")
    size = lambda line: line.params[5 if line.event == "E12" else 1].strip()  # noqa: E731
    qs.aggregate(s, "what was the largest block size received?", sized, size, "max", "bytes")
    qs.aggregate(s, "smallest received block size?", sized, size, "min", "bytes")
    qs.aggregate(s, "total bytes of all received blocks?", sized, size, "sum", "bytes")
    qs.aggregate(s, "what is the average size of a received block?", sized, size, "avg", "bytes")
    qs.occurrence(s, "when was the first 'Got exception while serving'?", events("E3"), "first")
    qs.occurrence(s, "when did the last block verification succeed?", events("E14"), "last")
    qs.occurrence(s, "when was the last block allocated?", events("E7"), "last")
    qs.series(s, "block exceptions per 6 hours", events("E3"), 60 * 6)
    qs.series(s, "deleted blocks per 6 hours", events("E9"), 60 * 6)
    qs.count(s, "paraphrase", "how many blocks were deleted?", events("E9"))
    qs.count(s, "paraphrase", "how many blocks were sent to clients?", events("E1"))
    qs.count(s, "paraphrase", "how many block verifications passed?", events("E14"))
    qs.count(s, "paraphrase", "how many packet responders shut down?", events("E10"))


def hadoop(qs: QuestionSet) -> None:
    s = "Hadoop"
    qs.count(s, "count_field", "how many ERROR IN CONTACTING RM lines are there?", events("E38"))
    # FATAL is an error too, the worst kind (log4j's levels rank it above ERROR).
    qs.count(s, "count_field", "how many errors were logged?",
             lambda line: line.fields["Level"] in ("ERROR", "FATAL"))
    qs.count(s, "count_field", "how many warnings?", lambda line: line.fields["Level"] == "WARN")
    qs.count(s, "count_field", "how many FATAL lines?", lambda line: line.fields["Level"] == "FATAL")
    qs.distinct(s, "how many distinct task attempts reported progress?", events("E80"), param(0), "attempts")
    qs.distinct(s, "how many different servers did it retry connecting to?", events("E91"), param(0), "servers")
    qs.aggregate(s, "what was the highest progress reported by a task attempt?", events("E80"),
                 lambda line: f"{line.params[1]}.{line.params[2]}", "max", "progress")
    qs.distinct(s, "how many distinct containers were mentioned?", contains(r"container_\d"),
                lambda line: re.search(r"container_[\d_]+", line.content).group(0), "containers")  # type: ignore[union-attr]
    qs.aggregate(s, "what was the largest lease renewal delay in seconds?", events("E44"), param(2), "max", "seconds")
    # The template keeps "attempt_" outside its <*>: the logged id is attempt_<*>.
    qs.top(s, "which task attempts reported progress most often? top 2", events("E80"),
           lambda line: "attempt_" + param(0)(line), 2, "attempt")
    qs.occurrence(s, "when was the first ERROR IN CONTACTING RM?", events("E38"), "first")
    qs.occurrence(s, "when did the last 'Failed to renew lease' happen?", events("E44"), "last")
    qs.occurrence(s, "when was the first address change detected?", events("E10"), "first")
    qs.series(s, "errors contacting the RM per minute", events("E38"), 1)
    qs.count(s, "paraphrase", "how many times could it not reach the resource manager?", events("E38"))
    qs.count(s, "paraphrase", "how many times did lease renewal fail?", events("E44"))
    attempts = ranked(
        match.group(0) for line in qs.lines(s) for match in re.finditer(r"attempt_\d+_\d+_[mr]_\d+", line.content)
    )
    for rank, phrasing in zip((0, 1, 2, 3, 4), (
        "how many lines mention {value}?", "how many log lines are about task attempt {value}?",
        "count the lines for {value}", "how many lines does {value} have in the log?", "how many events for {value}?",
    ), strict=True):
        qs.prefix(s, phrasing.format(value=attempts[rank][0]), attempts[rank][0])
    qs.prefix(s, "how many lines mention application_1445144423722_0020?", "application_1445144423722_0020")
    qs.prefix(s, "how many lines mention container_1445144423722_0020_01?", "container_1445144423722_0020_01")
    qs.prefix(s, "how many lines are about job_1445144423722_0020?", "job_1445144423722_0020")
    qs.prefix(s, "how many events mention task_1445144423722_0020_m_000002?", "task_1445144423722_0020_m_000002")
    qs.series(s, "lease renewal failures per minute", events("E44"), 1)
    qs.series(s, "warnings per minute", lambda line: line.fields["Level"] == "WARN", 1)


def spark(qs: QuestionSet) -> None:
    s = "Spark"
    finished = events("E9")  # "Finished task <*> in stage <*> (TID <*>). <*> bytes result sent to driver"
    qs.counts_by(s, "count_field", [
        "how many tasks ran in stage {value}?",
        "how many 'Running task' lines are there for stage {value}?",
    ], events("E24"), param(1), [0, 1, 2])
    qs.counts_by(s, "paraphrase", [
        "how many tasks completed in stage {value}?",
        "how many tasks were done in stage {value}?",
        "number of tasks that succeeded in stage {value}",
    ], finished, param(1), [0, 1, 2])
    qs.count(s, "paraphrase", "how many tasks completed?", finished)
    qs.count(s, "paraphrase", "how many partitions had to be recomputed?", events("E19"))
    qs.count(s, "paraphrase", "how many outputs were committed?", events("E1"))
    qs.distinct(s, "how many distinct stages ran tasks?", events("E24"), param(1), "stages")
    qs.distinct(s, "how many different tasks were assigned?", events("E11"), param(0), "tasks")
    qs.aggregate(s, "what was the largest task result sent to the driver, in bytes?", finished, param(3), "max",
                 "bytes")
    qs.aggregate(s, "smallest result size sent to driver?", finished, param(3), "min", "bytes")
    qs.aggregate(s, "total bytes of task results sent to the driver?", finished, param(3), "sum", "bytes")
    qs.aggregate(s, "average task result size in bytes?", finished, param(3), "avg", "bytes")
    qs.aggregate(s, "what was the slowest broadcast variable read, in ms?", events("E20"), param(1), "max", "ms")
    qs.aggregate(s, "how long did reading broadcast variables take on average, in ms?", events("E20"), param(1),
                 "avg", "ms")
    qs.aggregate(s, "total time spent reading broadcast variables, in ms?", events("E20"), param(1), "sum", "ms")
    qs.occurrence(s, "when did the last task finish?", finished, "last")
    qs.occurrence(s, "when was the first task assigned?", events("E11"), "first")
    qs.aggregate(s, "what was the longest total time in the Times lines?", events("E35"), param(0), "max", "ms")
    qs.distinct(s, "how many distinct rdd blocks were found locally?", events("E10"), param(0), "blocks")
    qs.occurrence(s, "when was the first partition not found?", events("E19"), "first")
    qs.series(s, "finished tasks per minute", finished, 1)
    for prefix, phrasing in (("rdd_2", "how many lines mention {value}?"),
                             ("rdd_42", "how many times was a block of {value} mentioned?"),
                             ("rdd_11", "how many events for {value}?"),
                             ("broadcast_9", "how many lines mention {value}?"),
                             ("attempt_201706092018", "how many lines are about attempts of {value}?")):
        qs.prefix(s, phrasing.format(value=prefix), prefix)


def zookeeper(qs: QuestionSet) -> None:
    s = "Zookeeper"
    # Both kinds of connection request: "Received connection request /<*>:<*>" (from a peer) and
    # "Connection request from old client /<*>:<*>; will be dropped if server is in r-o mode".
    requests = events("E40", "E12")
    qs.counts_by(s, "count_field", [
        "how many connection requests came from {value}?",
        "count the connection requests received from /{value}",
        "how many times did {value} request a connection?",
    ], requests, param(0), [0, 1, 2, 3])
    qs.counts_by(s, "count_field", [
        "how many times was the connection to id {value} broken?",
        "how many connection broken errors for id {value}?",
    ], events("E11"), param(0), [0, 1])
    qs.distinct(s, "how many distinct hosts requested connections?", requests, param(0), "IP addresses")
    qs.distinct(s, "how many different sessions expired?", events("E15"), param(0), "sessions")
    qs.distinct(s, "how many distinct clients opened a socket connection?", events("E2"), param(0), "IP addresses")
    qs.aggregate(s, "what was the longest notification timeout?", events("E31"), param(0), "max", "ms")
    qs.aggregate(s, "shortest notification time out?", events("E31"), param(0), "min", "ms")
    qs.top(s, "which hosts sent the most connection requests? top 3", requests, param(0), 3, "ip")
    qs.top(s, "which clients opened the most socket connections? top 2", events("E2"), param(0), 2, "ip")
    qs.occurrence(s, "when was the last connection request?", requests, "last")
    qs.occurrence(s, "when did a session first expire?", events("E15"), "first")
    qs.occurrence(s, "when was the first 'Cannot open channel'?", events("E5"), "first")
    qs.series(s, "expired sessions per day", events("E15"), 1440)
    qs.series(s, "connection requests per day", requests, 1440)
    qs.distinct(s, "how many distinct sessions were terminated?", events("E38"), param(0), "sessions")
    qs.aggregate(s, "what was the largest negotiated session timeout?", events("E13"), param(1), "max", "ms")
    qs.count(s, "paraphrase", "how many times did a connection drop?", events("E11"))
    qs.count(s, "paraphrase", "how many sessions timed out?", events("E15"))
    qs.count(s, "paraphrase", "how many sessions were terminated?", events("E38"))
    qs.count(s, "count_field", "how many errors were logged?", lambda line: line.fields["Level"] == "ERROR")


def openstack(qs: QuestionSet) -> None:
    s = "OpenStack"
    # '<*> "DELETE|GET|POST <*>" status: <*> len: <*> time: <*>.<*>': every request the API served, whatever
    # its method (the 22 DELETE requests answered 204).
    wsgi = events("E24", "E25", "E26")
    status = param(2)
    qs.counts_by(s, "count_field", [
        "how many requests had status {value}?",
        "how many requests returned {value}?",
        "count the HTTP {value} responses",
    ], wsgi, status, [0, 1, 2, 3])
    qs.count(s, "count_field", "how many POST requests were there?", events("E26"))
    qs.count(s, "count_field", "how many GET requests returned 200?", lambda line: events("E25")(line)
             and status(line) == "200")
    qs.distinct(s, "how many distinct instances were there?",
                lambda line: "[instance: " in line.content,
                lambda line: line.content.split("[instance: ", 1)[1].split("]", 1)[0], "instances")
    qs.distinct(s, "how many different status codes were returned?", wsgi, status, "status codes")
    # "10.11.21.132,10.11.10.1": the client, then the proxy it came through.
    qs.distinct(s, "how many distinct client addresses made requests?", wsgi,
                lambda line: param(0)(line).split(",")[0], "IP addresses")
    seconds = lambda line: f"{line.params[4]}.{line.params[5]}"  # noqa: E731  (time: <*>.<*>)
    qs.aggregate(s, "what was the slowest request, in seconds?", wsgi, seconds, "max", "seconds")
    qs.aggregate(s, "what is the average request time?", wsgi, seconds, "avg", "seconds")
    qs.aggregate(s, "largest response length?", wsgi, param(3), "max", "bytes")
    qs.aggregate(s, "total bytes returned by the API?", wsgi, param(3), "sum", "bytes")
    qs.aggregate(s, "what was the longest spawn time of an instance, in seconds?", events("E15"),
                 lambda line: f"{line.params[1]}.{line.params[2]}", "max", "seconds")
    qs.top(s, "which status codes were most common? top 2", wsgi, status, 2, "status")
    qs.occurrence(s, "when was the first 404?", lambda line: wsgi(line) and status(line) == "404", "first")
    qs.occurrence(s, "when was the last POST request?", events("E26"), "last")
    qs.occurrence(s, "when did the last VM pause?", events("E20"), "last")
    qs.series(s, "requests per 5 minutes", wsgi, 5)
    qs.series(s, "POST requests per 5 minutes", events("E26"), 5)
    qs.series(s, "404s per 5 minutes", lambda line: wsgi(line) and status(line) == "404", 5)
    qs.aggregate(s, "what is the average response length?", wsgi, param(3), "avg", "bytes")
    qs.count(s, "paraphrase", "how many VMs were suspended?", events("E20"))
    qs.count(s, "paraphrase", "how many instances came up?", events("E9"))
    qs.count(s, "paraphrase", "how many VMs were booted?", events("E22"))
    instances = ranked(line.content.split("[instance: ", 1)[1].split("]", 1)[0]
                       for line in qs.lines(s) if "[instance: " in line.content)
    for rank in (0, 1):
        qs.prefix(s, f"how many lines mention instance {instances[rank][0][:13]}?", instances[rank][0][:13])


def apache(qs: QuestionSet) -> None:
    s = "Apache"
    error_state = events("E3")  # "mod_jk child workerEnv in error state <*>"
    qs.counts_by(s, "count_field", [
        "how many times was mod_jk in error state {value}?",
        "how many 'workerEnv in error state {value}' errors?",
    ], error_state, param(0), [0, 1, 2])
    qs.count(s, "count_field", "how many errors were logged?", lambda line: line.fields["Level"] == "error")
    qs.count(s, "count_field", "how many notices?", lambda line: line.fields["Level"] == "notice")
    qs.counts_by(s, "count_field", ["how many directory index forbidden errors came from client {value}?"],
                 events("E4"), param(0), [0])
    qs.distinct(s, "how many distinct clients hit 'Directory index forbidden'?", events("E4"), param(0), "clients")
    qs.distinct(s, "how many different scoreboard slots were used?", events("E1"), param(1), "slots")
    qs.distinct(s, "how many distinct child processes were found in the scoreboard?", events("E1"), param(0),
                "processes")
    qs.top(s, "which error states were most frequent? top 3", error_state, param(0), 3, "state")
    qs.occurrence(s, "when was the last 'Directory index forbidden'?", events("E4"), "last")
    qs.occurrence(s, "when did jk2_init first fail to find a child?", events("E5"), "first")
    qs.occurrence(s, "when was the first error?", lambda line: line.fields["Level"] == "error", "first")
    qs.series(s, "errors per 6 hours", lambda line: line.fields["Level"] == "error", 360)
    qs.series(s, "directory index forbidden per 6 hours", events("E4"), 360)
    qs.count(s, "paraphrase", "how many times did workerEnv initialise successfully?", events("E2"))
    qs.count(s, "paraphrase", "how many directory listings were denied?", events("E4"))


def proxifier(qs: QuestionSet) -> None:
    s = "Proxifier"
    opened = events("E2")  # "<*>:<*> open through proxy <*>:<*> HTTPS"
    qs.counts_by(s, "no_level", [
        "how many connections to {value} went through the proxy?",
        "how many times was {value} opened through the proxy?",
    ], opened, param(0), [0, 1, 2])
    qs.count(s, "no_level", "how many errors did Proxifier report?", contains(r"\berror\b"))
    qs.count(s, "no_level", "how many connection attempts failed?", contains(r"connection attempt failed"))
    qs.count(s, "no_level", "how many connections could not be made through the proxy?",
             contains(r"Could not connect"))
    qs.distinct(s, "how many distinct hosts were reached through the proxy?", opened, param(0), "hosts")
    qs.top(s, "which hosts were connected through the proxy most often? top 3", opened, param(0), 3, "host")
    qs.top(s, "which endpoints had the most closed connections? top 2", events("E8"), param(0), 2, "endpoint")
    qs.count(s, "paraphrase", "how many connection requests were cancelled?", events("E7"))


def healthapp(qs: QuestionSet) -> None:
    s = "HealthApp"
    qs.aggregate(s, "what was the highest step count reported by onStandStepChanged?", events("E42"), param(0),
                 "max", "steps", category="no_level")
    qs.aggregate(s, "what was the largest total calories value?", events("E4"), param(0), "max", "calories",
                 category="no_level")
    qs.count(s, "no_level", "how many screen on events?", events("E41"))
    qs.count(s, "no_level", "how many times did the step count change?", events("E42"))
    qs.distinct(s, "how many distinct components logged?", lambda line: True, lambda line: line.fields["Component"],
                "components")
    qs.top(s, "which components logged the most lines? top 3", lambda line: True,
           lambda line: line.fields["Component"], 3, "component")
    qs.occurrence(s, "when did the screen last turn off?", events("E40"), "last")
    qs.occurrence(s, "when was the first sensor flush?", events("E12"), "first")
    qs.series(s, "step changes per hour", events("E42"), 60)
    qs.series(s, "screen off events per hour", events("E40"), 60)
    qs.aggregate(s, "what was the highest total altitude?", events("E3"), param(0), "max", "altitude",
                 category="no_level")


def bgl(qs: QuestionSet) -> None:
    s = "BGL"
    qs.count(s, "count_field", "how many FATAL events?", lambda line: line.fields["Level"] == "FATAL")
    qs.count(s, "count_field", "how many data TLB error interrupts were there?", events("E55"))
    qs.distinct(s, "how many distinct nodes generated core files?", events("E67"), lambda line: line.fields["Node"],
                "nodes")
    qs.aggregate(s, "what was the largest number of floating point alignment exceptions reported?", events("E4"),
                 param(0), "max", "exceptions")
    qs.top(s, "which components logged the most? top 2", lambda line: True, lambda line: line.fields["Component"], 2,
           "component")
    qs.occurrence(s, "when was the first FATAL?", lambda line: line.fields["Level"] == "FATAL", "first")
    qs.occurrence(s, "when was the last data TLB error interrupt?", events("E55"), "last")
    qs.count(s, "paraphrase", "how many core dumps were generated?", events("E67"))
    qs.count(s, "count_field", "how many ERROR events?", lambda line: line.fields["Level"] == "ERROR")
    qs.count(s, "count_field", "how many SEVERE events were there?", lambda line: line.fields["Level"] == "SEVERE")
    qs.count(s, "count_field", "how many warnings?", lambda line: line.fields["Level"] == "WARNING")
    qs.occurrence(s, "when was the first SEVERE event?", lambda line: line.fields["Level"] == "SEVERE", "first")
    qs.aggregate(s, "what was the largest number of double-hummer alignment exceptions?", events("E3"), param(0),
                 "max", "exceptions")


def thunderbird(qs: QuestionSet) -> None:
    s = "Thunderbird"
    qs.count(s, "no_level", "how many times did ntpd synchronize?", events("E125"))
    qs.count(s, "no_level", "how many warnings did gmetad log?", contains(r"\bwarning\b"))
    qs.count(s, "no_level", "how many failures?", contains(r"\bfail(ed|ure|ures|s)?\b"))
    qs.distinct(s, "how many distinct time servers did ntpd synchronize to?", events("E125"), param(0), "servers")
    qs.top(s, "which servers did ntpd synchronize to most? top 2", events("E125"), param(0), 2, "server")
    qs.top(s, "which processes logged the most? top 4", lambda line: True, lambda line: line.fields["Component"], 4,
           "process")
    qs.occurrence(s, "when was the last NEW SWEEP?", events("E8"), "last")
    qs.series(s, "ntpd synchronizations per 5 minutes", events("E125"), 5)
    qs.count(s, "no_level", "how many times did gmetad get no answer from a datasource?", events("E32"))
    qs.occurrence(s, "when was the first dhcpd message?", lambda line: line.fields["Component"] == "dhcpd", "first")


def hpc(qs: QuestionSet) -> None:
    s = "HPC"
    node = lambda line: line.fields["Node"]  # noqa: E731
    # HPC's "State" column says "error", "temperature", "status"...: a kind of event more than a level.
    qs.counts_by(s, "count_field", ["how many events did {value} log?", "how many lines came from node {value}?"],
                 lambda line: True, node, [0, 1])
    qs.count(s, "count_field", "how many warnings were there?", contains(r"\bwarning\b"))
    # Link errors are logged in one word ("Linkerror event interval expired", E26) and in two ("Link error",
    # "Link error on broadcast tree <*>", "link errors remain current"): the question is about all of them.
    qs.count(s, "count_field", "how many link errors?", contains(r"\blink\s?errors?\b"))
    qs.distinct(s, "how many distinct nodes logged something?", lambda line: True, node, "nodes")
    qs.top(s, "which nodes logged the most? top 2", lambda line: True, node, 2, "node")
    qs.occurrence(s, "when was the last 'Linkerror event interval expired'?", events("E26"), "last")
    qs.occurrence(s, "when was the first unavailable state change?", events("E13"), "first")


SYSTEMS = (openssh, linux, hdfs, hadoop, spark, zookeeper, openstack, apache, proxifier, healthapp, bgl, thunderbird,
           hpc)

# The fixed subset later work asserts exactly: simple, unambiguous shapes across systems.
GATE = (
    "openssh-count-field-01", "openssh-count-distinct-01", "openssh-top-n-01", "openssh-first-last-03",
    "linux-count-field-05", "linux-count-field-01", "linux-paraphrase-01", "hdfs-numeric-01", "hdfs-numeric-03",
    "hdfs-paraphrase-01", "hadoop-prefix-id-08", "hadoop-count-field-01", "spark-paraphrase-04", "spark-numeric-01",
    "zookeeper-count-field-01", "zookeeper-top-n-01", "zookeeper-first-last-01", "openstack-count-field-02",
    "openstack-time-series-01", "apache-count-field-01", "proxifier-no-level-04", "bgl-count-field-01",
)


def build(loghub: Path) -> list[dict[str, Any]]:
    qs = QuestionSet(loghub)
    for system in SYSTEMS:
        system(qs)
    by_id = {record["id"]: record for record in qs.records}
    for gate_id in GATE:
        by_id[gate_id]["gate"] = True
    return qs.records


def render(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n" for record in records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loghub", type=Path, default=DEFAULT_LOGHUB, help="the loghub folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON Lines")
    args = parser.parse_args(argv)
    records = build(args.loghub)
    args.out.write_text(render(records), encoding="utf-8")
    counts = Counter(record["category"] for record in records)
    print(f"{len(records)} questions over {len({r['system'] for r in records})} systems -> {args.out}")
    for category in CATEGORIES:
        print(f"  {category:15} {counts[category]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
