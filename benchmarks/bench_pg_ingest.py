"""PostgreSQL ingest benchmark: `logchat index` of bench_ingest.py's generated corpus into PostgreSQL with the
full-text vectors built by ingest (now) and by the server's trigger (LOGCHAT_PG_SEARCH=server, what every
event cost before), and, with ``--before DIR``, by another checkout of logchat (its code on PYTHONPATH, e.g.
one where the vector was still a generated column), beside SQLite and `grep -c` on the same files, in one run.

Each measurement is a fresh store (a new schema on PostgreSQL, a new data directory on SQLite); the runs
of one corpus are interleaved and the best of ``--repeat`` is printed. Beside wall time, the CPU seconds of
the logchat process (reader process included) and of the PostgreSQL server processes serving it, which
say more than wall time on a busy machine.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_pg_ingest.py \\
        --url postgresql+psycopg://postgres@127.0.0.1:5432/bench [--lines 400000 1000000] [--repeat 3] \\
        [--before /path/to/other/checkout] [--no-sqlite] [--no-trigger]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import LOGCHAT, generate_corpus, grep_count, line_count

TICKS = os.sysconf("SC_CLK_TCK")
SERVER_BUILT = "pg vectors by server"
CLIENT_BUILT = "pg vectors by ingest"


@dataclass
class Run:
    wall: float
    ingest: float  # the ingest itself, as `index --json` reports it
    client_cpu: float
    server_cpu: float | None
    events: int


class ServerCpu:
    """CPU seconds of the PostgreSQL backends whose application_name is ``tag``, found in pg_stat_activity and
    read from /proc while they live (server and benchmark on one machine). Loses at most the last sampling
    interval of each backend; other clients of the same server are not counted."""

    def __init__(self, url: str, tag: str) -> None:
        self.url, self.tag = url, tag
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ServerCpu:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        import psycopg

        with psycopg.connect(self.url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as db:
            while not self._stop.wait(0.1):
                pids = [
                    row[0]
                    for row in db.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", (self.tag,))
                ]
                for pid in pids:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    self.seen[pid] = (int(fields[11]) + int(fields[12])) / TICKS

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())


def _environment(changes: dict[str, str]) -> dict[str, str]:
    """This process's environment with ``changes``, PYTHONPATH made absolute (the runs start elsewhere)."""
    environment = {**os.environ, **changes}
    if environment.get("PYTHONPATH"):
        paths = environment["PYTHONPATH"].split(os.pathsep)
        environment["PYTHONPATH"] = os.pathsep.join(str(Path(path).resolve()) for path in paths)
    return environment


def index_once(files: list[Path], data_dir: Path, url: str | None, env: dict[str, str]) -> Run:
    command = [*LOGCHAT, "--quiet", "--data-dir", str(data_dir)]
    if url:
        command += ["--database-url", url]
    command += ["index", "--json", *map(str, files)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        # Not in the current directory: `python -m` would import logchat from there before PYTHONPATH.
        process = subprocess.Popen(command, stdout=out, stderr=err, env=_environment(env), cwd=data_dir.parent)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"logchat index failed: {err.read().decode()[-2000:]}")
        out.seek(0)
        summary = json.loads(out.read())
    # wait4's usage covers the process and its reader process (a waited-for child).
    return Run(wall, summary["elapsed_seconds"], usage.ru_utime + usage.ru_stime, None, summary["new_events"])


def _cpu(run: Run) -> float:
    return run.client_cpu + (run.server_cpu or 0)


def run_postgresql(files: list[Path], work: Path, url: str, env: dict[str, str]) -> Run:
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        with ServerCpu(url, schema) as server:
            run = index_once(
                files, work / schema, f"{url}{separator}options=-csearch_path%3D{schema}&application_name={schema}", env
            )
        run.server_cpu = server.seconds
        return run
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        shutil.rmtree(work / schema, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="a PostgreSQL URL; each run makes and drops a schema there")
    parser.add_argument("--lines", type=int, nargs="+", default=[400_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each path, interleaved; the best is shown")
    parser.add_argument("--before", type=Path, help="another logchat checkout, measured as the 'before' path")
    parser.add_argument("--no-sqlite", action="store_true", help="leave out the SQLite runs")
    parser.add_argument("--no-trigger", action="store_true", help="leave out the runs with vectors by the server")
    args = parser.parse_args()
    paths: dict[str, dict[str, str]] = {} if args.no_sqlite else {"sqlite": {}}
    if args.before:
        paths[f"pg {args.before.name} (before)"] = {"PYTHONPATH": str(args.before.resolve())}
    if not args.no_trigger:
        paths[SERVER_BUILT] = {"LOGCHAT_PG_SEARCH": "server"}
    paths[CLIENT_BUILT] = {}
    work = Path(tempfile.mkdtemp(prefix="logchat-bench-pg-"))
    table = []
    try:
        for lines in args.lines:
            corpus = work / f"corpus-{lines}"
            corpus.mkdir()
            files = generate_corpus(corpus, lines)
            physical = line_count(files)
            best: dict[str, Run] = {}
            for attempt in range(args.repeat):
                for label, env in paths.items():
                    if label == "sqlite":
                        data_dir = work / f"sqlite-{lines}-{attempt}"
                        run = index_once(files, data_dir, None, env)
                        shutil.rmtree(data_dir, ignore_errors=True)
                    else:
                        run = run_postgresql(files, work, args.url, env)
                    print(
                        f"  {physical:,} lines, {label}, run {attempt + 1}: {run.wall:.2f} s wall, "
                        f"{run.client_cpu:.2f} s logchat CPU, {run.server_cpu or 0:.2f} s server CPU",
                        file=sys.stderr,
                    )
                    if label not in best or _cpu(run) < _cpu(best[label]):
                        best[label] = run
            grep = min(grep_count(files) for _ in range(3))
            table.append((physical, best, grep))
            shutil.rmtree(corpus, ignore_errors=True)
        print()
        header = (
            f"{'lines':>10} {'store / path':<28} {'wall s':>7} {'lines/s':>9} {'ingest/s':>9} "
            f"{'logchat CPU s':>13} {'server CPU s':>12} {'server us/line':>14} {'grep -c s':>9} {'vs grep':>8}"
        )
        print(header)
        print("-" * len(header))
        for physical, best, grep in table:
            for label, run in best.items():
                server = (
                    f"{run.server_cpu:>12.2f} {run.server_cpu / physical * 1e6:>14.1f}"
                    if run.server_cpu is not None
                    else f"{'-':>12} {'-':>14}"
                )
                print(
                    f"{physical:>10,} {label:<28} {run.wall:>7.2f} {physical / run.wall:>9,.0f} "
                    f"{physical / run.ingest:>9,.0f} {run.client_cpu:>13.2f} {server} {grep:>9.3f} "
                    f"{run.wall / grep:>7.0f}x"
                )
            after = best[CLIENT_BUILT]
            for label, before in best.items():
                if label.startswith("pg ") and label != CLIENT_BUILT:
                    print(
                        f"{'':>10} {'vs ' + label:<28} {before.wall / after.wall:>6.2f}x faster wall; logchat CPU "
                        f"{after.client_cpu / before.client_cpu:.2f}, server CPU "
                        f"{(after.server_cpu or 0) / (before.server_cpu or 1):.2f} of it"
                    )
        print("\n'lines/s': the whole `logchat index` command (start-up, migrations, vector update included);")
        print("'ingest/s': the ingest alone as `index --json` reports it. CPU: the logchat process with its reader")
        print("process, and the PostgreSQL backends serving it. 'vs grep': times longer than `grep -c ERROR`.")
        print("Best run: the one with the least CPU (logchat + server), which a busy machine disturbs least.")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
