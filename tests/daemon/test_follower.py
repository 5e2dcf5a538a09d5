"""`[serve] follow`: the daemon follows its configured sources with the loop of `index --follow`. A line
appended to a source becomes searchable through the API with no reload; a stop commits the lines
appended before it; with Redis, one replica follows and another takes over when it stops."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from daemon_helpers import bearer
from sqlalchemy import text
from test_replicas import call, deploy, http, replica_id  # noqa: F401  (deploy and http are fixtures)
from test_replicas import tokens as sign_in_tokens

PATIENCE_SECONDS = 90.0


def _line(i: int, message: str) -> str:
    return f"2026-01-05T10:{i // 60 % 60:02d}:{i % 60:02d}+00:00 web-01 app[7]: {message}\n"


def _append(path: Path, *lines: str) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write("".join(lines))


async def _eventually(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def _stored_messages(store: Any) -> list[str]:
    with store.session() as session:
        return [message for (message,) in session.execute(text("SELECT message FROM events ORDER BY id"))]


async def test_an_appended_line_becomes_searchable_without_a_reload_and_a_stop_commits_the_last_lines(
        tmp_path: Path, settings: Any, services: Any, tokens: dict[str, str]) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from logchat.config import SourceSettings
    from logchat.daemon.app import create_app
    from logchat.daemon.follower import FOLLOWER
    from logchat.daemon.jobs import JOBS

    log = tmp_path / "app.log"
    log.write_text("".join(_line(i, f"request {i} served") for i in range(5)), encoding="utf-8")
    settings.sources = [SourceSettings(path=str(log), name="app")]
    settings.serve.follow = True
    settings.ingest.follow_poll_interval = 0.2
    token = tokens["analyst"]
    async with TestClient(TestServer(create_app(settings, services))) as client:
        async def search(words: str) -> list[dict[str, Any]]:
            response = await client.get("/api/v1/logs/search", params={"q": words},
                                        headers=bearer(token))
            body = await response.json()
            assert response.status == 200, body
            return body["hits"]  # type: ignore[no-any-return]

        async def state() -> dict[str, Any]:
            response = await client.get("/readyz")
            body = await response.json()
            assert response.status == 200, body
            return body["follow"]  # type: ignore[no-any-return]

        await _eventually(lambda: search("request 4 served"), "the lines there at start are read")
        _append(log, _line(10, "payment gateway timeout ZXQ42"))
        hits = await _eventually(lambda: search("ZXQ42"), "the appended line is searchable")
        assert [hit["message"] for hit in hits] == ["payment gateway timeout ZXQ42"]
        assert hits[0]["source"] == "app" and hits[0]["line"] == 6
        follow = await state()
        assert follow["state"] == "following" and follow["files"] == 1 and follow["errors"] == []
        assert follow["new_events"] == 6
        assert list(client.app[JOBS]._jobs) == [] and settings.serve.reload_interval_seconds == 0  # no reload ran
        follower = client.app[FOLLOWER]
        # Appended just before the stop: read by the follow's last pass, committed before the store closes.
        _append(log, _line(11, "last words before the stop QWV77"))
    assert follower.status.state == "stopped"
    stored = _stored_messages(services.store)
    assert stored[-2:] == ["payment gateway timeout ZXQ42", "last words before the stop QWV77"]
    assert len(stored) == 7  # nothing read twice


async def test_without_follow_the_daemon_reads_nothing_by_itself(
        tmp_path: Path, settings: Any, services: Any) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from logchat.config import SourceSettings
    from logchat.daemon.app import create_app

    log = tmp_path / "app.log"
    log.write_text(_line(1, "request 1 served"), encoding="utf-8")
    settings.sources = [SourceSettings(path=str(log))]
    async with TestClient(TestServer(create_app(settings, services))) as client:
        response = await client.get("/readyz")
        assert "follow" not in await response.json()
        await asyncio.sleep(0.5)  # would be enough for a follower polling every 0.2 s: there is none
    assert _stored_messages(services.store) == []


async def test_one_replica_follows_and_the_other_takes_over_when_it_stops(
        deploy: Any, http: Any, tmp_path: Path) -> None:  # noqa: F811
    deployment = deploy(lines=3, extra_serve="follow = true\n")
    await replica_id(http, deployment.a)
    await replica_id(http, deployment.b)

    async def states() -> dict[str, str]:
        found = {}
        for name, replica in (("a", deployment.a), ("b", deployment.b)):
            if replica.process.poll() is None:
                _, ready = await call(http, "GET", replica.base + "/readyz")
                found[name] = ready["follow"]["state"]
        return found

    async def one_follows() -> str | None:
        found = await states()
        following = [name for name, state in found.items() if state == "following"]
        others = [state for name, state in found.items() if name not in following]
        return following[0] if len(following) == 1 and all(state == "standby" for state in others) else None

    leader = await _eventually(one_follows, "exactly one replica follows, the other stands by")
    first, second = (deployment.a, deployment.b) if leader == "a" else (deployment.b, deployment.a)
    token = (await sign_in_tokens(http, second, "analyst"))["access_token"]

    async def found(words: str) -> list[dict[str, Any]]:
        status, body = await call(http, "GET", second.base + f"/api/v1/logs/search?q={words}", token)
        assert status == 200, body
        return body["hits"]  # type: ignore[no-any-return]

    _append(deployment.log_path, _line(20, "appended while the first replica follows KPR11"))
    await _eventually(lambda: found("KPR11"), "the line followed by one replica is searchable on the other")

    first.process.send_signal(signal.SIGTERM)
    assert first.process.wait(timeout=PATIENCE_SECONDS) == 0

    async def second_follows() -> bool:
        return (await states()).get("b" if leader == "a" else "a") == "following"

    await _eventually(second_follows, "the other replica takes the follow over")
    _append(deployment.log_path, _line(21, "appended after the take-over ZMT93"))
    hits = await _eventually(lambda: found("ZMT93"), "the line is followed by the replica that took over")
    assert [hit["line"] for hit in hits] == [5]
    everything = await _eventually(lambda: found("appended"), "both appended lines")
    assert sorted(hit["line"] for hit in everything) == [4, 5]  # each once: nothing read twice


async def test_a_source_removed_or_disabled_is_no_longer_followed_and_the_others_are(
    tmp_path: Path, settings: Any, services: Any, tokens: dict[str, str]
) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from logchat.daemon.app import create_app

    logs = {name: tmp_path / f"{name}.log" for name in ("kept", "removed", "disabled")}
    for name, path in logs.items():
        path.write_text(_line(0, f"{name} started"), encoding="utf-8")
    settings.serve.follow = True
    settings.ingest.follow_poll_interval = 0.2
    admin = bearer(tokens["admin"])
    async with TestClient(TestServer(create_app(settings, services))) as client:

        async def follow_state() -> dict[str, Any]:
            response = await client.get("/readyz")
            return (await response.json())["follow"]  # type: ignore[no-any-return]

        for name, path in logs.items():
            response = await client.post(
                "/api/v1/logs/configured-sources", json={"name": name, "path": str(path)}, headers=admin
            )
            assert response.status == 201, await response.text()

        async def all_three_followed() -> bool:
            return (await follow_state())["files"] == 3 and len(_stored_messages(services.store)) == 3

        await _eventually(all_three_followed, "the three sources added are followed")
        response = await client.delete("/api/v1/logs/configured-sources/removed", headers=admin)
        assert response.status == 204, await response.text()
        response = await client.patch(
            "/api/v1/logs/configured-sources/disabled", json={"enabled": False}, headers=admin
        )
        assert response.status == 200, await response.text()

        async def only_one_followed() -> bool:
            return (await follow_state())["files"] == 1

        await _eventually(only_one_followed, "the removed and the disabled sources are no longer followed")
        for name, path in logs.items():
            _append(path, _line(1, f"{name} appended later"))

        async def kept_line_stored() -> bool:
            return "kept appended later" in _stored_messages(services.store)

        await _eventually(kept_line_stored, "the line appended to the source still configured")
        assert (await follow_state())["errors"] == []
    # The stop's last pass reads the files still followed only; what was read before stays stored.
    assert sorted(_stored_messages(services.store)) == [
        "disabled started",
        "kept appended later",
        "kept started",
        "removed started",
    ]
