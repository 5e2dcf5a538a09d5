"""`logchat stat` on a 1M-line store, whole command (start-up included), against the sqlite3 CLI.

Builds bench_ingest.py's generated corpus into a store once (kept with --keep DIR and reused), then
runs each command --runs times and prints min/median wall time and the min CPU time (user+sys, which
a busy machine inflates less than wall time):

- `logchat stat --json` and `logchat stat` (a current SQLite store is read through plain sqlite3),
- `logchat stat --json` through SQLAlchemy (a URL with an option takes the ordinary path: what every
  `stat` did before),
- a filtered `stat` (level + a window with partial edge hours, which count events themselves),
- the obvious alternative: the `sqlite3` CLI running the same GROUP BY queries over the rollup,
- `logchat --help`, the floor of any logchat command.

Bytecode is written and used (PYTHONDONTWRITEBYTECODE is dropped for the runs), as for an installed package;
each command's warm-up run writes what is missing.

    python benchmarks/bench_stat.py [--lines 1000000] [--runs 10] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import LOGCHAT, ROOT, generate_corpus, run_index

# The rollup queries `stat` runs, as someone would type them into the sqlite3 shell.
SQLITE_QUERIES = """
SELECT sum(count), min(first_ts), max(last_ts) FROM event_rollup;
SELECT level, sum(count) AS n FROM event_rollup GROUP BY level ORDER BY n DESC;
SELECT s.name, s.location, sum(r.count) AS n FROM event_rollup r JOIN sources s ON s.id = r.source_id
  GROUP BY r.source_id ORDER BY n DESC LIMIT 10;
SELECT host, sum(count) AS n FROM event_rollup GROUP BY host ORDER BY n DESC LIMIT 10;
SELECT process, sum(count) AS n FROM event_rollup GROUP BY process ORDER BY n DESC LIMIT 10;
SELECT (hour - (SELECT min(hour) FROM event_rollup WHERE hour >= 0)) / 10800000000 AS b, sum(count)
  FROM event_rollup WHERE hour >= 0 GROUP BY b;
SELECT r.template_id, sum(r.count) AS n, min(r.first_ts), max(r.last_ts), t.template FROM event_rollup r
  LEFT JOIN templates t ON t.id = r.template_id GROUP BY r.template_id ORDER BY n DESC LIMIT 10;
"""


def timed(command: list[str], env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user+sys of the child) seconds of each run, after one warm-up run."""
    walls, cpus = [], []
    for i in range(runs + 1):
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        if i:
            walls.append(wall)
            cpus.append(usage.ru_utime + usage.ru_stime)
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines in the generated corpus")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command (after one warm-up)")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the corpus and store here")
    args = parser.parse_args()
    if shutil.which("sqlite3") is None:
        raise SystemExit("the sqlite3 CLI is needed for the comparison (apt-get install sqlite3)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="logchat-bench-stat-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        store = work / "store"
        database = store / "logchat.db"
        if not database.exists():
            corpus_dir = work / "corpus"
            corpus_dir.mkdir(exist_ok=True)
            print(f"generating {args.lines:,} lines and indexing them into {store} ...", file=sys.stderr)
            run_index(generate_corpus(corpus_dir, args.lines), store)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        base = [*LOGCHAT, "--data-dir", str(store)]
        ordinary = [*LOGCHAT, "--database-url", f"sqlite:///{database}?timeout=10"]
        window = ["--level", "error", "--since", "2026-11-02 03:30", "--until", "2026-11-02 17:45"]
        commands = {
            "logchat stat --json": [*base, "stat", "--json"],
            "logchat stat (text)": [*base, "stat"],
            "logchat stat --json, filtered": [*base, "stat", "--json", *window],
            "same via SQLAlchemy (old path)": [*ordinary, "stat", "--json"],
            "same filtered via SQLAlchemy": [*ordinary, "stat", "--json", *window],
            "sqlite3 CLI, same GROUP BYs": ["sqlite3", str(database), SQLITE_QUERIES],
            "logchat --help": [*LOGCHAT, "--help"],
        }
        events = subprocess.run(["sqlite3", str(database), "SELECT sum(count) FROM event_rollup"],
                                capture_output=True, text=True, check=True).stdout.strip()
        rows = []
        for label, command in commands.items():
            walls, cpus = timed(command, env, args.runs)
            rows.append((label, min(walls), statistics.median(walls), min(cpus), statistics.median(cpus)))
            print(f"  {label}: min {min(walls):.3f}s", file=sys.stderr)
        print(f"\n`stat` on {int(events):,} events ({database.stat().st_size / 1e6:.0f} MB), {args.runs} runs each\n")
        header = (f"{'command':<32} {'wall min s':>10} {'wall med s':>10} {'cpu min s':>9} {'cpu med s':>9} "
                  f"{'vs sqlite3':>10}")
        print(header)
        print("-" * len(header))
        sqlite_cpu = next(row[3] for row in rows if row[0].startswith("sqlite3"))
        for label, wall_min, wall_med, cpu_min, cpu_med in rows:
            print(f"{label:<32} {wall_min:>10.3f} {wall_med:>10.3f} {cpu_min:>9.3f} {cpu_med:>9.3f} "
                  f"{cpu_min / sqlite_cpu:>9.1f}x")
        print("\ncpu = user+sys of the command; 'vs sqlite3': its min cpu over the sqlite3 CLI's. On a shared, busy")
        print("machine wall time waits for a core; cpu time is what the command itself costs.")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
