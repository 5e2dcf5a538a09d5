"""Cost of reading fields at ingest: CPU time per event of the reader stage (parse, join, mask, templates,
fields, rows) on the generated corpora of bench_ingest, in this checkout and in a baseline checkout
(for instance one without fields), best of several runs, as a table.

    python benchmarks/bench_fields.py --baseline /path/to/other/checkout [--lines 200000] [--runs 3] [--off]

Fields are read with `ingest.fields` on; `--off` measures this checkout with it off (the default
setting), which should cost what a checkout without fields costs.

CPU time (not wall time) of the measuring process, so a busy machine disturbs the figures less.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout to compare with")
    parser.add_argument("--lines", type=int, default=200_000, help="lines of the generated corpus")
    parser.add_argument("--fallback-lines", type=int, default=100_000, help="lines of the fallback corpus")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, help="generate the corpora here (and keep them)")
    parser.add_argument("--off", action="store_true", help="measure this checkout with ingest.fields off")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_ingest import generate_corpus, generate_fallback_corpus

    with tempfile.TemporaryDirectory() as scratch:
        work = args.data or Path(scratch)
        (work / "generated").mkdir(parents=True, exist_ok=True)
        (work / "fallback").mkdir(exist_ok=True)
        generated = sorted((work / "generated").iterdir()) or generate_corpus(work / "generated", args.lines)
        fallback = sorted((work / "fallback").iterdir()) or generate_fallback_corpus(work / "fallback",
                                                                                      args.fallback_lines)
        paths = [*generated, *fallback]
        baseline = in_checkout(args.baseline.resolve(), paths, args.runs)
        current = in_checkout(ROOT, paths, args.runs, fields=not args.off)
    print(f"fields {'off' if args.off else 'on'} in this checkout")
    print(f"{'file':<18} {'baseline µs/event':>18} {'this µs/event':>14} {'change':>8}")
    for group, members in (("generated", generated), ("fallback", fallback)):
        total_base = total_now = 0.0
        for path in members:
            base, now = baseline[path.name], current[path.name]
            total_base, total_now = total_base + base, total_now + now
            print(f"{path.name:<18} {base:>18.2f} {now:>14.2f} {now / base - 1:>+8.1%}")
        print(f"{'(' + group + ', mean)':<18} {total_base / len(members):>18.2f} {total_now / len(members):>14.2f} "
              f"{total_now / total_base - 1:>+8.1%}")


if __name__ == "__main__":
    main()
