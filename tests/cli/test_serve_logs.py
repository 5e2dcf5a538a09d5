"""The daemon's own log as an operator ships it: with `logging.format = "json"` every line on stderr is
one JSON object with the request's id, route, user and duration, the id a client sent comes back in
the response and the log, and nothing captured holds a password, a token, the JWT secret, a password
hash or a question's text."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
from test_serve_cli import PASSWORD, logchat, start, stop

QUESTION = "why did the zebra quasar reject logins?"  # words no other line of the run holds


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
    return parsed


async def _session_of_work(base: str) -> dict[str, Any]:
    """Sign in, fail a sign-in, refresh, ask over HTTP and over the socket, sign out."""
    seen: dict[str, Any] = {}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/v1/auth/login", json={"username": "ops", "password": "wrong password!"}) as r:
            assert r.status == 401
        async with http.post(f"{base}/api/v1/auth/login", json={"username": "ops", "password": PASSWORD},
                             headers={"X-Request-ID": "trace-me-42"}) as r:
            assert r.status == 200 and r.headers["X-Request-ID"] == "trace-me-42"
            pair = await r.json()
        async with http.post(f"{base}/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}) as r:
            assert r.status == 200
            pair2 = await r.json()
        headers = {"Authorization": f"Bearer {pair2['access_token']}"}
        async with http.post(f"{base}/api/v1/ask", json={"question": QUESTION, "no_llm": True}, headers=headers) as r:
            assert r.status == 200
            seen["ask_request_id"] = r.headers["X-Request-ID"]
        async with http.ws_connect(base.replace("http", "ws", 1) + "/api/v1/ws") as ws:
            await ws.send_json({"type": "auth", "token": pair2["access_token"]})
            ready = await ws.receive_json(timeout=60)
            assert ready["type"] == "ready" and ready["request_id"]
            await ws.send_json({"type": "ask", "id": "q1", "question": QUESTION, "no_llm": True})
            while (frame := await ws.receive_json(timeout=60))["type"] != "answer":
                assert frame["type"] != "error", frame
            # The question is a request of its own, distinct from the socket's.
            assert frame["id"] == "q1" and frame["request_id"] not in ("", ready["request_id"])
        async with http.post(f"{base}/api/v1/auth/logout", json={"refresh_token": pair2["refresh_token"]},
                             headers=headers) as r:
            assert r.status in (200, 204)
    seen["secrets"] = [PASSWORD, "wrong password!", pair["access_token"], pair["refresh_token"],
                       pair2["access_token"], pair2["refresh_token"], QUESTION, "zebra"]
    return seen


def test_json_log_lines_carry_the_request_and_never_a_secret(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert logchat(data, "index", str(Path(__file__).parents[2] / "logchat" / "examples")).returncode == 0
    assert logchat(data, "users", "add", "ops", "--role", "admin", "--password-stdin", stdin=PASSWORD).returncode == 0
    config = tmp_path / "logchat.toml"
    config.write_text('[logging]\nformat = "json"\n')
    process, base = start(data, config=config)
    try:
        seen = asyncio.run(_session_of_work(base))
    finally:
        code, logged = stop(process)
    assert code == 0

    lines = _json_lines(logged)
    assert all({"timestamp", "level", "logger", "message"} <= set(line) for line in lines), lines
    access = [line for line in lines if line["logger"] == "logchat.daemon.access"]
    assert all({"request_id", "route", "duration_ms", "status"} <= set(line) for line in access), access
    routes = {(line["route"], line["status"]) for line in access}
    assert {("/api/v1/auth/login", 401), ("/api/v1/auth/login", 200), ("/api/v1/ask", 200)} <= routes
    # The id the client sent is the id logged; a signed-in request names its user.
    assert any(line["request_id"] == "trace-me-42" for line in access)
    asked = next(line for line in access if line["request_id"] == seen["ask_request_id"])
    assert asked["route"] == "/api/v1/ask" and isinstance(asked["user_id"], int)
    assert lines[-1]["message"] == "logchat: stopped"  # start and stop lines are JSON lines too

    # Nothing secret anywhere in what was captured: passwords, tokens, the question, the JWT secret
    # and the stored password hash.
    secrets = [*seen["secrets"], (data / "jwt-secret").read_text().strip()]
    with sqlite3.connect(data / "logchat.db") as db:
        secrets.append(db.execute("SELECT password_hash FROM users WHERE username = 'ops'").fetchone()[0])
    for secret in secrets:
        assert secret not in logged, f"the log holds {secret[:12]}…"


def test_logchat_reads_its_own_json_log(tmp_path: Path) -> None:
    """The JSON log is a log like any other: indexed, its levels and routes are there to ask about."""
    data = tmp_path / "data"
    logchat(data, "users", "add", "ops", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    config = tmp_path / "logchat.toml"
    config.write_text('[logging]\nformat = "json"\n')
    process, base = start(data, config=config)
    try:
        asyncio.run(_bad_sign_ins(base))
    finally:
        _, logged = stop(process)
    log_file = tmp_path / "daemon.log"
    log_file.write_text(logged)
    indexed = logchat(tmp_path / "other", "--quiet", "index", "--json", str(log_file))
    assert indexed.returncode == 0, indexed.stderr
    report = json.loads(indexed.stdout)
    assert report["sources"][0]["format"] == "json", report
    stats = json.loads(logchat(tmp_path / "other", "stat", "--json").stdout)
    assert stats["total"] == report["new_events"] and set(stats["by_level"]) == {"INFO"}, stats
    assert stats["time_span"]["first"] is not None  # the timestamps were read
    answer = json.loads(logchat(tmp_path / "other", "ask", "--no-llm", "--json",
                                "how many requests to /api/v1/auth/login?").stdout)
    assert answer["matched"] >= 3, answer


async def _bad_sign_ins(base: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(3):
            async with http.post(f"{base}/api/v1/auth/login", json={"username": "ops", "password": "nope nope!"}) as r:
                assert r.status == 401
