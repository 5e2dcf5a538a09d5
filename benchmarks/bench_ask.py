"""Latency of `logchat ask`: retrieval + extractive answer at 2k, 100k and 1M events.

Generates a synthetic multi-host syslog (sshd, nginx, a payments service, kernel, cron) into a temp
dir at run time, indexes it, builds the vector index, then measures for a fixed set of questions:

- p50/p95 of retrieval + extractive answer (the ask service, in a process of its own that asks each
  question ``--repeat`` times after one warm-up round), wall and CPU time;
- the same questions answered by full-text search only (count + top-k ranking, no aggregation,
  no vectors), and by `grep -c` over the raw file (for the count questions), as the obvious
  alternatives;
- `logchat ask --no-llm` end to end (a new process each time: imports, store, answer), wall and CPU;
- vector index build time and size;
- time to first token with the fake Ollama server answering instantly.

``--baseline DIR`` (a checkout of another version, e.g. ``git worktree add /tmp/base main``) measures
that code as well, interleaved with this one round by round (``--rounds``, best round kept), so a
before/after comes from one run on one machine. Each version reads a store its own code indexed from
the same generated log (``data-N`` and ``data-N-baseline``): a version may change the schema, and an
older one refuses a store a newer one has migrated. Both packages are byte-compiled first, as an
installed package is, so that start-up is not measured compiling modules from source when
PYTHONDONTWRITEBYTECODE is set. ``--keep DIR`` keeps what was generated; ``--reuse`` then starts from
the stores kept there instead of generating them again.

Nothing generated is kept unless --keep is given. Run:

    .venv/bin/python benchmarks/bench_ask.py                # 2k, 100k, 1M
    .venv/bin/python benchmarks/bench_ask.py --sizes 2000,100000 --repeat 20
    .venv/bin/python benchmarks/bench_ask.py --sizes 1000000 --keep /tmp/ask-1m --reuse --baseline /tmp/base
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# The code measured: this checkout, or the one a --baseline worker was started for.
CODE = Path(os.environ.get("LOGCHAT_BENCH_CODE", str(REPO)))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(CODE))

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
HOSTS = [f"web-{n:02d}" for n in range(1, 7)] + ["db-01", "db-02", "lb-01", "pay-01"]
USERS = ["root", "admin", "deploy", "ubuntu", "git", "oracle", "test", "guest", "postgres", "alice", "bob"]
HOT_IPS = ["183.62.140.253", "103.99.0.122", "187.141.143.180"]

# The questions timed at every size; "grep" is the fixed string the grep alternative counts.
QUESTIONS = [
    {"q": "how many failed password attempts for root from 183.62.140.253?",
     "grep": "Failed password for root from 183.62.140.253 "},
    {"q": "how many times did the payment gateway return 502?", "grep": "gateway returned 502"},
    {"q": "which IPs had the most failed logins?", "grep": None},
    {"q": "errors on web-03", "grep": None},
    {"q": "why did the payments service time out?", "grep": "timed out"},
    {"q": "when was the first time java was killed for out of memory?", "grep": "Out of memory"},
    {"q": "what is the slowest request on lb-01?", "grep": None},
]  # fmt: skip


def _random_ip(rng: random.Random) -> str:
    return f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def generate(path: Path, events: int, seed: int = 7) -> None:
    """A week of syslog from ten hosts; a few hot attacker IPs, rare errors, one OOM burst."""
    rng = random.Random(seed)
    step = timedelta(days=7) / events
    ip_pool = [_random_ip(rng) for _ in range(2_000)]
    with path.open("w", encoding="utf-8") as out:
        for index in range(events):
            ts = (START + step * index).strftime("%Y-%m-%dT%H:%M:%S+00:00")
            host = HOSTS[rng.randrange(len(HOSTS))]
            pid = rng.randint(1000, 40000)
            roll = rng.random()
            ip = HOT_IPS[rng.randrange(3)] if rng.random() < 0.3 else ip_pool[rng.randrange(len(ip_pool))]
            if roll < 0.30:
                path_ = rng.choice(["/", "/api/orders", "/api/users", "/static/app.js", "/health", "/login"])
                status = rng.choice([200] * 20 + [301, 404, 500])
                line = (f"{ts} {host} nginx[{pid}]: {ip} - - \"GET {path_} HTTP/1.1\" {status} "
                        f"{rng.randint(200, 90000)} request_time={rng.randint(1, 900)}ms")
            elif roll < 0.45:
                user = rng.choice(USERS)
                port = rng.randint(1024, 65535)
                line = f"{ts} {host} sshd[{pid}]: Failed password for {user} from {ip} port {port} ssh2"
            elif roll < 0.52:
                line = f"{ts} {host} sshd[{pid}]: Invalid user {rng.choice(USERS)}{rng.randint(1, 99)} from {ip}"
            elif roll < 0.60:
                line = (f"{ts} {host} sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
                        f"tty=ssh ruser= rhost={ip} user={rng.choice(USERS)}")
            elif roll < 0.66:
                port = rng.randint(1024, 65535)
                line = f"{ts} {host} sshd[{pid}]: Received disconnect from {ip} port {port}:11: Bye Bye [preauth]"
            elif roll < 0.67:
                port = rng.randint(1024, 65535)
                line = f"{ts} {host} sshd[{pid}]: Accepted publickey for {rng.choice(USERS)} from {ip} port {port} ssh2"
            elif roll < 0.80:
                line = (f"{ts} pay-01 payments[{pid}]: charge ok order={rng.randint(10**6, 10**7)} "
                        f"amount={rng.randint(1, 900)}.{rng.randint(0, 99):02d} latency={rng.randint(5, 400)}ms")
            elif roll < 0.805:
                line = f"{ts} pay-01 payments[{pid}]: error: gateway returned 502 for order={rng.randint(10**6, 10**7)}"
            elif roll < 0.807:
                line = f"{ts} pay-01 payments[{pid}]: error: request to gateway timed out after 30000 ms"
            elif roll < 0.90:
                line = f"{ts} {host} CRON[{pid}]: ({rng.choice(USERS)}) CMD (/usr/local/bin/backup.sh --incremental)"
            elif roll < 0.99:
                line = (f"{ts} {host} systemd[1]: Started Session {rng.randint(1, 99999)} of user "
                        f"{rng.choice(USERS)}.")
            elif roll < 0.9995:
                line = f"{ts} {host} kernel[0]: eth0: link up, 1000Mbps, full-duplex"
            else:
                line = (f"{ts} {host} kernel[0]: Out of memory: Killed process {pid} (java) total-vm:"
                        f"{rng.randint(10**6, 10**7)}kB")
            out.write(line + "\n")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _settings(data_dir: Path):  # type: ignore[no-untyped-def]
    from logchat.config import load_settings

    return load_settings(data_dir=data_dir)


def _prepare(events: int, workdir: Path, reuse: bool, suffix: str = "") -> tuple[Path, Path, dict[str, object]]:
    """(data dir, log file, build figures): the store of ``events`` generated events, indexed with vectors
    by the code of this process into ``data-N`` + ``suffix``."""
    from logchat.services.ingest import index_inputs
    from logchat.services.vectors import rebuild_vector_index, update_vector_index
    from logchat.storage.db import open_store

    data_dir = workdir / f"data-{events}{suffix}"
    log_file = workdir / f"bench-{events}.log"
    settings = _settings(data_dir)
    if reuse and log_file.is_file() and (data_dir / "logchat.db").is_file():
        store = open_store(settings.database_url)
        report = update_vector_index(store, settings)  # finishes a build that was interrupted, if any
        store.close()
        return data_dir, log_file, {"generate_s": None, "ingest_s": None, "vector_build_s": None,
                                    "template_vectors": report.template_vectors,
                                    "window_vectors": report.window_vectors, "vector_bytes": report.index_bytes}
    started = time.perf_counter()
    if not (suffix and log_file.is_file()):  # the baseline indexes the log generated for this code
        generate(log_file, events)
    generated_s = time.perf_counter() - started
    store = open_store(settings.database_url)
    started = time.perf_counter()
    index_inputs(store, settings, [str(log_file)])
    ingest_s = time.perf_counter() - started
    report = rebuild_vector_index(store, settings)
    store.close()
    return data_dir, log_file, {"generate_s": generated_s, "ingest_s": ingest_s,
                                "vector_build_s": report.elapsed_seconds, "template_vectors": report.template_vectors,
                                "window_vectors": report.window_vectors, "vector_bytes": report.index_bytes}


def _as_json(answer: Any) -> dict[str, Any]:
    # A --baseline checkout from before the answer object returns a result with to_dict().
    return answer.to_json() if hasattr(answer, "to_json") else answer.to_dict()  # type: ignore[no-any-return]


def retrieval_worker(data_dir: Path, repeat: int) -> dict[str, object]:
    """In this process (whatever code LOGCHAT_BENCH_CODE names): every question once to warm up, then
    ``repeat`` timed times each; wall and CPU milliseconds per run."""
    from logchat.services.ask import AskRequest, ask
    from logchat.storage.db import open_store

    settings = _settings(data_dir)
    try:  # as `logchat ask` opens it: a reader that soon exits maps the file
        store = open_store(settings.database_url, map_file=True)
    except TypeError:  # a version from before map_file
        store = open_store(settings.database_url)
    now = START + timedelta(days=7)

    def run(question: str) -> dict[str, object]:
        return _as_json(ask(store, settings, AskRequest(question, now=now, use_llm=False)))

    for item in QUESTIONS:
        run(item["q"])
    wall: list[float] = []
    cpu: list[float] = []
    per_question: list[dict[str, object]] = []
    for item in QUESTIONS:
        times, cpus = [], []
        for _ in range(repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            result = run(item["q"])
            cpus.append((time.process_time() - started_cpu) * 1000)
            times.append((time.perf_counter() - started) * 1000)
        wall.extend(times)
        cpu.extend(cpus)
        per_question.append({"question": item["q"], "p50_ms": statistics.median(times),
                             "cpu_p50_ms": statistics.median(cpus), "matched": result["matched"]})
    store.close()
    return {"wall": wall, "cpu": cpu, "per_question": per_question}


def _prepare_baseline(code: Path, events: int, workdir: Path, reuse: bool) -> Path:
    """The baseline's own store of the same log, indexed by the baseline's code in a process of its own."""
    env = dict(os.environ, LOGCHAT_BENCH_CODE=str(code), PYTHONPATH=str(code))
    command = [sys.executable, str(Path(__file__).resolve()), "--prepare-worker", str(events), "--keep", str(workdir)]
    subprocess.run([*command, *(["--reuse"] if reuse else [])], env=env, capture_output=True, text=True, check=True)
    return workdir / f"data-{events}-baseline"


def _byte_compile(code: Path) -> None:
    """Write the package's bytecode, as installing it does: imports then read .pyc files, not sources."""
    import compileall

    compileall.compile_dir(str(code / "logchat"), quiet=1)


def _retrieval_round(code: Path, data_dir: Path, repeat: int) -> dict[str, object]:
    env = dict(os.environ, LOGCHAT_BENCH_CODE=str(code), PYTHONPATH=str(code))
    output = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", str(data_dir), "--repeat", str(repeat)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(output.stdout)  # type: ignore[no-any-return]


def _cli_round(code: Path, data_dir: Path, workdir: Path, runs: int) -> tuple[list[float], list[float]]:
    """``runs`` whole `logchat ask --no-llm` commands of ``code``: (wall ms, CPU ms) each."""
    now = START + timedelta(days=7)
    env = dict(os.environ, LOGCHAT_DATA_DIR=str(data_dir), PYTHONPATH=str(code))
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "logchat", "ask", "--no-llm", "--json", "--now", now.isoformat(), QUESTIONS[0]["q"]],
            env=env, capture_output=True, check=True, cwd=workdir,
        )  # fmt: skip
        wall.append((time.perf_counter() - started) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    return wall, cpu


def _best_round(rounds: list[dict[str, object]]) -> dict[str, object]:
    """The round with the lowest CPU p95 (on a shared machine, the least disturbed one)."""
    return min(rounds, key=lambda r: _percentile(r["cpu"], 0.95))  # type: ignore[arg-type]


def bench_size(events: int, repeat: int, workdir: Path, end_to_end_runs: int, *, reuse: bool = False,
               baseline: Path | None = None, rounds: int = 1) -> dict[str, object]:
    from logchat.retrieval import fulltext
    from logchat.retrieval.question import parse_question
    from logchat.storage import fulltext_repo
    from logchat.storage.db import open_store

    data_dir, log_file, build = _prepare(events, workdir, reuse)
    settings = _settings(data_dir)
    now = START + timedelta(days=7)

    # Interleaved: this code, then the baseline, round after round, so both meet the same machine.
    codes = {"this": CODE} | ({"baseline": baseline} if baseline is not None else {})
    stores = {"this": data_dir}
    if baseline is not None:
        stores["baseline"] = _prepare_baseline(baseline, events, workdir, reuse)
    for code in codes.values():
        _byte_compile(code)
    retrieval: dict[str, list[dict[str, object]]] = {name: [] for name in codes}
    cli: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in codes}
    for _ in range(rounds):
        for name, code in codes.items():
            retrieval[name].append(_retrieval_round(code, stores[name], repeat))
            wall, cpu = _cli_round(code, stores[name], workdir, end_to_end_runs)
            cli[name][0].extend(wall)
            cli[name][1].extend(cpu)

    store = open_store(settings.database_url)
    # The obvious alternative in the same process: full-text only (count + top 20), no vectors,
    # no aggregation, no fallbacks.
    fts_times: list[float] = []
    for item in QUESTIONS:
        filters = parse_question(item["q"], now=now, tz=UTC)
        for _ in range(repeat):
            t = time.perf_counter()
            with store.session() as session:
                query = fulltext.resolve_query(session, fulltext.parse_text_query(filters.text_query, filters.keywords))
                fulltext_repo.count_matches(session, query, [])
                fulltext.search(session, query, [], 20)
            fts_times.append((time.perf_counter() - t) * 1000)

    best = _best_round(retrieval["this"])
    grep_times: list[float] = []
    grep_checks: list[tuple[str, int, int]] = []
    for item, answer in zip(QUESTIONS, best["per_question"], strict=True):  # type: ignore[call-overload]
        if not item["grep"]:
            continue
        t = time.perf_counter()
        output = subprocess.run(["grep", "-c", "-F", item["grep"], str(log_file)], capture_output=True, text=True)
        grep_times.append((time.perf_counter() - t) * 1000)
        grep_checks.append((item["q"], int(output.stdout.strip() or 0), int(answer["matched"])))

    ttft = _time_to_first_token(store, settings, now)
    store.close()
    result: dict[str, object] = {
        "events": events,
        **build,
        "fts_p50_ms": statistics.median(fts_times),
        "fts_p95_ms": _percentile(fts_times, 0.95),
        "grep_p50_ms": statistics.median(grep_times) if grep_times else None,
        "ttft_ms": ttft,
        "grep_checks": grep_checks,
        "file_bytes": log_file.stat().st_size,
        "code": {},
    }
    for name in codes:
        chosen = _best_round(retrieval[name])
        wall, cpu = cli[name]
        result["code"][name] = {  # type: ignore[index]
            "ask_p50_ms": statistics.median(chosen["wall"]),  # type: ignore[arg-type]
            "ask_p95_ms": _percentile(chosen["wall"], 0.95),  # type: ignore[arg-type]
            "ask_cpu_p50_ms": statistics.median(chosen["cpu"]),  # type: ignore[arg-type]
            "ask_cpu_p95_ms": _percentile(chosen["cpu"], 0.95),  # type: ignore[arg-type]
            "cli_p50_ms": statistics.median(wall) if wall else None,
            "cli_best_ms": min(wall) if wall else None,
            "cli_cpu_best_ms": min(cpu) if cpu else None,
            "per_question": chosen["per_question"],
        }
    this = result["code"]["this"]  # type: ignore[index]
    result.update({key: this[key] for key in ("ask_p50_ms", "ask_p95_ms", "cli_p50_ms", "per_question")})
    return result


def _time_to_first_token(store, settings, now) -> float | None:  # type: ignore[no-untyped-def]
    from fake_ollama import FakeOllama

    from logchat.services.ask import AskRequest, ask

    with FakeOllama(reply="Most failures come from 183.62.140.253 [E1].") as server:
        llm_settings = settings.model_copy(update={"llm": settings.llm.model_copy(update={"base_url": server.url})})
        values = []
        for _ in range(5):
            result = _as_json(ask(store, llm_settings, AskRequest(QUESTIONS[0]["q"], now=now)))
            if result["timings_ms"]["first_token"] is not None:
                # From the start of the question: parsing and retrieval, then the model's first token.
                values.append(result["timings_ms"]["parse"] + result["timings_ms"]["retrieve"]
                              + result["timings_ms"]["first_token"])
        return statistics.median(values) if values else None


def _table(rows: list[dict[str, object]]) -> str:
    def fmt(value: object, digits: int = 1) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:,.{digits}f}"
        return f"{value:,}" if isinstance(value, int) else str(value)

    header = ("events", "code", "ingest s", "vectors s", "vectors (tmpl+win)", "index MB", "ask p50 ms", "ask p95 ms",
              "ask cpu p50", "ask cpu p95", "fts-only p50", "grep -c ms", "cli e2e p50 ms", "cli best ms",
              "cli cpu best ms", "ttft ms")  # fmt: skip
    lines = [" | ".join(header), " | ".join("---" for _ in header)]
    for row in rows:
        for name, code in row["code"].items():  # type: ignore[attr-defined]
            lines.append(" | ".join([
                fmt(row["events"]), name, fmt(row["ingest_s"]), fmt(row["vector_build_s"], 2),
                f"{row['template_vectors']}+{row['window_vectors']}", fmt(row["vector_bytes"] / 1e6, 2),  # type: ignore[operator]
                fmt(code["ask_p50_ms"]), fmt(code["ask_p95_ms"]), fmt(code["ask_cpu_p50_ms"]),
                fmt(code["ask_cpu_p95_ms"]), fmt(row["fts_p50_ms"]), fmt(row["grep_p50_ms"]),
                fmt(code["cli_p50_ms"], 0), fmt(code["cli_best_ms"], 0), fmt(code["cli_cpu_best_ms"], 0),
                fmt(row["ttft_ms"]),
            ]))  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000,100000,1000000", help="comma-separated event counts")
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per question")
    parser.add_argument("--cli-runs", type=int, default=3, help="`logchat ask --no-llm` runs per size and round")
    parser.add_argument("--keep", type=Path, help="generate into this directory and keep it")
    parser.add_argument("--reuse", action="store_true", help="with --keep: start from the stores kept there")
    parser.add_argument("--baseline", type=Path, help="a checkout of another version to measure on the same stores")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (3 with --baseline)")
    parser.add_argument("--json", action="store_true", help="print the raw numbers as JSON too")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # one retrieval round on this data dir
    parser.add_argument("--prepare-worker", type=int, help=argparse.SUPPRESS)  # the baseline's store of N events
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(retrieval_worker(args.worker, args.repeat)))
        return
    if args.prepare_worker is not None:
        print(json.dumps(_prepare(args.prepare_worker, args.keep, args.reuse, suffix="-baseline")[2]))
        return
    if args.reuse and args.keep is None:
        parser.error("--reuse needs --keep DIR")
    rounds = args.rounds or (3 if args.baseline else 1)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="logchat-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for size in (int(part) for part in args.sizes.split(",")):
            print(f"… {size:,} events", file=sys.stderr, flush=True)
            rows.append(bench_size(size, args.repeat, workdir, args.cli_runs, reuse=args.reuse,
                                   baseline=args.baseline.resolve() if args.baseline else None, rounds=rounds))
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(_table(rows))
    print()
    for row in rows:
        ratio = row["grep_p50_ms"] / row["ask_p50_ms"] if row["grep_p50_ms"] else None  # type: ignore[operator]
        grep_ms = row["grep_p50_ms"] or 0
        print(f"{row['events']:,} events: ask p50 {row['ask_p50_ms']:.1f} ms vs grep -c {grep_ms:.1f} ms"
              + (f" (grep/ask = {ratio:.2f}x)" if ratio else "")
              + f"; counts equal to grep: {all(a == b for _, a, b in row['grep_checks'])}")  # type: ignore[union-attr]
        for name, code in row["code"].items():  # type: ignore[attr-defined]
            print(f"  {name}:")
            for item in code["per_question"]:
                print(f"    {item['p50_ms']:8.1f} ms  cpu {item['cpu_p50_ms']:8.1f} ms  matched={item['matched']:>8,}  "
                      f"{item['question']}")
    if args.json:
        print(json.dumps(rows, indent=2, default=str))


if __name__ == "__main__":
    main()
