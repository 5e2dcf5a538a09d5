"""Follow benchmark: the time from appending a line to a file until search finds it.

`logchat index --follow` with inotify (watchfiles), with polling (0.5 s, the fallback, and 0.1 s),
against the obvious alternative: running `logchat index FILE` again in a loop (a cron-like
`while true; do logchat index app.log; sleep 1; done`). Lines are appended at a steady rate, each
with a unique word; a reader in this process searches for every pending word (the full-text
search behind `ask` and GET /api/v1/logs/search) every 10 ms. Prints p50/p95/max per way of
reading, and the CPU time the follower used. With --remote, the same file is also followed as
ssh://127.0.0.1:PORT/… through a real sshd started for the run (OpenSSH's server must be installed).

    python benchmarks/bench_follow.py [--appends 200] [--rate 10] [--remote]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LOGCHAT = [sys.executable, "-m", "logchat", "--quiet"]
TARGET_SECONDS = 2.0


def line(n: int) -> str:
    return f"2026-12-03T10:{n // 60 % 60:02d}:{n % 60:02d}+00:00 web-01 app[{n}]: request mark{n:06d}x served\n"


def searcher(data_dir: Path):  # type: ignore[no-untyped-def]
    """The marks of the newest lines that search finds (one query per look, as a client polling would)."""
    import re

    from logchat.config import load_settings
    from logchat.services.search import MAX_LIMIT, SearchRequest, search_lines
    from logchat.storage.db import open_store

    settings = load_settings(data_dir=data_dir)
    store = open_store(settings.database_url)
    mark = re.compile(r"mark(\d{6})x")

    def found() -> set[int]:
        hits = search_lines(store, SearchRequest(q="served", limit=MAX_LIMIT))["hits"]
        return {int(match.group(1)) for hit in hits if (match := mark.search(hit["raw"]))}

    return store, found


class Reloader:
    """The alternative: `logchat index FILE` run again and again, a second apart."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.command = [*LOGCHAT, "--data-dir", str(data_dir), "index", str(log)]
        self.stop = threading.Event()
        self.cpu = 0.0
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.is_set():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(self.command, check=True, stdout=subprocess.DEVNULL)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            self.cpu += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            self.stop.wait(1.0)

    def finish(self) -> float:
        self.stop.set()
        self.thread.join()
        return self.cpu


def measure(way: str, extra: list[str] | None, appends: int, rate: float, workdir: Path,
            server: Any = None) -> dict[str, float]:
    directory = workdir / way.replace(" ", "-").replace("/", "")
    directory.mkdir()
    log, data = directory / "app.log", directory / "data"
    log.write_text(line(0))
    target, options = str(log), []
    if server is not None:  # the same file, read over SSH
        config = directory / "logchat.toml"
        config.write_text(f'[remote]\nknown_hosts_file = "{server.known_hosts}"\n')
        target, options = server.url(log), ["--identity", str(server.client_key)]
        data_options = ["--config", str(config), "--data-dir", str(data)]
    else:
        data_options = ["--data-dir", str(data)]
    subprocess.run([*LOGCHAT, *data_options, "index", *options, target], check=True, stdout=subprocess.DEVNULL)
    store, found = searcher(data)
    _children_cpu()  # the setup's index is not the follower's
    follower = reloader = None
    if extra is None:
        reloader = Reloader(data, log)
        reloader.start()
    else:
        follower = subprocess.Popen([*LOGCHAT, *data_options, "index", "--follow", *options, *extra, target],
                                    stdout=subprocess.DEVNULL)
        time.sleep(3)  # started and caught up
    appended: dict[int, float] = {}  # mark -> when it was written, until search finds it
    latencies: list[float] = []
    done = threading.Event()

    def watch() -> None:
        deadline = None
        while appended or not done.is_set():
            if done.is_set() and deadline is None:
                deadline = time.monotonic() + 60
            if deadline is not None and time.monotonic() > deadline:
                return  # the rest count as missed
            present = found()
            now = time.monotonic()
            for n, at in list(appended.items()):
                if n in present:
                    latencies.append(now - at)
                    del appended[n]
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.monotonic()
    with log.open("a") as handle:
        for n in range(1, appends + 1):
            time.sleep(max(0.0, started + n / rate - time.monotonic()))
            handle.write(line(n))
            handle.flush()
            appended[n] = time.monotonic()
    done.set()
    watcher.join(timeout=120)
    if follower is not None:
        follower.terminate()
        follower.wait()
        cpu = _children_cpu()  # the follower, reaped just now
    else:
        assert reloader is not None
        cpu = reloader.finish()
    store.close()
    latencies.sort()
    return {
        "p50": statistics.median(latencies),
        "p95": latencies[max(0, int(len(latencies) * 0.95) - 1)],
        "max": latencies[-1],
        "missed": appends - len(latencies),
        "cpu": cpu,
    }


_cpu_seen = 0.0


def _children_cpu() -> float:
    """CPU seconds of children reaped since the last call."""
    global _cpu_seen
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    spent, _cpu_seen = total - _cpu_seen, total
    return spent


def _start_sshd(root: Path) -> Any:
    """The tests' real OpenSSH server (tests/sshd_server.py), on a free port of 127.0.0.1."""
    sys.path.insert(0, str(ROOT / "tests"))
    from sshd_server import SshServer

    server = SshServer.create(root)
    server.start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="lines appended per second")
    parser.add_argument("--remote", action="store_true", help="also follow the file over SSH (a local sshd)")
    args = parser.parse_args()
    ways: list[tuple[str, list[str] | None, bool]] = [
        ("follow, inotify", [], False),
        ("follow, polling 0.5 s", ["--poll-interval", "0.5"], False),
        ("follow, polling 0.1 s", ["--poll-interval", "0.1"], False),
        ("index in a loop, 1 s apart", None, False),
    ]
    if args.remote:
        ways += [("follow ssh://, polling 0.5 s", ["--poll-interval", "0.5"], True),
                 ("follow ssh://, polling 0.1 s", ["--poll-interval", "0.1"], True)]
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-follow-") as workdir:
        server = _start_sshd(Path(workdir) / "sshd") if args.remote else None
        try:
            for way, extra, remote in ways:
                results[way] = measure(way, extra, args.appends, args.rate, Path(workdir),
                                       server if remote else None)
                print(f"  {way}: done", file=sys.stderr)
        finally:
            if server is not None:
                server.stop()
    print(f"\nAppend -> found by search, {args.appends} appends at {args.rate:g}/s "
          f"(target p95 < {TARGET_SECONDS:g} s)\n")
    print(f"{'way of reading':<30} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'missed':>7} {'CPU s':>7} "
          f"{'p50 vs inotify':>15}")
    base = results["follow, inotify"]["p50"]
    for way, row in results.items():
        ratio = row["p50"] / base if base else float("nan")
        print(f"{way:<30} {row['p50']:>7.3f} {row['p95']:>7.3f} {row['max']:>7.3f} {row['missed']:>7.0f} "
              f"{row['cpu']:>7.2f} {ratio:>14.1f}x")


if __name__ == "__main__":
    main()
