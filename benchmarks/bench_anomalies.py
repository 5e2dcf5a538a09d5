"""Anomaly ranking: does an injected burst rank first? Precision@1 over 20 injections, against the obvious
alternatives on the same counts.

Each injection copies one loghub sample (../shared/datasets/loghub/<System>/<System>_2k.log), adds N
copies of a message at a known time — a rare template of that log (seen at most 3 times in it, or its
rarest) or a brand-new message — spread over five minutes inside one clock hour, indexes the copy into a fresh store,
and asks for the anomalies of that hour against the default baseline (7 days, or what the store holds
before the hour). The injected copies take the header (time, host, level, process) of a real line of the
log with its clock moved, so they parse as the log's own lines.

Ranked four ways from the same counts (rank 1 = first; "-" = not listed):
- stat: `stat --anomalies` as shipped (the change in rate one can be sure of, new patterns at any score);
- llr: the signed root log-likelihood ratio alone (how surprising the counts are);
- incr: window count minus the count the baseline's rate predicts (the obvious alternative);
- ratio: (window count + 1) / (expected + 1), a smoothed ratio of rates.

    .venv/bin/python benchmarks/bench_anomalies.py [--seed 7] [--injections 20]
"""

from __future__ import annotations

import argparse
import bisect
import csv
import random
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from logchat.config import load_settings
from logchat.services.anomalies import AnomalyQuery, change_score, count_increase, find_anomalies
from logchat.services.ingest import index_inputs
from logchat.storage import anomalies_repo
from logchat.storage.db import Store, open_store
from logchat.storage.models import Event
from logchat.storage.stats_repo import EventFilter

ROOT = Path(__file__).resolve().parent.parent
LOGHUB = ROOT.parent / "shared" / "datasets" / "loghub"
# Samples spanning hours or more (a one-hour window needs time before it); HDFS writes its clock as HHMMSS.
SYSTEMS = ("Apache", "HDFS", "HealthApp", "Linux", "Mac", "OpenSSH", "Proxifier", "Windows", "Zookeeper")
SIZES = (5, 10, 20, 50)
CLOCK = re.compile(r"(?<!\d)(\d{1,2}):(\d{1,2}):(\d{1,2})(?!\d)")  # HealthApp writes 0:16:0
HDFS_CLOCK = re.compile(r"^(\d{6}) (\d{2})(\d{2})(\d{2})(?= )")
NEW_MESSAGES = (
    "worker pool exhausted: queue depth {a} exceeds limit {b}",
    "failed to renew lease on lock {a} after {b} retries",
    "certificate for host{a}.example.org expires in {b} days",
    "replica {a} fell behind primary by {b} seconds, resyncing",
    "circuit breaker opened for upstream {a} after {b} consecutive failures",
    "checksum mismatch in segment {a} at offset {b}, segment quarantined",
    "rate limiter dropped {a} requests from tenant {b}",
    "garbage collection paused all threads for {a} ms in region {b}",
    "journal write stalled for {a} ms on volume vol{b}",
    "token refresh rejected by identity provider for client {a} code {b}",
)


@dataclass
class Sample:
    lines: list[str]  # the raw lines, in file order
    contents: list[str]  # the message part of each line (the structured CSV's Content)
    events: list[str]  # the ground-truth template id of each line


@dataclass
class Injection:
    system: str
    kind: str  # rare | new
    size: int
    anchor: int  # the line whose header the copies take
    message: str


def load(system: str) -> Sample:
    folder = LOGHUB / system
    lines = (folder / f"{system}_2k.log").read_text(encoding="utf-8", errors="replace").splitlines()
    with (folder / f"{system}_2k.log_structured.csv").open(encoding="utf-8", errors="replace", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return Sample(lines, [row["Content"] for row in rows], [row["EventId"] for row in rows])


def header_of(line: str, content: str) -> str | None:
    stripped, message = line.rstrip(), content.rstrip()
    return stripped[: len(stripped) - len(message)] if message and stripped.endswith(message) else None


def move_clock(header: str, offset_seconds: int, system: str) -> str:
    """The header with its clock moved by ``offset_seconds`` within the same hour (never across it)."""
    pattern = HDFS_CLOCK if system == "HDFS" else CLOCK
    found = pattern.search(header)
    assert found is not None, header
    hour, minute, second = found.groups()[-3:]
    within = int(minute) * 60 + int(second) + offset_seconds
    if within >= 3600:
        within -= 600  # stay in the hour: start earlier instead
    # Zero-padded as the log pads it.
    new_minute, new_second = f"{within // 60:0{len(minute)}d}", f"{within % 60:0{len(second)}d}"
    clock = f"{hour}{new_minute}{new_second}" if system == "HDFS" else f"{hour}:{new_minute}:{new_second}"
    start, end = (found.start(2), found.end(4)) if system == "HDFS" else (found.start(), found.end())
    return header[:start] + clock + header[end:]


def vary_numbers(message: str, rng: random.Random) -> str:
    """The same template with other parameters, as a real burst has."""
    return re.sub(r"\d+", lambda digits: str(rng.randint(1, 10 ** len(digits.group()) - 1)), message)


def line_times(system: str, sample: Sample, work: Path) -> dict[int, datetime]:
    """When each line of the sample happened, as logchat reads it (index 0-based)."""
    data = work / "data"
    data.mkdir()
    log = work / f"{system}.log"
    log.write_text("\n".join(sample.lines) + "\n", encoding="utf-8")
    settings = load_settings(data_dir=data, database={"url": f"sqlite:///{data / 'logchat.db'}"})
    store = open_store(settings.database_url)
    try:
        index_inputs(store, settings, [str(log)])
        with store.session() as session:
            rows = session.execute(select(Event.line_no, Event.ts).where(Event.ts.isnot(None))).all()
    finally:
        store.close()
    return {line_no - 1: ts for line_no, ts in rows}


def anchors_with_a_baseline(sample: Sample, when: dict[int, datetime]) -> list[int]:
    """Lines in the later 70 % of the log whose clock hour has at least an hour of the log and 20 of its
    lines in the 7 days before it (the default baseline): a window with nothing before it has no anomalies."""
    stamps = sorted(when.values())
    start = stamps[0]
    usable = []
    for index in range(int(len(sample.lines) * 0.3), len(sample.lines)):
        if index not in when or header_of(sample.lines[index], sample.contents[index]) is None:
            continue
        hour = when[index].replace(minute=0, second=0, microsecond=0)
        before = bisect.bisect_left(stamps, hour) - bisect.bisect_left(stamps, hour - timedelta(days=7))
        if hour - start >= timedelta(hours=1) and before >= 20:
            usable.append(index)
    return usable


def plan(rng: random.Random, samples: dict[str, Sample], times: dict[str, dict[int, datetime]],
         count: int) -> list[Injection]:
    injections = []
    for index in range(count):
        system = SYSTEMS[index % len(SYSTEMS)]
        sample = samples[system]
        kind = "rare" if index % 2 == 0 else "new"
        size = SIZES[index % len(SIZES)]
        when = times[system]
        anchor = rng.choice(anchors_with_a_baseline(sample, when))
        if kind == "rare":
            frequency = Counter(sample.events)
            # At most 3 times in the log, or the rarest templates it has when none is that rare.
            limit = max(3, min(frequency.values()))
            rare = [i for i in range(len(sample.lines)) if frequency[sample.events[i]] <= limit]
            message = sample.contents[rng.choice(rare)].rstrip()
        else:
            message = NEW_MESSAGES[index % len(NEW_MESSAGES)]
        injections.append(Injection(system, kind, size, anchor, message))
    return injections


def injected_copy(sample: Sample, injection: Injection, rng: random.Random) -> tuple[list[str], list[int]]:
    """The log with the copies after the anchor line, and their 1-based line numbers."""
    header = header_of(sample.lines[injection.anchor], sample.contents[injection.anchor])
    assert header is not None
    copies = []
    for n in range(injection.size):
        offset = n * 300 // injection.size  # spread over five minutes
        if injection.kind == "new":
            text = injection.message.format(a=rng.randint(1, 9999), b=rng.randint(1, 999))
        else:
            text = vary_numbers(injection.message, rng)
        copies.append(move_clock(header, offset, injection.system) + text)
    lines = sample.lines[: injection.anchor + 1] + copies + sample.lines[injection.anchor + 1:]
    first = injection.anchor + 2
    return lines, list(range(first, first + injection.size))


def injected_template(store: Store, line_numbers: list[int]) -> tuple[int, object, object]:
    """The template most injected lines were mined into, and their time span."""
    with store.session() as session:
        rows = session.execute(select(Event.template_id, Event.ts).where(Event.line_no.in_(line_numbers))).all()
        assert len(rows) == len(line_numbers), "every injected line is one event"
        template_id = Counter(row.template_id for row in rows).most_common(1)[0][0]
        first, last = session.execute(
            select(func.min(Event.ts), func.max(Event.ts)).where(Event.line_no.in_(line_numbers))
        ).one()
    return template_id, first, last


def rank_of(target: int, scores: dict[int, float]) -> int | None:
    ordered = sorted(scores, key=lambda template_id: (-scores[template_id], template_id))
    return ordered.index(target) + 1 if target in ordered else None


def alternative_ranks(store: Store, report: dict, target: int) -> tuple[int | None, int | None, int | None]:
    window, baseline = report["window"], report["baseline"]
    if not baseline["seconds"]:
        return None, None, None
    with store.session() as session:
        now = anomalies_repo.template_counts(session, EventFilter(), window["since"], window["until"])
        then = anomalies_repo.template_counts(session, EventFilter(), baseline["since"], baseline["until"])
    increase, ratio, llr = {}, {}, {}
    for template_id in now.keys() | then.keys():
        w = now[template_id].count if template_id in now else 0
        b = then[template_id].count if template_id in then else 0
        increase[template_id] = count_increase(w, b, window["seconds"], baseline["seconds"])
        expected = b * window["seconds"] / baseline["seconds"]
        ratio[template_id] = (w + 1) / (expected + 1)
        llr[template_id] = change_score(w, b, window["seconds"], baseline["seconds"])
    return rank_of(target, llr), rank_of(target, increase), rank_of(target, ratio)


def run_one(sample: Sample, injection: Injection, rng: random.Random, work: Path) -> dict:
    lines, line_numbers = injected_copy(sample, injection, rng)
    data = work / "data"
    data.mkdir()
    log = work / f"{injection.system}.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = load_settings(data_dir=data, database={"url": f"sqlite:///{data / 'logchat.db'}"})
    store = open_store(settings.database_url)
    try:
        report = index_inputs(store, settings, [str(log)])
        assert not report.failed, report.to_dict()
        target, first, last = injected_template(store, line_numbers)
        hour = first.replace(minute=0, second=0, microsecond=0)
        started = time.perf_counter()
        found = find_anomalies(store, AnomalyQuery(since=hour, until=hour + timedelta(hours=1), top=1000))
        seconds = time.perf_counter() - started
        listed = [row["template_id"] for row in found["templates"]]
        logchat_rank = listed.index(target) + 1 if target in listed else None
        kind = next((row["kind"] for row in found["templates"] if row["template_id"] == target), "-")
        llr_rank, increase_rank, ratio_rank = alternative_ranks(store, found, target)
    finally:
        store.close()
    return {"window": hour, "baseline_hours": found["baseline"]["seconds"] / 3600, "kind_found": kind,
            "logchat": logchat_rank, "llr": llr_rank, "increase": increase_rank, "ratio": ratio_rank,
            "seconds": seconds, "spread": (last - first).total_seconds()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--injections", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    samples = {system: load(system) for system in SYSTEMS}
    times = {}
    for system, sample in samples.items():
        with tempfile.TemporaryDirectory(prefix="bench-anomalies-") as work:
            times[system] = line_times(system, sample, Path(work))
    injections = plan(rng, samples, times, args.injections)
    print(f"{'#':>2} {'system':<10} {'kind':<4} {'N':>3} {'window (UTC)':<16} {'base h':>6} {'found':<5} "
          f"{'stat':>4} {'llr':>4} {'incr':>4} {'ratio':>5}  message")
    results = []
    started = time.perf_counter()
    for number, injection in enumerate(injections, 1):
        with tempfile.TemporaryDirectory(prefix="bench-anomalies-") as work:
            result = run_one(samples[injection.system], injection, rng, Path(work))
        results.append(result)

        def shown(rank: int | None) -> str:
            return str(rank) if rank is not None else "-"

        print(f"{number:>2} {injection.system:<10} {injection.kind:<4} {injection.size:>3} "
              f"{result['window']:%Y-%m-%d %H:%M} {result['baseline_hours']:>6.1f} {result['kind_found']:<5} "
              f"{shown(result['logchat']):>4} {shown(result['llr']):>4} {shown(result['increase']):>4} "
              f"{shown(result['ratio']):>5}  "
              f"{injection.message[:60]}")
    total = len(results)
    print()
    print(f"{'ranking':<34} {'precision@1':>11} {'in top 3':>8} {'mean reciprocal rank':>21}")
    for key, label in (("logchat", "stat --anomalies (sure fold change)"), ("llr", "signed root LLR"),
                       ("increase", "raw count increase"), ("ratio", "smoothed rate ratio (w+1)/(e+1)")):
        first = sum(result[key] == 1 for result in results)
        top3 = sum(result[key] is not None and result[key] <= 3 for result in results)
        mrr = sum(1 / result[key] for result in results if result[key]) / total
        print(f"{label:<34} {first:>5}/{total:<5} {top3:>4}/{total:<3} {mrr:>21.2f}")
    slowest = max(result["seconds"] for result in results)
    print(f"\nanomaly query: slowest {slowest * 1000:.0f} ms; whole run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
