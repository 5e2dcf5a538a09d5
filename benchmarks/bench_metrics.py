"""What the Prometheus metrics cost: a hot route's requests/s with metrics on and off, and the time of a
scrape of /metrics itself (store values read from the database, and from the cache).

Two `logchat serve` processes over the same store (SQLite, a sample log indexed), one with
`metrics.enabled = false`: the obvious alternative to measuring is not measuring. Rounds alternate
between them so that the noise of a shared machine falls on both; the best round of each is shown.

    .venv/bin/python benchmarks/bench_metrics.py [--requests 3000] [--concurrency 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from daemon_process import run_cli, start_daemon

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple"
SAMPLE = REPO / "logchat" / "examples"


async def _load(base: str, path: str, headers: dict[str, str], requests: int, concurrency: int) -> float:
    """Requests per second for ``requests`` GETs of ``path`` by ``concurrency`` clients."""
    import aiohttp

    remaining = requests

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            async with session.get(base + path, headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(session) for _ in range(10)))  # warm up connections and caches
        remaining = requests
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


async def _scrape_ms(base: str, scrapes: int) -> float:
    """Median milliseconds of one /metrics scrape."""
    import aiohttp

    times = []
    async with aiohttp.ClientSession() as session:
        for _ in range(scrapes):
            started = time.perf_counter()
            async with session.get(base + "/metrics") as response:
                await response.read()
            times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[len(times) // 2]


async def _token(base: str) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.post(
        base + "/api/v1/auth/login", json={"username": "bench-admin", "password": PASSWORD}
    ) as response:
        return str((await response.json())["access_token"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "data"
        configs = {}
        for name, body in (("on", "[metrics]\nenabled = true\n"), ("off", "[metrics]\nenabled = false\n"),
                           ("on, no cache", "[metrics]\nenabled = true\nstore_cache_seconds = 0\n")):
            configs[name] = root / f"{name.replace(' ', '').replace(',', '-')}.toml"
            configs[name].write_text("[serve]\nlogin_rate_per_minute = 0\n" + body, encoding="utf-8")
        run_cli(data, configs["on"], "users", "add", "bench-admin", "--role", "admin", "--password-stdin",
             stdin=PASSWORD + "\n")
        run_cli(data, configs["on"], "index", str(SAMPLE))

        daemons = {name: start_daemon(data, config) for name, config in configs.items()}
        try:
            tokens = {name: asyncio.run(_token(base)) for name, (_, base) in daemons.items()}
            routes = {"/healthz": False, "/api/v1/logs/stats": True}
            best: dict[tuple[str, str], float] = {}
            for _ in range(args.rounds):
                for route, signed in routes.items():
                    for name in ("off", "on"):
                        base = daemons[name][1]
                        headers = {"Authorization": f"Bearer {tokens[name]}"} if signed else {}
                        rate = asyncio.run(_load(base, route, headers, args.requests, args.concurrency))
                        best[(route, name)] = max(best.get((route, name), 0.0), rate)
            cached = asyncio.run(_scrape_ms(daemons["on"][1], 50))
            cold = asyncio.run(_scrape_ms(daemons["on, no cache"][1], 50))
        finally:
            for process, _ in daemons.values():
                process.terminate()
                process.wait(timeout=60)

    print(f"\nmetrics cost on a hot route: {args.requests} GETs by {args.concurrency} clients, best of "
          f"{args.rounds} alternating rounds\n")
    print(f"| {'route':<22} | {'metrics off (req/s)':>19} | {'metrics on (req/s)':>18} | {'on / off':>8} |")
    print(f"|{'-' * 24}|{'-' * 21}|{'-' * 20}|{'-' * 10}|")
    for route in routes:
        off, on = best[(route, "off")], best[(route, "on")]
        print(f"| {route:<22} | {off:>19,.0f} | {on:>18,.0f} | {on / off:>8.3f} |")
    print(f"\n| {'/metrics scrape (median of 50)':<40} | {'ms':>6} |")
    print(f"|{'-' * 42}|{'-' * 8}|")
    print(f"| {'store values from the cache':<40} | {cached:>6.1f} |")
    print(f"| {'store values read from the database':<40} | {cold:>6.1f} |")


if __name__ == "__main__":
    main()
