"""The field queries (filter, group, aggregate, percentiles) on SQLite and PostgreSQL, checked against
the same numbers computed directly from the input files."""

from __future__ import annotations

import csv
import math
import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from logchat.services.ingest import index_inputs
from logchat.storage import fields_repo
from logchat.storage.models import Event, TemplateField

START = datetime(2026, 10, 10, 0, 0, tzinfo=UTC)
STATUSES = [200, 200, 200, 201, 304, 404, 500, 502, 502, 503]


def write_access_log(path: Path, lines: int = 3000) -> list[str]:
    rng = random.Random(11)
    out = []
    for i in range(lines):
        at = START + timedelta(seconds=7 * i)
        status = rng.choice(STATUSES)
        size = "-" if rng.random() < 0.05 else str(rng.randint(0, 90_000))
        duration = f"{rng.expovariate(8):.3f}"
        out.append(f'10.0.{rng.randint(0, 3)}.{rng.randint(1, 20)} - - [{at:%d/%b/%Y:%H:%M:%S} +0000] '
                   f'"{rng.choice(["GET", "POST"])} /api/v1/items/{rng.randint(1, 50)} HTTP/1.1" {status} {size} '
                   f'"-" "client/{rng.randint(1, 3)}.0" {duration}')
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return out


def parsed(line: str) -> dict[str, object]:
    """The values of one access line, read independently of logchat."""
    head, request, tail = line.split('"', 2)
    status, size = tail.split()[:2]
    stamp = datetime.strptime(head.split("[", 1)[1].split("]")[0], "%d/%b/%Y:%H:%M:%S %z")
    return {"client": head.split()[0], "method": request.split()[0], "status": int(status),
            "bytes": None if size == "-" else int(size), "duration": float(line.rsplit(" ", 1)[1]), "ts": stamp}


def interpolated(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@pytest.fixture
def settings(data_dir: Path, database_url: str):  # type: ignore[no-untyped-def]
    """The test settings with field extraction on (it is off by default)."""
    from logchat.config import load_settings

    return load_settings(data_dir=data_dir, database={"url": database_url}, ingest={"fields": True})


@pytest.fixture
def access_store(store, settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "access.log"
    lines = write_access_log(path)
    report = index_inputs(store, settings, [str(path)])
    assert not report.failed, report.to_dict()
    return store, [parsed(line) for line in lines]


def test_group_filter_and_aggregate_access_fields(access_store) -> None:  # type: ignore[no-untyped-def]
    store, rows = access_store
    with store.session() as session:
        assert fields_repo.group_by_field(session, "status", limit=None) == sorted(
            ((str(s), n) for s, n in Counter(r["status"] for r in rows).items()), key=lambda kv: (-kv[1], kv[0]))
        bad_gateway = fields_repo.field_condition(session, "status", "=", 502)
        assert session.scalar(select(func.count()).select_from(Event).where(bad_gateway)) == sum(
            r["status"] == 502 for r in rows)
        errors = fields_repo.field_condition(session, "status", ">=", 500)
        by_client = fields_repo.group_by_field(session, "client", errors, limit=3)
        expected = Counter(r["client"] for r in rows if r["status"] >= 500)
        assert by_client == sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        sizes = [r["bytes"] for r in rows if r["bytes"] is not None]
        assert fields_repo.aggregate_field(session, "bytes", "sum") == sum(sizes)
        assert fields_repo.aggregate_field(session, "bytes", "count") == len(sizes)
        assert fields_repo.aggregate_field(session, "bytes", "max") == max(sizes)
        assert fields_repo.aggregate_field(session, "bytes", "min") == min(sizes)
        assert fields_repo.aggregate_field(session, "bytes", "avg") == pytest.approx(sum(sizes) / len(sizes))
        posts = fields_repo.field_condition(session, "method", "=", "POST")
        post_durations = [r["duration"] for r in rows if r["method"] == "POST"]
        assert fields_repo.aggregate_field(session, "duration", "avg", posts) == pytest.approx(
            sum(post_durations) / len(post_durations))
        in_list = fields_repo.field_condition(session, "status", "in", [404, 503])
        assert session.scalar(select(func.count()).select_from(Event).where(in_list)) == sum(
            r["status"] in (404, 503) for r in rows)
        agents = fields_repo.field_condition(session, "user_agent", "contains", "CLIENT/2")
        assert session.scalar(select(func.count()).select_from(Event).where(agents)) > 0


def test_percentiles_and_a_time_window(access_store) -> None:  # type: ignore[no-untyped-def]
    store, rows = access_store
    cutoff = START + timedelta(hours=3)
    with store.session() as session:
        durations = [r["duration"] for r in rows]
        for q in (0.0, 0.5, 0.9, 0.99, 1.0):
            assert fields_repo.percentile_field(session, "duration", q) == pytest.approx(interpolated(durations, q))
        later = [r["duration"] for r in rows if r["ts"] >= cutoff]
        assert fields_repo.percentile_field(session, "duration", 0.95, Event.ts >= cutoff) == pytest.approx(
            interpolated(later, 0.95))
        assert fields_repo.aggregate_field(session, "duration", "max", Event.ts >= cutoff) == max(later)
        assert fields_repo.percentile_field(session, "duration", 0.5, Event.ts >= START + timedelta(days=9)) is None


def test_identifiers_and_text_are_not_added_up(access_store) -> None:  # type: ignore[no-untyped-def]
    store, _ = access_store
    with store.session() as session:
        with pytest.raises(fields_repo.NotAMeasure, match="status"):
            fields_repo.aggregate_field(session, "status", "sum")
        with pytest.raises(fields_repo.NotAMeasure, match="client"):
            fields_repo.aggregate_field(session, "client", "avg")
        with pytest.raises(fields_repo.FieldNotFound, match="nosuch"):
            fields_repo.aggregate_field(session, "nosuch", "max")
        assert fields_repo.aggregate_field(session, "status", "max") == max(STATUSES)
        kinds = dict(session.execute(select(TemplateField.name, TemplateField.kind)).all())
        assert kinds["status"] == "identifier" and kinds["bytes"] == "measure" and kinds["client"] == "label"
        units = dict(session.execute(select(TemplateField.name, TemplateField.unit)).all())
        assert units["bytes"] == "B" and units["duration"] == "s"


def test_top_users_that_failed_to_log_in_equal_loghub(  # type: ignore[no-untyped-def]
    store, settings, loghub: Path
) -> None:
    report = index_inputs(store, settings, [str(loghub / "OpenSSH" / "OpenSSH_2k.log")])
    assert not report.failed
    users: Counter[str] = Counter()
    ports = []
    with (loghub / "OpenSSH" / "OpenSSH_2k.log_structured.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["EventId"] == "E10":  # Failed password for invalid user <*> from <*> port <*> ssh2
                match = re.fullmatch(r"Failed password for invalid user (.*?) from (.*?) port (.*?) ssh2",
                                     row["Content"])
                assert match is not None
                users[match.group(1).strip()] += 1
                ports.append(int(match.group(3)))
    with store.session() as session:
        failed_invalid = Event.message.like("Failed password for invalid user %")
        assert fields_repo.group_by_field(session, "user", failed_invalid, limit=None) == sorted(
            users.items(), key=lambda kv: (-kv[1], kv[0]))
        assert fields_repo.aggregate_field(session, "port", "max", failed_invalid) == max(ports)
        assert fields_repo.aggregate_field(session, "port", "count", failed_invalid) == len(ports)
        distinct, exact = fields_repo.distinct_values(session, "user", failed_invalid, bound=5)
        assert len(users) > 5
        assert (distinct, exact) == (5, False)
        assert fields_repo.distinct_values(session, "user", failed_invalid) == (len(users), True)
