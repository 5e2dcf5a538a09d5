"""Several `logchat serve` replicas behind one address, on PostgreSQL and Redis.

Measures, in one run, with printed tables:
- the 200-socket chat load of bench_serve.py (fake Ollama streaming ~100 tokens/s) against ONE replica,
  then against TWO behind a round-robin TCP proxy (written here, asyncio; a connection that cannot reach
  one replica is sent to the next, as a load balancer does): chats ok/errors, first token p50/p95,
  chats per second, and what each replica adds (two-replica throughput / 2 / one-replica throughput);
- a rolling restart of the two replicas (SIGTERM one, wait until it is ready again, then the other)
  under a REST + WebSocket load whose clients retry a failed request once: failed requests (target 0).

Needs a PostgreSQL database and a Redis (a fresh schema and key prefix are used and removed):

    .venv/bin/python benchmarks/bench_replicas.py [--database-url URL] [--redis-url URL] [--events 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests"))

from bench_ask import generate  # noqa: E402
from bench_serve import PASSWORD, _load, _sign_in  # noqa: E402
from daemon_process import LOGCHAT, run_cli  # noqa: E402


class RoundRobinProxy:
    """A TCP proxy on its own thread and event loop: each connection goes to the next backend."""

    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self.connections: Counter[int] = Counter()
        self._turn = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.port = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = None
        for _ in range(len(self.backends)):
            port = self.backends[next(self._turn) % len(self.backends)]
            try:
                upstream = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                continue  # that replica is down: the next one
        if upstream is None:
            writer.close()
            return
        self.connections[port] += 1
        up_reader, up_writer = upstream
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_replica(data: Path, config: Path, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen([*LOGCHAT, "--config", str(config), "--data-dir", str(data), "--quiet", "serve",
                                "--port", str(port)], stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if "serving on" in line:
            threading.Thread(target=lambda: process.stderr and process.stderr.read(), daemon=True).start()
            return process
    raise SystemExit("a replica did not start")


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


async def _client(session, base: str, token: str, stop: asyncio.Event, counts: Counter[str], n: int) -> None:  # type: ignore[no-untyped-def]
    """REST and WebSocket requests in turn until ``stop``; a failed one is retried once."""
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"}

    async def rest() -> None:
        async with session.get(base + "/api/v1/logs/stats", headers=headers) as response:
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")
            await response.read()

    async def chat() -> None:
        async with session.ws_connect(base.replace("http", "ws", 1) + "/api/v1/ws") as ws:
            await ws.send_json({"type": "auth", "token": token})
            await ws.send_json({"type": "ask", "id": "q", "question": "how many sshd failures?", "no_llm": True})
            while True:
                frame = json.loads((await ws.receive(timeout=60)).data)
                if frame["type"] == "answer":
                    return
                if frame["type"] == "error":
                    raise RuntimeError(frame["code"])

    for i in itertools.count(n):
        if stop.is_set():
            return
        request = rest if i % 2 else chat
        kind = "rest" if i % 2 else "ws"
        for attempt in (1, 2):
            try:
                await request()
                counts[f"{kind} ok"] += 1
                if attempt == 2:
                    counts["retried"] += 1
                break
            except (TimeoutError, aiohttp.ClientError, RuntimeError, TypeError, ValueError):
                if attempt == 2:
                    counts[f"{kind} failed"] += 1
        await asyncio.sleep(0.05)


async def _rolling_restart(proxy: RoundRobinProxy, replicas: dict[int, subprocess.Popen[str]], data: Path,
                           config: Path, tokens: list[str], clients: int) -> tuple[Counter[str], float]:
    import aiohttp

    counts: Counter[str] = Counter()
    stop = asyncio.Event()
    base = f"http://127.0.0.1:{proxy.port}"
    # A fresh connection per request: each goes through the proxy's round robin, as behind a balancer.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        load = [asyncio.create_task(_client(session, base, tokens[n % len(tokens)], stop, counts, n))
                for n in range(clients)]
        started = time.perf_counter()
        await asyncio.sleep(3)
        for port in list(replicas):
            replicas[port].terminate()
            await asyncio.to_thread(replicas[port].wait, 60)
            replicas[port] = await asyncio.to_thread(start_replica, data / f"replica-{port}", config, port)
            while not await asyncio.to_thread(_ready, port):
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)
        stop.set()
        await asyncio.gather(*load)
        return counts, time.perf_counter() - started


def _seed_users(database_url: str, names: list[str]) -> None:
    from logchat.auth.passwords import PasswordHasher
    from logchat.storage import auth_repo
    from logchat.storage.db import open_store
    from logchat.storage.models import User

    hashed, now = PasswordHasher().hash(PASSWORD), datetime.now(UTC)
    store = open_store(database_url)
    try:
        with store.session() as session:
            for n, name in enumerate(names):
                role = "admin" if n == 0 else "analyst"  # serve needs an admin
                auth_repo.add_user(session, User(username=name, password_hash=hashed, role=role, enabled=True,
                                                 token_version=0, created_at=now, updated_at=now,
                                                 password_changed_at=now))
    finally:
        store.close()


def main() -> None:
    from fake_ollama import FakeOllama
    from sqlalchemy import create_engine, text

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20, help="REST+WS clients during the rolling restart")
    args = parser.parse_args()
    schema = f"lc_bench_{uuid.uuid4().hex[:10]}"
    prefix = f"logchat-bench:{uuid.uuid4().hex[:10]}:"
    admin = create_engine(args.database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in args.database_url else "?"
    database_url = f"{args.database_url}{separator}options=-csearch_path%3D{schema}"
    replicas: dict[int, subprocess.Popen[str]] = {}
    proxy = None
    try:
        with tempfile.TemporaryDirectory(prefix="logchat-bench-replicas-") as tmp, \
                FakeOllama(reply="Most failures come from one address [E1], see also [E2].") as model:
            model.chunk_delay = 0.01
            work = Path(tmp)
            log, config = work / "syslog.log", work / "logchat.toml"
            config.write_text(
                f'[database]\nurl = "{database_url}"\n\n[redis]\nurl = "{args.redis_url}"\nkey_prefix = "{prefix}"\n\n'
                f'[auth]\njwt_secret = "{uuid.uuid4().hex * 2}"\n\n'
                f'[llm]\nbase_url = "{model.url}"\ntimeout_seconds = 300\n\n[serve]\n'
                "login_rate_per_minute = 0\nask_rate_per_minute = 0\nworker_threads = 16\nanswer_threads = 4\n"
                "shutdown_grace_seconds = 10\n")
            print(f"generating and indexing {args.events:,} events ...", file=sys.stderr)
            generate(log, args.events)
            run_cli(work / "indexer", config, "index", str(log))
            users = [f"bench-{n}" for n in range(max(1, -(-args.chats // 4)))]
            _seed_users(database_url, users)
            ports = [_free_port(), _free_port()]
            replicas[ports[0]] = start_replica(work / f"replica-{ports[0]}", config, ports[0])
            base_one = f"http://127.0.0.1:{ports[0]}"
            tokens = [_sign_in(base_one, name) for name in users]
            print("200 chats against one replica ...", file=sys.stderr)
            one = asyncio.run(_load(base_one, tokens, args.chats))
            replicas[ports[1]] = start_replica(work / f"replica-{ports[1]}", config, ports[1])
            proxy = RoundRobinProxy(ports)
            print("200 chats against two replicas behind the proxy ...", file=sys.stderr)
            two = asyncio.run(_load(f"http://127.0.0.1:{proxy.port}", tokens, args.chats))
            spread = dict(proxy.connections)
            print("rolling restart under load ...", file=sys.stderr)
            counts, rolling_wall = asyncio.run(_rolling_restart(proxy, replicas, work, config, tokens, args.clients))
    finally:
        if proxy is not None:
            proxy.close()
        for process in replicas.values():
            process.terminate()
            process.wait(timeout=60)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        import redis

        client = redis.Redis.from_url(args.redis_url)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()

    print()
    print("Machine: 2 shared cores; the load, the proxy, the fake model and both replicas all run on it.")
    print("| setup | chats | ok | errors | first token p50 / p95 | all chats | chats/s | per replica vs one |")
    print("|---|---|---|---|---|---|---|---|")
    rates = {}
    for name, result, count in (("one replica", one, 1), ("two replicas + proxy", two, 2)):
        rate = result["chats"] / result["wall"]  # type: ignore[operator]
        rates[name] = rate
        ratio = rate / count / rates["one replica"]
        print(f"| {name} | {result['chats']} | {result['chats'] - result['errors']} | {result['errors']} "  # type: ignore[operator]
              f"| {result['ttft_p50']:.2f} s / {result['ttft_p95']:.2f} s | {result['wall']:.1f} s | {rate:.1f} "
              f"| {ratio:.2f}x |")
    print(f"connections per replica through the proxy: {spread}")
    print()
    print("| rolling restart (SIGTERM, wait ready, next) | duration | REST ok | WS chats ok | succeeded on retry "
          "| failed after retry |")
    print("|---|---|---|---|---|---|")
    failed = counts["rest failed"] + counts["ws failed"]
    print(f"| {args.clients} clients, REST + WS | {rolling_wall:.1f} s | {counts['rest ok']} | {counts['ws ok']} "
          f"| {counts['retried']} | {failed} |")
    for name in ("one replica", "two replicas + proxy"):
        result = one if name == "one replica" else two
        if result["errors"]:
            print(f"{name}: first error: {result['first_error']}")


if __name__ == "__main__":
    main()
