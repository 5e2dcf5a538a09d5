"""Cost of reading fields at ingest, fields off against on, in this checkout and in a baseline checkout.

    python benchmarks/bench_fields.py --baseline /path/to/other/checkout [--lines 200000] [--runs 3] [--whole]
        [--corpora generated,files,fallback,loghub] [--no-reader-stage]

The reader stage (parse, join, mask, templates, fields, rows: what the reader process does) in CPU time
per event, best of ``--runs``, on the generated corpora of bench_ingest; checkouts and settings take turns
so that a busy machine disturbs them alike. ``--whole`` also runs the whole `logchat index` command (the
reader process and the writer, start-up included) over each generated corpus, CPU seconds of both
processes, median of ``--runs``, and its wall time (the throughput), best of ``--runs``: the cost that the 10%
budget of fields is about. Each round runs a checkout's fields-off and fields-on commands one after the other,
and the cost of fields in each round is printed too (median and range): on a machine whose speed drifts, it
varies less than the best runs' ratio. ``--corpora`` chooses
what it indexes: the generated corpus, each of its files alone (``files``: which file bears the cost), the
fallback corpus and the loghub mix (every loghub log and the full logs, ``../shared/datasets/loghub*/*/*.log``:
many systems, many templates, most of them generalising in their first batch). ``--no-reader-stage`` times the
whole command only.

CPU time (not wall time) of the measured processes, so a busy machine disturbs the figures less.

``--instructions`` counts instead the instructions of the reader stage under valgrind's callgrind, fields off
and on, over the first ``--instruction-lines`` lines of each generated file (start-up subtracted): the same
count on every run and on a machine whose speed changes from one second to the next, where neither wall nor
CPU time can tell a few per cent. It needs ``valgrind`` and takes about a minute per run (two at a time).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"


def loghub_mix(datasets: Path = DATASETS) -> list[Path]:
    """Every loghub log: the 2,000-line samples of 16 systems and the full Linux and Proxifier logs."""
    return sorted(datasets.glob("loghub/*/*.log")) + sorted(datasets.glob("loghub_full/*/*.log"))


def reader_cpu(path: Path, fields: bool = True) -> tuple[float, int]:
    """CPU seconds and events of producing every batch of ``path`` (no store)."""
    from logchat.ingest.detect import detect_format
    from logchat.ingest.formats import make_parser
    from logchat.ingest.pipeline import BatchPlan, produce_batches
    from logchat.ingest.sources import LineReader, sample_lines
    from logchat.ingest.templates import TemplateMiner
    from logchat.ingest.timestamps import TimeContext

    with path.open("rb") as handle:
        fmt = detect_format(sample_lines(handle.read(8192)))
        handle.seek(0)
        parser = make_parser(fmt, TimeContext())
        reader = LineReader(handle, start_line=0, start_offset=0, max_line_bytes=65536)
        plan = BatchPlan(source_id=1, generation=0, first_id=1, batch_size=5000, multiline=True)
        if hasattr(plan, "fields"):  # a checkout without the setting reads fields always or never
            plan.fields = fields
        events = 0
        started = time.process_time()
        for batch in produce_batches(reader, parser, TemplateMiner(), plan):
            events += len(batch.rows)
        return time.process_time() - started, events


def measure(paths: list[Path], runs: int, fields: bool = True) -> dict[str, float]:
    """{file name: best µs per event}."""
    best: dict[str, float] = {}
    for _ in range(runs):
        for path in paths:
            seconds, events = reader_cpu(path, fields)
            per_event = seconds / max(events, 1) * 1e6
            best[path.name] = min(best.get(path.name, per_event), per_event)
    return best


def in_checkout(checkout: Path, paths: list[Path], runs: int, fields: bool = True) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); from bench_fields import measure; "
            "from pathlib import Path; print(json.dumps(measure([Path(p) for p in sys.argv[4:]], int(sys.argv[2]), "
            "sys.argv[3] == 'on')))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "benchmarks"), str(runs), "on" if fields else "off",
                          *map(str, paths)],
                         env=env, check=True, capture_output=True, text=True, cwd=checkout)
    return json.loads(out.stdout)


def reader_instructions(checkout: Path, path: Path, fields: bool) -> int:
    """Instructions that callgrind counts for the reader stage of ``path`` in ``checkout`` (reader_cpu), with
    the collector's young generation as large as during ingest; start-up included."""
    code = ("import gc, sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; import bench_fields; "
            "gc.set_threshold(200_000, *gc.get_threshold()[1:]); "
            "bench_fields.reader_cpu(Path(sys.argv[2]), sys.argv[3] == 'on')")
    # One hash seed: dictionaries and sets then hold their keys in the same order on every run.
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONHASHSEED": "0"}
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c",
                          code, str(ROOT / "benchmarks"), str(path), "on" if fields else "off"],
                         env=env, check=True, capture_output=True, text=True, cwd=checkout)
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise SystemExit(f"callgrind gave no count: {out.stderr[-2000:]}")
    return int(found.group(1))


def instructions(checkouts: dict[str, Path], files: list[Path], lines: int, work: Path) -> None:
    """Print the reader stage's instructions per line, fields off and on, for the first ``lines`` lines of each
    of ``files`` in each checkout: what an empty file costs (start-up) is subtracted."""
    from concurrent.futures import ThreadPoolExecutor

    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    samples = []
    (work / "instructions").mkdir(exist_ok=True)
    for path in files:
        sample = work / "instructions" / path.name
        with path.open("rb") as source, sample.open("wb") as head:
            head.writelines(itertools.islice(source, lines))
        samples.append(sample)
    empty = work / "instructions" / "empty.log"
    empty.touch()
    jobs = [(label, path, fields) for label in checkouts for path in [empty, *samples] for fields in (False, True)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counted = dict(zip(jobs, pool.map(lambda job: reader_instructions(checkouts[job[0]], job[1], job[2]), jobs),
                           strict=True))
    print(f"reader stage, instructions per line (callgrind), first {lines:,} lines of each file")
    print(f"{'file':<18} {'base off':>9} {'base on':>9} {'cost':>7}   {'this off':>9} {'this on':>9} {'cost':>7}")
    for sample in samples:
        row = {(label, fields): (counted[(label, sample, fields)] - counted[(label, empty, fields)]) / lines
               for label in checkouts for fields in (False, True)}
        print(f"{sample.name:<18} {_row(row, '.0f')}")


def index_cpu(checkout: Path, paths: list[Path], fields: bool) -> tuple[float, float]:
    """CPU seconds of one `logchat index` of ``paths`` into a new store (the command and its reader process), and
    its wall seconds."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "LOGCHAT_INGEST__FIELDS": "true" if fields else "false"}
    store = Path(tempfile.mkdtemp(prefix="bench-fields-"))
    started = time.perf_counter()
    try:
        with tempfile.TemporaryFile() as err:
            process = subprocess.Popen([sys.executable, "-m", "logchat", "--quiet", "--data-dir", str(store), "index",
                                        *map(str, paths)], env=env, cwd=checkout, stdout=subprocess.DEVNULL,
                                       stderr=err)
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
            if os.waitstatus_to_exitcode(status) != 0:
                err.seek(0)
                raise SystemExit(f"logchat index failed in {checkout}: {err.read().decode()[-2000:]}")
    finally:
        shutil.rmtree(store, ignore_errors=True)
    return usage.ru_utime + usage.ru_stime, wall


def _cost(off: float, on: float) -> str:
    return f"{on / off - 1:+.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout to compare with")
    parser.add_argument("--lines", type=int, default=200_000, help="lines of the generated corpus")
    parser.add_argument("--fallback-lines", type=int, default=100_000, help="lines of the fallback corpus")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, help="generate the corpora here (and keep them)")
    parser.add_argument("--whole", action="store_true", help="also time the whole `logchat index` command")
    parser.add_argument("--corpora", default="generated,fallback",
                        help="with --whole: what to index, of generated, files (each generated file alone), "
                             "fallback and loghub (comma-separated)")
    parser.add_argument("--no-reader-stage", action="store_true", help="time the whole command only")
    parser.add_argument("--instructions", action="store_true",
                        help="count the reader stage's instructions under callgrind instead of timing")
    parser.add_argument("--instruction-lines", type=int, default=40_000,
                        help="with --instructions: lines of each generated file")
    args = parser.parse_args()
    if args.no_reader_stage:
        args.whole = True
    corpora = args.corpora.split(",")
    unknown = set(corpora) - {"generated", "files", "fallback", "loghub"}
    if unknown:
        raise SystemExit(f"unknown corpus {sorted(unknown)[0]!r}: use generated, files, fallback or loghub")
    mix = loghub_mix() if "loghub" in corpora else []
    if "loghub" in corpora and not mix:
        raise SystemExit(f"no loghub logs under {DATASETS}")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_ingest import generate_corpus, generate_fallback_corpus

    with tempfile.TemporaryDirectory() as scratch:
        work = args.data or Path(scratch)
        (work / "generated").mkdir(parents=True, exist_ok=True)
        (work / "fallback").mkdir(exist_ok=True)
        generated = sorted((work / "generated").iterdir()) or generate_corpus(work / "generated", args.lines)
        checkouts = {"baseline": args.baseline.resolve(), "this": ROOT}
        if args.instructions:  # the generated files only: the fallback corpus is not made
            print(f"baseline: {checkouts['baseline']}")
            instructions(checkouts, generated, args.instruction_lines, work)
            return
        fallback = sorted((work / "fallback").iterdir()) or generate_fallback_corpus(work / "fallback",
                                                                                      args.fallback_lines)
        paths = [*generated, *fallback]
        # {(checkout, fields on): {file: best µs per event}}, checkouts and settings taking turns.
        best: dict[tuple[str, bool], dict[str, float]] = {}
        whole: dict[str, dict[tuple[str, bool], list[float]]] = {}
        walls: dict[str, dict[tuple[str, bool], list[float]]] = {}
        groups = [(name, members) for name, members in (("generated", generated), ("fallback", fallback),
                                                        ("loghub", mix)) if name in corpora]
        if "files" in corpora:  # where the cost lies: each file of the generated corpus indexed alone
            groups += [(path.name, [path]) for path in generated]
        for _ in range(args.runs):
            for label, checkout in checkouts.items():
                for fields in (False, True):
                    if not args.no_reader_stage:
                        found = in_checkout(checkout, paths, 1, fields)
                        kept = best.setdefault((label, fields), found)
                        for name, value in found.items():
                            kept[name] = min(kept[name], value)
                    for group, members in groups if args.whole else ():
                        seconds, wall = index_cpu(checkout, members, fields)
                        whole.setdefault(group, {}).setdefault((label, fields), []).append(seconds)
                        walls.setdefault(group, {}).setdefault((label, fields), []).append(wall)
        print(f"baseline: {checkouts['baseline']}")
        if whole:
            print(f"whole `logchat index` of each corpus, CPU s (command and reader process), median of {args.runs}")
            print(f"{'corpus':<18} {'base off':>9} {'base on':>9} {'cost':>7}   {'this off':>9} {'this on':>9} "
                  f"{'cost':>7}")
            for group, runs in whole.items():
                print(f"{group:<18} {_row({key: statistics.median(values) for key, values in runs.items()})}")
            # What a user waits for: with two cores, reading fields may cost less time than CPU, as long as it
            # falls on the process that waits for the other.
            print(f"\nthe same commands, wall s (the throughput), best of {args.runs}")
            for group, runs in walls.items():
                print(f"{group:<18} {_row({key: min(values) for key, values in runs.items()})}")
            # On a machine whose speed drifts (other machines sharing its host), runs far apart differ by more than
            # fields cost; each round runs a checkout's fields-off and fields-on commands one after the other.
            print(f"\nthe cost of fields in wall time, round by round (on against the off run just before it): "
                  f"median and range of {args.runs}")
            print(f"{'corpus':<18} {'base':>22}   {'this':>22}")
            for group, runs in walls.items():
                print(f"{group:<18} {_round_costs(runs, 'baseline'):>22}   {_round_costs(runs, 'this'):>22}")
            print()
        if args.no_reader_stage:
            return
        print(f"reader stage, CPU µs per event, best of {args.runs}")
        print(f"{'file':<18} {'base off':>9} {'base on':>9} {'cost':>7}   {'this off':>9} {'this on':>9} {'cost':>7}")
        for group, members in (("generated", generated), ("fallback", fallback)):
            totals = {key: 0.0 for key in best}
            for path in members:
                row = {key: best[key][path.name] for key in best}
                for key, value in row.items():
                    totals[key] += value
                print(f"{path.name:<18} {_row(row)}")
            print(f"{'(' + group + ', mean)':<18} {_row({key: total / len(members) for key, total in totals.items()})}")


def _round_costs(runs: dict[tuple[str, bool], list[float]], label: str) -> str:
    costs = sorted(on / off - 1 for off, on in zip(runs[(label, False)], runs[(label, True)], strict=True))
    return f"{statistics.median(costs):+.1%} ({costs[0]:+.1%}..{costs[-1]:+.1%})"


def _row(values: dict[tuple[str, bool], float], spec: str = ".2f") -> str:
    base_off, base_on = values[("baseline", False)], values[("baseline", True)]
    this_off, this_on = values[("this", False)], values[("this", True)]
    return (f"{base_off:>9{spec}} {base_on:>9{spec}} {_cost(base_off, base_on):>7}   "
            f"{this_off:>9{spec}} {this_on:>9{spec}} {_cost(this_off, this_on):>7}")


if __name__ == "__main__":
    main()
