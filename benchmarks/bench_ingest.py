"""Ingest benchmark: `logchat index` end to end against `grep -c` and plain Drain3 on the same input.

Prints a table of lines/s and MB/s on (a) all 16 loghub 2k files, (b) the full Linux and Proxifier
logs, (c) a generated 1,000,000-line corpus in four formats (syslog, nginx access, Java with stack
traces, JSON lines), with peak memory and the share of time spent in parse / templates / store.
Also: on how many loghub systems timestamps parse, template grouping accuracy against loghub's
ground truth, `logchat stat` on the 1M-event store and `logchat --help`.

    python benchmarks/bench_ingest.py [--lines 1000000] [--keep DIR]
    python benchmarks/bench_ingest.py --baseline /path/to/other/checkout [--repeat 3] [--compare-only]

With --baseline, the generated corpus is first indexed by the other checkout and by this one in turn,
and a before/after table prints the best whole-command, ingest-only and vector-update times, the peak
RSS and the CPU seconds of each: of the whole command, of its own process (the writer) and of its reader
processes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
LOGHUB = DATASETS / "loghub"
SYSTEMS = ["Android", "Apache", "BGL", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux", "Mac", "OpenSSH",
           "OpenStack", "Proxifier", "Spark", "Thunderbird", "Windows", "Zookeeper"]
LOGCHAT = [sys.executable, "-m", "logchat"]


# -- input generation ---------------------------------------------------------------------------

def generate_corpus(directory: Path, total_lines: int) -> list[Path]:
    """Four files in four formats; about a tenth of the Java lines are stack-trace continuations."""
    rng = random.Random(7)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    shares = {"syslog.log": 0.35, "access.log": 0.30, "service.log": 0.20, "app.jsonl": 0.15}
    users = ["root", "admin", "deploy", "oracle", "jdoe", "test"]
    paths = []
    for name, share in shares.items():
        lines = int(total_lines * share)
        path = directory / name
        written = 0
        with path.open("w") as out:
            i = 0
            while written < lines:
                t = start + timedelta(milliseconds=i * 700 + rng.randint(0, 600))
                i += 1
                r = rng.random()
                if name == "syslog.log":
                    host = f"web-{i % 8:02d}"
                    if r < 0.4:
                        ip = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
                        msg = (f"sshd[{20000 + i % 9000}]: Failed password for {rng.choice(users)} from {ip}"
                               f" port {rng.randint(1024, 65535)} ssh2")
                    elif r < 0.7:
                        msg = f"CRON[{i % 30000}]: pam_unix(cron:session): session opened for user root by (uid=0)"
                    elif r < 0.9:
                        msg = f"kernel: [{i}.{i % 1000:03d}] eth0: link up, speed {rng.choice([100, 1000])} Mbps"
                    else:
                        msg = f"systemd[1]: Started Session {i % 900} of User {rng.choice(users)}."
                    out.write(f"{t:%b} {t.day:2d} {t:%H:%M:%S} {host} {msg}\n")
                    written += 1
                elif name == "access.log":
                    status = 200 if r < 0.9 else rng.choice([404, 500, 502, 503])
                    out.write(
                        f"198.51.{rng.randint(0, 255)}.{rng.randint(1, 254)} - - [{t:%d/%b/%Y:%H:%M:%S} +0000] "
                        f"\"{rng.choice(['GET', 'POST'])} /api/v1/{rng.choice(['orders', 'users', 'pay'])}/"
                        f"{rng.randint(1, 99999)} HTTP/1.1\" {status} {rng.randint(100, 9000)} \"-\" \"curl/8.5.0\"\n"
                    )
                    written += 1
                elif name == "service.log":
                    stamp = f"{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d}"
                    if r < 0.93:
                        out.write(f"{stamp} INFO  [exec-{i % 16}] com.example.Orders: order {rng.randint(1, 10**6)} "
                                  f"placed in {rng.randint(2, 900)} ms\n")
                        written += 1
                    else:
                        out.write(f"{stamp} ERROR [exec-{i % 16}] com.example.Orders: payment failed for order "
                                  f"{rng.randint(1, 10**6)}\njava.net.SocketTimeoutException: Read timed out\n"
                                  "\tat com.example.Gateway.charge(Gateway.java:118)\n"
                                  "\tat com.example.Orders.place(Orders.java:64)\n\t... 12 more\n")
                        written += 5
                else:
                    level = "info" if r < 0.85 else rng.choice(["warning", "error"])
                    out.write(json.dumps({"time": t.isoformat().replace("+00:00", "Z"), "level": level,
                                          "msg": rng.choice(["cache refreshed", "user signed in", "job done"]),
                                          "user_id": rng.randint(1, 5000)}) + "\n")
                    written += 1
        paths.append(path)
    return paths


def generate_fallback_corpus(directory: Path, total_lines: int) -> list[Path]:
    """Files of no named format, as the fallback parser sees them: NATS, Redis and MariaDB logs, Mosquitto's
    epoch seconds and a PHP error log whose stack traces are continuation lines."""
    rng = random.Random(11)
    start = datetime(2026, 11, 1, tzinfo=UTC)

    def line(name: str, t: datetime, i: int) -> str:
        if name == "nats-server.log":
            level = rng.choice(["INF", "INF", "WRN", "ERR"])
            return (f"[2961] {t:%Y/%m/%d %H:%M:%S}.{t.microsecond:06d} [{level}] 10.0.{i % 200}.7:{40000 + i % 9000}"
                    f" - cid:{i % 300} - Client connection closed: {rng.choice(['EOF', 'Stale'])}")
        if name == "redis.log":
            return (f"2222:M {t:%d %b %Y %H:%M:%S}.{t.microsecond // 1000:03d} {rng.choice('*#.-')} "
                    f"Background saving terminated with success, {i % 500} changes")
        if name == "mariadb.log":
            level = rng.choice(["Note", "Note", "Warning", "ERROR"])
            return (f"{t:%Y-%m-%d} {t.hour:2d}:{t:%M:%S} {i % 90} [{level}] Aborted connection {i} to db: 'shop' "
                    "user: 'app' host: 'localhost' (Got timeout reading communication packets)")
        if name == "mosquitto.log":
            return f"{int(t.timestamp())}: New client connected from 10.0.{i % 200}.9:{50000 + i % 9000} as a{i:05X}"
        stamp = f"[{t:%d-%b-%Y %H:%M:%S} UTC]"
        if i % 5:
            return f"{stamp} PHP Warning:  Undefined variable $user in /var/www/html/index.php on line {i % 90}"
        return (f"{stamp} PHP Fatal error:  Uncaught Exception: order {i} failed in /var/www/html/pay.php:12\n"
                "Stack trace:\n#0 /var/www/html/index.php(21): charge(Object(Order))\n#1 {main}\n"
                "  thrown in /var/www/html/pay.php on line 12")

    paths = []
    names = ("nats-server.log", "redis.log", "mariadb.log", "mosquitto.log", "php_error.log")
    for name in names:
        path = directory / name
        with path.open("w") as out:
            written = i = 0
            while written < total_lines // len(names):
                text = line(name, start + timedelta(milliseconds=137 * i), i)
                out.write(text + "\n")
                written += text.count("\n") + 1
                i += 1
        paths.append(path)
    return paths


def line_count(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with path.open("rb") as handle:
            total += sum(block.count(b"\n") for block in iter(lambda h=handle: h.read(1 << 20), b""))
    return total


# -- measurements -------------------------------------------------------------------------------

# Runs `logchat` in the interpreter that runs this, then writes the CPU seconds of the reader processes it
# forked (its children, counted apart from itself) to the file named first.
_CHILDREN_CPU_RUNNER = """
import resource, runpy, sys
report, sys.argv = sys.argv[1], ["logchat", *sys.argv[2:]]
try:
    runpy.run_module("logchat", run_name="__main__", alter_sys=True)
finally:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(report, "w") as out:
        out.write(repr(usage.ru_utime + usage.ru_stime))
"""


def run_index(paths: list[Path], data_dir: Path, checkout: Path | None = None) -> tuple[float, int, dict]:
    """Wall time, peak RSS (KiB) and the --json summary of one `logchat index` (of ``checkout``'s
    package when given, else of the installed one)."""
    elapsed, peak, summary, _ = run_index_measured(paths, data_dir, checkout)
    return elapsed, peak, summary


def run_index_measured(paths: list[Path], data_dir: Path,
                       checkout: Path | None = None) -> tuple[float, int, dict, tuple[float, float]]:
    """As run_index, plus (CPU seconds of the whole command, of the command's own process): the
    difference is its reader processes'."""
    env = None if checkout is None else {**os.environ, "PYTHONPATH": str(checkout)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".cpu") as readers:
        started = time.perf_counter()
        # Started in the checkout: Python puts the current directory first on the path, so another
        # directory's logchat would be run in its place.
        process = subprocess.Popen([sys.executable, "-c", _CHILDREN_CPU_RUNNER, readers.name, "--quiet", "--data-dir",
                                    str(data_dir.resolve()), "index", "--json", *(str(p.resolve()) for p in paths)],
                                   stdout=out, stderr=err, env=env, cwd=checkout)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"logchat index failed: {err.read().decode()[-2000:]}")
        out.seek(0)
        whole = usage.ru_utime + usage.ru_stime  # the command and the reader processes it waited for
        return elapsed, usage.ru_maxrss, json.loads(out.read()), (whole, whole - float(readers.read()))


def compare_checkouts(paths: list[Path], work: Path, baseline: Path, repeat: int) -> None:
    """`logchat index` of the same files by a baseline checkout and by this one, alternating, ``repeat``
    times each into a fresh store; prints the best of each column (whole command, ingest alone, vector
    update, peak RSS) and the median CPU seconds of the whole command, of its own process (the writer, with
    start-up and the vector update) and of its reader processes."""
    lines = line_count(paths)
    checkouts = {"baseline": baseline.resolve(), "this checkout": ROOT}
    runs: dict[str, list[tuple[float, float, float, int, float, float]]] = {label: [] for label in checkouts}
    for attempt in range(repeat):
        for label, checkout in checkouts.items():
            data_dir = work / f"compare-{attempt}-{label.replace(' ', '-')}"
            shutil.rmtree(data_dir, ignore_errors=True)
            elapsed, peak, summary, (cpu, own) = run_index_measured(paths, data_dir, checkout)
            vectors = (summary.get("vectors") or {}).get("elapsed_seconds") or 0.0
            runs[label].append((elapsed, summary["elapsed_seconds"], vectors, peak, cpu, own))
            shutil.rmtree(data_dir, ignore_errors=True)
            print(f"  {label} run {attempt + 1}: {lines / elapsed:,.0f} lines/s, CPU {cpu:.2f} s "
                  f"(writer {own:.2f}, reader {cpu - own:.2f})", file=sys.stderr)
    print(f"\nbefore/after on {lines:,} generated lines, {repeat} alternating runs each")
    header = (f"{'checkout':<15} {'command s':>9} {'lines/s':>9} {'ingest s':>8} {'ingest/s':>9} {'vectors s':>9} "
              f"{'peak MiB':>8} {'CPU s':>7} {'writer s':>8} {'reader s':>8} {'lines/CPU s':>11}")
    print(header)
    print("-" * len(header))
    for label, results in runs.items():
        whole = min(r[0] for r in results)
        inner = min(r[1] for r in results)
        cpu = statistics.median(r[4] for r in results)
        writer = statistics.median(r[5] for r in results)
        reader = statistics.median(r[4] - r[5] for r in results)
        print(f"{label:<15} {whole:>9.2f} {lines / whole:>9,.0f} {inner:>8.2f} {lines / inner:>9,.0f} "
              f"{min(r[2] for r in results):>9.2f} {max(r[3] for r in results) / 1024:>8.0f} "
              f"{cpu:>7.2f} {writer:>8.2f} {reader:>8.2f} {lines / max(writer, reader):>11,.0f}")
    print("(seconds and lines/s: the best run; peak MiB: the highest; CPU s: user + system of the command and its")
    print(" reader processes, median; writer s: of the command's own process (start-up and the vector update")
    print(" included), reader s: of its reader processes; lines/CPU s: lines per CPU second of the busier of")
    print(" the two, which bounds the command on two free cores)\n")


def run_timed(command: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss


def grep_count(paths: list[Path]) -> float:
    started = time.perf_counter()
    subprocess.run(["grep", "-c", "ERROR", *map(str, paths)], stdout=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def ini_masking():  # drain3's example drain3.ini masking, the usual way it is run
    from drain3.masking import MaskingInstruction

    return [
        MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))((?=[^A-Za-z0-9])|$)", "ID"),
        MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
        MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "SEQ"),
        MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "SEQ"),
        MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
        MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
        MaskingInstruction(r"(?<=executed cmd )(\".+?\")", "CMD"),
    ]


def plain_drain(paths: list[Path]) -> float:
    """Plain Drain3 TemplateMiner with its example masking over the same lines (no parsing, no store)."""
    from drain3 import TemplateMiner
    from drain3.template_miner_config import TemplateMinerConfig

    config = TemplateMinerConfig()
    config.masking_instructions = ini_masking()
    config.profiling_enabled = False
    miner = TemplateMiner(config=config)
    started = time.perf_counter()
    for path in paths:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                miner.add_log_message(line.rstrip("\n"))
    return time.perf_counter() - started


def stage_shares(paths: list[Path]) -> dict[str, float]:
    """Seconds in parse (read, detect, parse, join), templates (mask + Drain) and the rest (store)."""
    from logchat.ingest.detect import detect_format
    from logchat.ingest.formats import make_parser
    from logchat.ingest.multiline import join_events
    from logchat.ingest.sources import LineReader, sample_lines
    from logchat.ingest.templates import TemplateMiner
    from logchat.ingest.timestamps import TimeContext

    parse = templates = 0.0
    miner = TemplateMiner()
    for path in paths:
        with path.open("rb") as handle:
            fmt = detect_format(sample_lines(handle.read(8192)))
            handle.seek(0)
            parser = make_parser(fmt, TimeContext())
            started = time.perf_counter()
            messages = [e.message for e in join_events(
                LineReader(handle, start_line=0, start_offset=0, max_line_bytes=65536), parser)]
            parse += time.perf_counter() - started
        started = time.perf_counter()
        for message in messages:
            miner.assign(message)
        templates += time.perf_counter() - started
    return {"parse": parse, "templates": templates}


def grouping_accuracy(system: str) -> tuple[float, float] | None:
    """Loghub's grouping accuracy (a line counts when its predicted group equals its true group)
    for logchat's templates and for plain Drain3 on loghub's own Content column."""
    from drain3 import TemplateMiner as Drain3Miner
    from drain3.template_miner_config import TemplateMinerConfig

    from logchat.ingest.detect import detect_format
    from logchat.ingest.formats import make_parser
    from logchat.ingest.multiline import join_events
    from logchat.ingest.sources import LineReader, sample_lines
    from logchat.ingest.templates import TemplateMiner
    from logchat.ingest.timestamps import TimeContext

    log = LOGHUB / system / f"{system}_2k.log"
    structured = LOGHUB / system / f"{system}_2k.log_structured_corrected.csv"
    if not structured.exists():
        structured = LOGHUB / system / f"{system}_2k.log_structured.csv"
    with structured.open(encoding="utf-8", errors="replace") as handle:
        rows = list(csv.DictReader(handle))
    truth = {int(row["LineId"]): row["EventId"] for row in rows}
    miner = TemplateMiner()
    predicted: dict[int, int] = {}
    with log.open("rb") as handle:
        parser = make_parser(detect_format(sample_lines(handle.read(8192))), TimeContext())
        handle.seek(0)
        # Loghub labels every physical line, so compare line by line.
        for event in join_events(LineReader(handle, start_line=0, start_offset=0, max_line_bytes=65536), parser,
                                 multiline=False):
            predicted[event.line_no] = miner.assign(event.message)
    config = TemplateMinerConfig()
    config.masking_instructions = ini_masking()
    drain = Drain3Miner(config=config)
    baseline = {int(row["LineId"]): drain.add_log_message(row["Content"])["cluster_id"] for row in rows}
    return _ga(truth, predicted), _ga(truth, baseline)


def _ga(truth: dict[int, str], predicted: dict[int, int]) -> float:
    by_truth: dict[str, set[int]] = defaultdict(set)
    by_pred: dict[int, set[int]] = defaultdict(set)
    for line, event_id in truth.items():
        if line in predicted:
            by_truth[event_id].add(line)
            by_pred[predicted[line]].add(line)
    correct = sum(1 for line in truth if line in predicted and by_pred[predicted[line]] == by_truth[truth[line]])
    return correct / len(truth)


# -- report -------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines in the generated corpus")
    parser.add_argument("--fallback-lines", type=int, default=200_000,
                        help="lines in the generated corpus of formats only the fallback parser reads")
    parser.add_argument("--keep", type=Path, help="keep the generated data and stores here")
    parser.add_argument("--baseline", type=Path,
                        help="also compare `logchat index` of the generated corpus with this checkout's")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs per checkout with --baseline")
    parser.add_argument("--compare-only", action="store_true",
                        help="with --baseline: print only the before/after table")
    args = parser.parse_args()
    if args.compare_only and args.baseline is None:
        parser.error("--compare-only needs --baseline")
    if not LOGHUB.is_dir():
        raise SystemExit(f"the loghub datasets are expected at {LOGHUB}")
    work = args.keep or Path(tempfile.mkdtemp(prefix="logchat-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        corpus_dir = work / "corpus"
        corpus_dir.mkdir(exist_ok=True)
        print(f"generating {args.lines:,} lines in {corpus_dir} ...", file=sys.stderr)
        corpus = generate_corpus(corpus_dir, args.lines)
        if args.baseline is not None:
            compare_checkouts(corpus, work, args.baseline, args.repeat)
            if args.compare_only:
                return
        fallback_dir = work / "fallback"
        fallback_dir.mkdir(exist_ok=True)
        fallback = generate_fallback_corpus(fallback_dir, args.fallback_lines)
        inputs = {
            "(a) loghub 2k x16": [LOGHUB / s / f"{s}_2k.log" for s in SYSTEMS],
            "(b) loghub_full": sorted((DATASETS / "loghub_full").glob("*/*.log")),
            "(c) generated 1M": corpus,
            "(d) fallback 200k": fallback,
        }
        rows = []
        for label, paths in inputs.items():
            size_mb = sum(p.stat().st_size for p in paths) / 1e6
            lines = line_count(paths)
            data_dir = work / f"store-{label[1]}"
            shutil.rmtree(data_dir, ignore_errors=True)
            elapsed, peak, summary = run_index(paths, data_dir)
            shares = stage_shares(paths)
            store_share = max(0.0, elapsed - shares["parse"] - shares["templates"])
            grep = grep_count(paths)
            drain = plain_drain(paths)
            rows.append((label, lines, size_mb, elapsed, peak, summary["new_events"], shares, store_share, grep, drain,
                         summary["elapsed_seconds"]))
            print(f"  {label}: {lines / elapsed:,.0f} lines/s", file=sys.stderr)
        print()
        header = (f"{'input':<20} {'lines':>10} {'MB':>7} {'logchat s':>9} {'lines/s':>10} {'MB/s':>6} {'ingest/s':>9} "
                  f"{'peak MiB':>8} {'events':>9} {'grep -c s':>9} {'grep x':>7} {'drain3 s':>8} {'vs drain3':>9}")
        print(header)
        print("-" * len(header))
        for label, lines, size_mb, elapsed, peak, events, _, _, grep, drain, inner in rows:
            print(f"{label:<20} {lines:>10,} {size_mb:>7.1f} {elapsed:>9.2f} {lines / elapsed:>10,.0f} "
                  f"{size_mb / elapsed:>6.1f} {lines / inner:>9,.0f} {peak / 1024:>8.0f} {events:>9,} {grep:>9.3f} "
                  f"{elapsed / grep:>6.0f}x {drain:>8.2f} {drain / elapsed:>8.1f}x")
        print("\n'logchat s' and 'lines/s' are the whole command (start-up, first-use migrations included); 'ingest/s'")
        print("counts only the ingest itself as `index --json` reports it. 'grep x': how many times longer logchat")
        print("takes than `grep -c ERROR`; 'vs drain3': plain Drain3")
        print("(example masking, no parsing, no store) time divided by logchat's full ingest time.\n")
        print(f"{'input':<20} {'parse s':>8} {'templates s':>11} {'store+rest s':>12}   shares (single-process CPU)")
        for label, _, _, _, _, _, shares, store_share, _, _, _ in rows:
            total = shares["parse"] + shares["templates"] + store_share
            print(f"{label:<20} {shares['parse']:>8.2f} {shares['templates']:>11.2f} {store_share:>12.2f}   "
                  f"{shares['parse'] / total:.0%} / {shares['templates'] / total:.0%} / {store_share / total:.0%}")
        print("(store+rest = end-to-end wall time minus parse and templates; with the reader process the stages")
        print(" overlap, so on large inputs this understates the store's own cost)\n")

        from logchat.ingest.detect import timestamp_parse_rate

        print(f"{'system':<12} {'format':<14} {'ts parsed':>9} {'GA logchat':>10} {'GA drain3':>9}")
        parsed_all = 0
        ga_ours = ga_base = 0.0
        for system in SYSTEMS:
            fmt, rate = timestamp_parse_rate(LOGHUB / system / f"{system}_2k.log", datetime.now(UTC))
            parsed_all += rate == 1.0
            ours, base = grouping_accuracy(system) or (0.0, 0.0)
            ga_ours += ours
            ga_base += base
            print(f"{system:<12} {fmt:<14} {rate:>9.1%} {ours:>10.3f} {base:>9.3f}")
        print(f"timestamps parse on every line in {parsed_all} of {len(SYSTEMS)} loghub systems; "
              f"mean grouping accuracy {ga_ours / len(SYSTEMS):.3f} (plain Drain3 {ga_base / len(SYSTEMS):.3f})\n")

        big_store = work / "store-c"
        stat_times = [
            run_timed([*LOGCHAT, "--data-dir", str(big_store), "stat", "--json"])[0] for _ in range(3)]
        filtered = [run_timed([*LOGCHAT, "--data-dir", str(big_store), "stat", "--json", "--level", "error",
                               "--since", "2026-11-02 03:30", "--until", "2026-11-04 17:45"])[0] for _ in range(3)]
        helps = [run_timed([*LOGCHAT, "--help"])[0] for _ in range(5)]
        print(f"logchat stat on {rows[2][5]:,} events: best {min(stat_times):.3f}s (filtered {min(filtered):.3f}s); "
              f"logchat --help: best {min(helps):.3f}s")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
