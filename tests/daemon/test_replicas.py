"""Two real `logchat serve` processes on one PostgreSQL and one Redis behave as one service: sign-in
state, reload jobs and their frames, the schedule, questions in flight per account, and a replica
killed in the middle of a reload."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import PASSWORD, bearer

ADDRESS = re.compile(r"serving on (http://[^/\s]+)/")
INTERVAL = 2.0  # seconds between scheduled reloads, where a test turns them on
# How long a test waits for something that happens in a few seconds on an idle machine.
PATIENCE_SECONDS = 90.0


@dataclass
class Replica:
    process: subprocess.Popen[str]
    base: str
    replica_id: str = ""
    logged: list[str] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return self.base.replace("http", "ws", 1) + "/api/v1/ws"


def write_log(path: Path, lines: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            out.write(f"2026-01-05T{10 + i // 3600 % 10:02d}:{i // 60 % 60:02d}:{i % 60:02d}+00:00 web-{i % 7:02d} "
                      f"sshd[{1000 + i % 50}]: Failed password for user{i % 300} from 10.0.{i % 250}.{i % 200} "
                      f"port {1024 + i % 5000} ssh2\n")


def start_replica(config: Path, data_dir: Path) -> Replica:
    process = subprocess.Popen(
        [sys.executable, "-m", "logchat", "--config", str(config), "--data-dir", str(data_dir), "serve", "--port", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    assert process.stderr is not None
    seen: list[str] = []
    for line in process.stderr:  # ends if the process exits: a start-up failure cannot hang the test
        seen.append(line)
        found = ADDRESS.search(line)
        if found:
            # Keep draining what it logs: a full pipe would stall it.
            threading.Thread(target=lambda: seen.extend(process.stderr or ()), daemon=True).start()
            return Replica(process, found.group(1), logged=seen)
    process.wait(timeout=30)
    raise AssertionError(f"the replica did not start (exit {process.returncode}): {''.join(seen)}")


@dataclass
class Deployment:
    replicas: list[Replica]
    log_path: Path
    config: Path

    @property
    def a(self) -> Replica:
        return self.replicas[0]

    @property
    def b(self) -> Replica:
        return self.replicas[1]


@pytest.fixture
def deploy(tmp_path: Path, postgres_url: str, redis_url: str, redis_prefix: str,
           password_hash: str) -> Iterator[Callable[..., Deployment]]:
    """Two replicas on the test's PostgreSQL schema and Redis prefix, each with a data dir of its own
    (as two pods), an admin and an analyst; ``lines`` events in the configured source."""
    started: list[Replica] = []

    def make(*, lines: int = 10, reload_interval: float = 0.0, extra_serve: str = "",
             llm: str = 'provider = "none"') -> Deployment:
        from logchat.services.accounts import UserInfo  # noqa: F401  (the models are registered)
        from logchat.storage import auth_repo
        from logchat.storage.db import open_store
        from logchat.storage.models import User

        log_path = tmp_path / "app.log"
        write_log(log_path, lines)
        # Not in the working directory, where the reference ingest of a test would read it.
        config = tmp_path / "deployment.toml"
        config.write_text(
            f'[database]\nurl = "{postgres_url}"\n\n[redis]\nurl = "{redis_url}"\nkey_prefix = "{redis_prefix}"\n\n'
            f'[auth]\njwt_secret = "{"s" * 48}"\nmax_failed_logins = 3\n\n[llm]\n{llm}\n\n'
            f"[serve]\nreload_interval_seconds = {reload_interval}\nlogin_rate_per_minute = 0\n"
            f"ask_rate_per_minute = 0\nreload_rate_per_minute = 0\nshutdown_grace_seconds = 5\n{extra_serve}\n"
            f'[[sources]]\npath = "{log_path}"\n',
            encoding="utf-8",
        )
        store = open_store(postgres_url)
        try:
            now = datetime.now(UTC)
            with store.session() as session:
                for name in ("admin", "analyst"):
                    auth_repo.add_user(session, User(
                        username=name, password_hash=password_hash, role=name, enabled=True, token_version=0,
                        created_at=now, updated_at=now, password_changed_at=now))
        finally:
            store.close()
        for name in ("a", "b"):
            started.append(start_replica(config, tmp_path / f"data-{name}"))
        return Deployment(list(started), log_path, config)

    yield make
    for replica in started:
        if replica.process.poll() is None:
            replica.process.kill()
        replica.process.wait(timeout=60)
        # Shown by pytest when the test failed: what each replica logged.
        print(f"--- replica {replica.base} (exit {replica.process.returncode}):\n{''.join(replica.logged)[-20000:]}")


@pytest.fixture
async def http() -> AsyncIterator[Any]:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        yield session


async def call(http: Any, method: str, url: str, token: str | None = None, **body: Any) -> tuple[int, Any]:
    async with http.request(method, url, json=body if body else None,
                            headers=bearer(token) if token else {}) as response:
        text = await response.text()
        return response.status, json.loads(text) if text else None


async def sign_in(http: Any, replica: Replica, username: str, password: str = PASSWORD) -> tuple[int, Any]:
    return await call(http, "POST", replica.base + "/api/v1/auth/login", username=username, password=password)


async def tokens(http: Any, replica: Replica, username: str) -> dict[str, str]:
    status, pair = await sign_in(http, replica, username)
    assert status == 200, pair
    return pair  # type: ignore[no-any-return]


async def replica_id(http: Any, replica: Replica) -> str:
    status, ready = await call(http, "GET", replica.base + "/readyz")
    assert status == 200 and ready["checks"] == {"database": "ok", "redis": "ok"}, ready
    replica.replica_id = ready["replica"]
    return replica.replica_id


async def open_socket(http: Any, replica: Replica, token: str) -> Any:
    ws = await http.ws_connect(replica.ws_url)
    await ws.send_json({"type": "auth", "token": token})
    ready = await ws.receive_json(timeout=PATIENCE_SECONDS)
    assert ready["type"] == "ready", ready
    return ws


async def frames_until(ws: Any, done: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Every frame the socket receives up to and including the first for which ``done`` holds."""
    seen: list[dict[str, Any]] = []

    async def read() -> list[dict[str, Any]]:
        while True:
            frame = await ws.receive_json()
            seen.append(frame)
            if done(frame):
                return seen

    # One deadline for all of them (a per-receive timeout restarts at every heartbeat ping).
    try:
        return await asyncio.wait_for(read(), PATIENCE_SECONDS)
    except TimeoutError:
        raise AssertionError(f"the awaited frame never came; got {seen}") from None


async def eventually(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` (a coroutine function) until it returns something truthy."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


async def test_sign_out_and_sign_in_throttling_hold_on_every_replica(deploy: Any, http: Any) -> None:
    cluster = deploy()
    a, b = cluster.a, cluster.b
    pair = await tokens(http, a, "analyst")
    assert (await call(http, "GET", b.base + "/api/v1/auth/me", pair["access_token"]))[0] == 200
    # A refresh token issued by A is traded on B, once: the old one is spent on A too.
    status, renewed = await call(http, "POST", b.base + "/api/v1/auth/refresh", refresh_token=pair["refresh_token"])
    assert status == 200, renewed
    status, error = await call(http, "POST", a.base + "/api/v1/auth/refresh", refresh_token=pair["refresh_token"])
    assert status == 401, error
    # Signed out through A: B refuses both tokens of that sign-in.
    status, _ = await call(http, "POST", a.base + "/api/v1/auth/logout", renewed["access_token"],
                           refresh_token=renewed["refresh_token"])
    assert status == 204
    status, error = await call(http, "GET", b.base + "/api/v1/auth/me", renewed["access_token"])
    assert status == 401, error
    status, error = await call(http, "POST", b.base + "/api/v1/auth/refresh", refresh_token=renewed["refresh_token"])
    assert status == 401, error
    # auth.max_failed_logins = 3, counted over both replicas: two failures on A, one on B lock the name.
    for replica in (a, a, b):
        assert (await sign_in(http, replica, "admin", "wrong password"))[0] == 401
    for replica in (a, b):
        status, error = await sign_in(http, replica, "admin")
        assert status == 429 and error["error"]["code"] == "too_many_attempts", error


async def test_questions_in_flight_are_counted_over_both_replicas(deploy: Any, http: Any, fake_ollama: Any) -> None:
    from test_question_quota import _release

    fake_ollama.reply = "Failed passwords for several users [E1]."
    fake_ollama.chunk_delay = PATIENCE_SECONDS  # one token, then the answer stalls until released
    model = (f'provider = "ollama"\nmodel = "llama3.2"\nbase_url = "{fake_ollama.url}"\ntimeout_seconds = 300.0\n'
             "connect_timeout_seconds = 5.0")
    cluster = deploy(extra_serve="questions_per_user = 1", llm=model)
    a, b = cluster.a, cluster.b
    token = (await tokens(http, a, "analyst"))["access_token"]
    status, started = await call(http, "POST", a.base + "/api/v1/logs/reload", token)
    assert status == 202, started

    async def reloaded() -> bool:
        status, job = await call(http, "GET", a.base + f"/api/v1/logs/jobs/{started['job']}", token)
        assert status == 200 and job["state"] in ("running", "succeeded"), job
        return job["state"] == "succeeded"  # type: ignore[no-any-return]

    await eventually(reloaded, "the reload of the configured source")
    on_a = await open_socket(http, a, token)
    try:
        await on_a.send_json({"type": "ask", "id": "q1", "question": "failed password for user7"})
        await eventually(lambda: _now(bool(fake_ollama.chat_requests)), "the question on A reaching the model")
        # The account's one slot is in use on A: B refuses its next question (even one it would answer
        # without the model).
        status, error = await call(http, "POST", b.base + "/api/v1/ask", token, question="failed password",
                                   no_llm=True)
        assert status == 429 and error["error"]["code"] == "too_many_questions", error
        assert "at most 1 questions at once" in error["error"]["message"]
    finally:
        _release(fake_ollama)
    answered = await frames_until(on_a, lambda f: f["type"] in ("answer", "error") and f.get("id") == "q1")
    assert answered[-1]["type"] == "answer", answered[-1]
    await on_a.close()

    async def asked_on_b() -> bool:
        status, body = await call(http, "POST", b.base + "/api/v1/ask", token, question="failed password",
                                  no_llm=True)
        assert status in (200, 429), body
        return status == 200

    # A gave the slot back once its answer was done: B answers.
    await eventually(asked_on_b, "a question on B once A's answer was done")


async def _now(value: Any) -> Any:
    return value


async def test_a_reload_started_on_one_replica_is_followed_from_the_other(deploy: Any, http: Any) -> None:
    cluster = deploy(lines=60_000)
    a, b = cluster.a, cluster.b
    runner = await replica_id(http, a)
    token = (await tokens(http, a, "analyst"))["access_token"]
    on_b = await open_socket(http, b, token)
    status, started = await call(http, "POST", a.base + "/api/v1/logs/reload", token)
    assert status == 202, started
    job_id = started["job"]
    # One reload at a time across replicas: B names the job A runs.
    status, refused = await call(http, "POST", b.base + "/api/v1/logs/reload", token)
    assert status == 409 and refused["error"]["job"] == job_id, refused
    frames = await frames_until(on_b, lambda f: f["type"] == "job" and f["job"]["state"] != "running")
    reports = [f["job"] for f in frames if f["type"] == "job"]
    assert {report["id"] for report in reports} == {job_id}
    assert reports[0]["state"] == "running" and reports[-1]["state"] == "succeeded", reports[-1]
    assert all(report["replica"] == runner for report in reports)
    assert reports[-1]["summary"]["new_events"] == 60_000
    # The job as B shows it, once finished: A's record, shared.
    status, job = await call(http, "GET", b.base + f"/api/v1/logs/jobs/{job_id}", token)
    assert status == 200 and job["state"] == "succeeded" and job["replica"] == runner, job
    assert job["summary"]["new_events"] == 60_000 and job["progress"]["events_added"] == 60_000
    assert (await call(http, "GET", b.base + "/api/v1/logs/jobs/0123456789abcdef", token))[0] == 404

    # `/reload` on a socket of A: that socket gets its command's own frames, the socket on B the job frames.
    on_a = await open_socket(http, a, token)
    await on_a.send_json({"type": "ask", "id": "r1", "question": "/reload"})
    own = await frames_until(on_a, lambda f: f["type"] in ("command", "error") and f.get("id") == "r1")
    assert own[-1]["type"] == "command", own[-1]
    second = own[-1]["job"]["id"]
    assert own[-1]["job"]["state"] == "succeeded" and not [f for f in own if f["type"] == "job"]
    frames = await frames_until(on_b, lambda f: f["type"] == "job" and f["job"]["id"] == second
                                and f["job"]["state"] != "running")
    assert frames[-1]["job"]["summary"]["new_events"] == 0
    # Each report reached B once: no echo of B's own delivery, no second copy through Redis.
    finals = [f for f in frames if f["type"] == "job" and f["job"]["state"] != "running"]
    assert len(finals) == 1
    await on_a.close()
    await on_b.close()


async def test_the_scheduled_reload_runs_once_per_interval_across_replicas(deploy: Any, http: Any) -> None:
    cluster = deploy(lines=100, reload_interval=INTERVAL, extra_serve="chat_retention_days = 30")
    a, b = cluster.a, cluster.b
    admin = (await tokens(http, a, "admin"))["access_token"]

    async def scheduled_runs() -> list[dict[str, Any]]:
        status, page = await call(http, "GET", a.base + "/api/v1/admin/audit?actor=scheduler&action=logs.reload",
                                  admin)
        assert status == 200, page
        return page["entries"]  # type: ignore[no-any-return]

    await eventually(lambda: _at_least(scheduled_runs, 4), "four scheduled reloads")
    runs = await scheduled_runs()
    slots = []
    for entry in runs:
        job_id = entry["target"].removeprefix("job ")
        status, job = await call(http, "GET", b.base + f"/api/v1/logs/jobs/{job_id}", admin)
        assert status == 200 and job["started_by"] == "scheduler", job
        slots.append(int(datetime.fromisoformat(job["started_at"]).timestamp() // INTERVAL))
    assert len(set(slots)) == len(slots), f"two scheduled reloads in one interval: {sorted(slots)}"
    # The first run read the file; later runs found nothing new: nothing was read twice.
    new_events = sorted(entry["detail"].get("new_events", 0) for entry in runs)
    assert new_events[-1] == 100 and sum(new_events) == 100, runs
    # Each replica ran some ticks and left the others to the replica that claimed them.
    listings = [(await call(http, "GET", r.base + "/api/v1/admin/jobs", admin))[1] for r in (a, b)]
    reload_runs = [next(j for j in listing["jobs"] if j["name"] == "reload")["runs"] for listing in listings]
    assert sum(reload_runs) >= len(runs)
    # Retention ran at start-up on one replica; the other found this hour's run claimed (unless the two
    # start-ups fell on either side of an hour boundary: then each hour's run is its own).
    retention = [next(j for j in listing["jobs"] if j["name"] == "retention") for listing in listings]
    hours = {datetime.fromisoformat(job["last_run"]).timestamp() // 3600 for job in retention}
    expected = ["skipped", "succeeded"] if len(hours) == 1 else ["succeeded", "succeeded"]
    assert sorted(job["last_outcome"] for job in retention) == expected, listings


async def _at_least(fetch: Callable[[], Any], count: int) -> bool:
    return len(await fetch()) >= count


async def test_a_replica_killed_mid_reload_loses_and_doubles_nothing(deploy: Any, http: Any, tmp_path: Path) -> None:
    from logchat.config import load_settings
    from logchat.services.ingest import index_inputs
    from logchat.storage.db import open_store

    lines = 150_000
    cluster = deploy(lines=lines, reload_interval=INTERVAL)
    by_id = {await replica_id(http, replica): replica for replica in cluster.replicas}
    token = (await tokens(http, cluster.a, "analyst"))
    access = token["access_token"]

    async def running_job() -> dict[str, Any] | None:
        """The reload that runs now (scheduled, or started here), once it has committed some events."""
        status, body = await call(http, "POST", cluster.a.base + "/api/v1/logs/reload", access)
        job_id = body["job"] if status == 202 else body["error"]["job"]
        status, job = await call(http, "GET", cluster.a.base + f"/api/v1/logs/jobs/{job_id}", access)
        assert status == 200, job
        if job["state"] != "running":
            return None
        while job["state"] == "running" and job["progress"]["events_added"] == 0:
            await asyncio.sleep(0.1)
            job = (await call(http, "GET", by_id[job["replica"]].base + f"/api/v1/logs/jobs/{job_id}", access))[1]
        return job if job["state"] == "running" else None

    job = await eventually(running_job, "a reload in progress")
    doomed = by_id[job["replica"]]
    survivor = next(replica for replica in cluster.replicas if replica is not doomed)
    # A client of the doomed replica has a conversation in a session of its own.
    ws = await open_socket(http, doomed, access)
    await ws.send_json({"type": "ask", "id": "q1", "question": "/session before-the-crash"})
    await frames_until(ws, lambda f: f.get("id") == "q1" and f["type"] == "command")
    await ws.send_json({"type": "ask", "id": "q2", "question": "which users failed to sign in?", "no_llm": True})
    answered = await frames_until(ws, lambda f: f.get("id") == "q2" and f["type"] in ("answer", "error"))
    assert answered[-1]["type"] == "answer", answered[-1]

    status, still = await call(http, "GET", doomed.base + f"/api/v1/logs/jobs/{job['id']}", access)
    assert status == 200 and still["state"] == "running", "the kill must land in the middle of the reload"
    doomed.process.send_signal(signal.SIGKILL)
    doomed.process.wait(timeout=60)
    await ws.close()

    # The survivor's next scheduled runs take over once the dead replica's lease has expired, and read
    # the rest of the file from the committed checkpoint.
    async def finished_total() -> int | None:
        status, stats = await call(http, "GET", survivor.base + "/api/v1/logs/stats", access)
        assert status == 200, stats
        return stats["total"] if stats["total"] >= lines else None

    total = await eventually(finished_total, "the survivor finishing the ingest")
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    settings = load_settings(data_dir=reference_dir, database={"url": f"sqlite:///{reference_dir / 'logchat.db'}"})
    reference = open_store(settings.database_url)
    try:
        uninterrupted = index_inputs(reference, settings, [str(cluster.log_path)]).new_events
    finally:
        reference.close()
    assert total == uninterrupted == lines
    # The killed job is reported as lost by the replica that is left, not as running for ever.
    status, lost = await call(http, "GET", survivor.base + f"/api/v1/logs/jobs/{job['id']}", access)
    assert status == 200 and lost["state"] == "failed" and lost["error"]["code"] == "replica_lost", lost

    # The client reconnects to the survivor: its sign-in and its session are there.
    status, pair = await call(http, "POST", survivor.base + "/api/v1/auth/refresh",
                              refresh_token=token["refresh_token"])
    assert status == 200, pair
    ws = await open_socket(http, survivor, pair["access_token"])
    await ws.send_json({"type": "ask", "id": "q3", "question": "/session before-the-crash"})
    reply = (await frames_until(ws, lambda f: f.get("id") == "q3" and f["type"] in ("command", "error")))[-1]
    assert reply["type"] == "command", reply
    assert [turn["question"] for turn in reply["messages"]] == ["which users failed to sign in?"]
    await ws.close()
