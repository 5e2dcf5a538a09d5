"""The daemon under load: `logchat serve` on a 100k-event store, answering through the fake Ollama server.

Measures, in one run, with a printed table:
- 200 concurrent WebSocket chats, one question each: errors, p50/p95 time to first token and to the
  final answer;
- /healthz p50/p99 while those chats run (the event loop must stay free);
- REST `POST /api/v1/ask` with `no_llm` (8 concurrent clients): requests/s, against the obvious
  alternative, `logchat ask --no-llm` run as one process per question;
- the daemon's resident memory after the run.

    .venv/bin/python benchmarks/bench_serve.py [--events 100000] [--chats 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests"))

from bench_ask import QUESTIONS, generate  # noqa: E402
from daemon_process import run_cli, start_daemon  # noqa: E402

PASSWORD = "correct horse battery staple"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(value for value in values if value == value)  # NaN: no token came (an extractive answer)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))] if ordered else float("nan")


async def _chat(session, base: str, token: str, question: str) -> tuple[float, float, str] | str:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    first = None
    try:
        async with session.ws_connect(base.replace("http", "ws", 1) + "/api/v1/ws") as ws:
            await ws.send_json({"type": "auth", "token": token})
            await ws.send_json({"type": "ask", "id": "q", "question": question})
            while True:
                frame = json.loads((await ws.receive(timeout=300)).data)
                if frame["type"] == "token" and first is None:
                    first = time.perf_counter() - started
                elif frame["type"] == "answer":
                    why = "" if frame["mode"] == "llm" else "; ".join(frame["notices"][-1:]) or str(frame["llm_error"])
                    return (first if first is not None else float("nan"), time.perf_counter() - started, why)
                elif frame["type"] == "error":
                    return f"{frame['code']}: {frame['message']}"
    except Exception as exc:  # any failure counts as an error in the table
        return f"{type(exc).__name__}: {exc}"


async def _health_probe(session, base: str, stop: asyncio.Event, samples: list[float]) -> None:  # type: ignore[no-untyped-def]
    while not stop.is_set():
        started = time.perf_counter()
        async with session.get(base + "/healthz") as response:
            await response.read()
        samples.append(time.perf_counter() - started)
        await asyncio.sleep(0.02)


async def _load(base: str, tokens: list[str], chats: int) -> dict[str, object]:
    import aiohttp

    questions = [item["q"] for item in QUESTIONS]
    health: list[float] = []
    stop = asyncio.Event()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        probe = asyncio.create_task(_health_probe(session, base, stop, health))
        started = time.perf_counter()
        results = await asyncio.gather(*(_chat(session, base, tokens[i % len(tokens)], questions[i % len(questions)])
                                         for i in range(chats)))
        wall = time.perf_counter() - started
        stop.set()
        await probe
    timings = [r for r in results if isinstance(r, tuple)]
    errors = [r for r in results if isinstance(r, str)]
    streamed = sum(1 for t in timings if t[0] == t[0])
    # Why the others were answered without the model, by question: "nothing matched" is by design.
    extractive: dict[str, int] = {}
    for index, result in enumerate(results):
        if isinstance(result, tuple) and result[2]:
            key = f"{questions[index % len(questions)]!r}: {result[2]}"
            extractive[key] = extractive.get(key, 0) + 1
    return {"chats": chats, "errors": len(errors), "first_error": errors[0] if errors else "", "streamed": streamed,
            "extractive": extractive,
            "ttft_p50": _percentile([t[0] for t in timings], 0.5),
            "ttft_p95": _percentile([t[0] for t in timings], 0.95),
            "answer_p50": _percentile([t[1] for t in timings], 0.5),
            "answer_p95": _percentile([t[1] for t in timings], 0.95), "wall": wall,
            "health_p50": _percentile(health, 0.5), "health_p99": _percentile(health, 0.99), "health_n": len(health)}


async def _rest_rate(base: str, tokens: list[str], requests: int, concurrency: int) -> float:
    import aiohttp

    questions = [item["q"] for item in QUESTIONS]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    async def worker(session, token: str) -> None:  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer {token}"}
        while not queue.empty():
            i = queue.get_nowait()
            async with session.post(base + "/api/v1/ask", headers=headers,
                                    json={"question": questions[i % len(questions)], "no_llm": True}) as response:
                assert response.status == 200, await response.text()
                await response.read()

    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        # One account per client: an account may have serve.questions_per_user questions in flight.
        await asyncio.gather(*(worker(session, tokens[n % len(tokens)]) for n in range(concurrency)))
        return requests / (time.perf_counter() - started)


def _sign_in(base: str, username: str) -> str:
    import urllib.request

    request = urllib.request.Request(base + "/api/v1/auth/login", method="POST",
                                     data=json.dumps({"username": username, "password": PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return str(json.loads(response.read())["access_token"])


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    from fake_ollama import FakeOllama

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--rest-requests", type=int, default=200)
    parser.add_argument("--cli-runs", type=int, default=10)
    parser.add_argument("--answer-threads", type=int, default=4, help="serve.answer_threads of the daemon")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="logchat-bench-serve-") as tmp, \
            FakeOllama(reply="Most failures come from one address [E1], see also [E2].") as model:
        model.chunk_delay = 0.01  # a model writing ~100 tokens/s
        work = Path(tmp)
        data, log, config = work / "data", work / "syslog.log", work / "logchat.toml"
        config.write_text(f'[llm]\nbase_url = "{model.url}"\ntimeout_seconds = 300\n\n[serve]\n'
                          "login_rate_per_minute = 0\nask_rate_per_minute = 0\nworker_threads = 16\n"
                          f"answer_threads = {args.answer_threads}\n")
        print(f"generating and indexing {args.events:,} events ...", file=sys.stderr)
        generate(log, args.events)
        run_cli(data, config, "index", str(log))
        # Many people at once: the daemon allows each user 4 questions in flight.
        users = [f"bench-{n}" for n in range(max(1, -(-args.chats // 4)))]
        for n, name in enumerate(users):
            role = "admin" if n == 0 else "analyst"  # serve needs an admin
            run_cli(data, config, "users", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
        process, base = start_daemon(data, config)
        try:
            tokens = [_sign_in(base, name) for name in users]
            load = asyncio.run(_load(base, tokens, args.chats))
            rest_rate = asyncio.run(_rest_rate(base, tokens, args.rest_requests, 8))
            memory = _rss_mib(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=60)
        started = time.perf_counter()
        for i in range(args.cli_runs):
            run_cli(data, config, "ask", "--no-llm", QUESTIONS[i % len(QUESTIONS)]["q"])
        cli_rate = args.cli_runs / (time.perf_counter() - started)
    print()
    print(f"serve.answer_threads = {args.answer_threads}")
    print("| events | chats | errors | first token p50 / p95 | answer p50 / p95 | all chats | /healthz p50 / p99 "
          "(n) | REST ask --no-llm | `logchat ask --no-llm` processes | daemon RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.events:,} | {load['chats']} | {load['errors']} "
          f"| {load['ttft_p50']:.2f} s / {load['ttft_p95']:.2f} s "
          f"| {load['answer_p50']:.2f} s / {load['answer_p95']:.2f} s | {load['wall']:.1f} s "
          f"| {load['health_p50'] * 1000:.1f} ms / {load['health_p99'] * 1000:.1f} ms ({load['health_n']}) "
          f"| {rest_rate:.1f} req/s | {cli_rate:.2f} /s ({rest_rate / cli_rate:.0f}x) | {memory:.0f} MiB |")
    print(f"{load['streamed']} of {load['chats']} chats had tokens streamed by the model; the others were answered "
          "extractively")
    for why, count in load["extractive"].items():  # type: ignore[attr-defined]
        print(f"  {count} x {why}")
    if load["errors"]:
        print(f"first error: {load['first_error']}")


if __name__ == "__main__":
    main()
