"""Counting the values of a batch's fields (logchat.ingest.value_counts), as the writer stores them and as the
reader process counts them while the writer is busy: checked against counting each event's decoded fields one by
one, on real loghub logs read as ingest reads them."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from logchat.ingest import value_counts
from logchat.ingest.detect import detect_format
from logchat.ingest.formats import make_parser
from logchat.ingest.parallel import ReaderProcess, can_fork
from logchat.ingest.pipeline import Batch, BatchPlan, produce_batches
from logchat.ingest.sources import LineReader, sample_lines
from logchat.ingest.templates import TemplateMiner
from logchat.ingest.timestamps import TimeContext
from logchat.ingest.value_counts import SpareCounter, count_texts, fields_by_template
from logchat.vocabulary import MEASURE


def _batches(path: Path, batch_size: int = 400) -> list[Batch]:
    with path.open("rb") as handle:
        parser = make_parser(detect_format(sample_lines(handle.read(8192))),
                             TimeContext(tz=UTC, reference=datetime(2026, 12, 31, tzinfo=UTC)))
        handle.seek(0)
        reader = LineReader(handle, start_line=0, start_offset=0, max_line_bytes=1 << 16)
        plan = BatchPlan(source_id=1, generation=1, first_id=1, batch_size=batch_size, multiline=True, fields=True)
        return list(produce_batches(reader, parser, TemplateMiner(), plan))


def _one_by_one(texts: list[str], name: str) -> dict[str, int] | None:
    """The counts of field ``name``, each event's JSON decoded alone and each value's text worked out alone."""
    found: Counter[str] = Counter()
    for text in texts:
        value = json.loads(text).get(name)
        if value is None:
            continue
        if type(value) is int:
            found[str(value)] += 1
        elif type(value) is str and "\x00" not in value:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return None
            found[value] += 1
        else:
            return None
    return dict(found)


@pytest.mark.parametrize("system", ["OpenSSH", "Apache", "HDFS", "Linux", "Proxifier"])
def test_a_batch_is_counted_as_its_events_one_by_one(loghub: Path, system: str) -> None:
    pairs = 0
    for batch in _batches(loghub / system / f"{system}_2k.log"):
        texts = fields_by_template((row[11], row[14]) for row in batch.rows)
        names: dict[int, set[str]] = {}
        for template_id, name, *_ in batch.fields.rows():
            names.setdefault(template_id, set()).add(name)
        for template_id, counted in ((t, count_texts(texts[t], sorted(n))) for t, n in names.items()):
            for name, values in counted.items():
                expected = _one_by_one(texts[template_id], name)
                assert values == expected, (system, template_id, name)
                pairs += 1
    assert pairs > 20


def test_values_of_other_kinds_are_not_counted_and_one_and_quoted_one_are_one_value() -> None:
    texts = ['{"a":1,"b":"x","c":2.5,"d":true,"e":"n\\u0000l","f":"1"}', '{"a":"1","b":"x","f":1,"g":"\\ud800"}']
    assert count_texts(texts, ["a", "b", "c", "d", "e", "f", "g", "h"]) == {
        "a": {"1": 2}, "b": {"x": 2}, "c": None, "d": None, "e": None, "f": {"1": 2}, "g": None, "h": {},
    }  # fmt: skip
    assert count_texts(['{"a":1}', "{not json"], ["a"]) == {"a": None}
    # A lone surrogate held as it is (orjson refuses the whole array, the json module reads it) and integers
    # beyond 64 bits (orjson reads some as floats): not counted, and the other fields of the same events are.
    lone = "\ud800"
    assert count_texts([f'{{"a":"{lone}","b":2}}', '{"a":"x","b":3,"c":18446744073709551616,"d":-9223372036854775809}'],
                       ["a", "b", "c", "d"]) == {"a": None, "b": {"2": 1, "3": 1}, "c": None, "d": None}


def test_more_different_values_in_a_batch_than_the_cap_are_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(value_counts, "VALUE_CAP", 3)
    texts = [f'{{"port":{port},"user":"root"}}' for port in (22, 23, 24, 25, 22)]
    assert count_texts(texts, ["port", "user"]) == {"port": None, "user": {"root": 5}}


def test_the_reader_leaves_out_measures_and_the_fields_it_saw_pass_the_cap(
    loghub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(value_counts, "VALUE_CAP", 30)
    counter = SpareCounter()
    seen: dict[tuple[int, str], list[Any]] = {}
    measures = 0
    for batch in _batches(loghub / "OpenSSH" / "OpenSSH_2k.log", batch_size=100):
        field_rows = batch.fields.rows()
        counted = counter.count(batch.rows, field_rows)
        for template_id, name, _, kind, *_ in field_rows:
            if kind == MEASURE:
                measures += 1
                assert name not in counted.get(template_id, {})
                continue
            seen.setdefault((template_id, name), []).append(counted.get(template_id, {}).get(name, "left out"))
    given_up = 0
    for pair, batches in seen.items():
        # Counted in each batch until the first that is not counted or takes its different values past the cap;
        # left out of every batch after it.
        different: set[str] = set()
        for index, values in enumerate(batches):
            if values is None or len(different | set(values)) > 30:
                assert set(batches[index + 1:]) <= {"left out"}, pair
                given_up += 1
                break
            assert values != "left out", pair
            different |= set(values)
    assert given_up >= 3 and measures > 0


def _spared(log: Path, *, writer_waiting: bool) -> list[bool]:
    """Whether each batch of ``log`` went through the reader process's spare work."""
    with log.open("rb") as handle:
        reader = LineReader(handle, start_line=0, start_offset=0, max_line_bytes=1 << 16)
        parser = make_parser("rfc3164", TimeContext(tz=UTC, reference=datetime(2026, 12, 31, tzinfo=UTC)))
        plan = BatchPlan(source_id=1, generation=1, first_id=1, batch_size=250, multiline=True, fields=True)

        def spare(batch: Batch) -> None:
            batch.value_counts = {}

        process = ReaderProcess(reader, parser, TemplateMiner(), plan, spare=spare)
        process.writer_waits(writer_waiting)  # before the fork: the reader sees it from its first batch
        return [batch.value_counts is not None for batch in process]


def test_the_reader_does_the_spare_work_only_while_the_writer_is_busy(loghub: Path) -> None:
    assert can_fork()
    log = loghub / "OpenSSH" / "OpenSSH_2k.log"
    assert _spared(log, writer_waiting=False) == [True] * 8
    assert _spared(log, writer_waiting=True) == [False] * 8
