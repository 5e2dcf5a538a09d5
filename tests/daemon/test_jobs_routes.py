"""Reloading over HTTP: a background job with progress and the `reload --json` summary, one at a time
per daemon (409 naming the running job), failures reported on the job. Real stores, real ingest lock."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from daemon_helpers import bearer
from test_search_routes import app_lines, write

RELOAD = "/api/v1/logs/reload"
# A hang guard, never a timing assertion: a job that is not done after this long is stuck.
HANG_GUARD_SECONDS = 60


def configure_sources(services: Any, *paths: Path) -> None:
    from logchat.config import SourceSettings

    services.settings.sources = [SourceSettings(path=str(path)) for path in paths]


async def start(client: Any, token: str, body: dict[str, Any] | None = None) -> str:
    response = await client.post(RELOAD, json=body or {}, headers=bearer(token))
    data = await response.json()
    assert response.status == 202, data
    assert response.headers["Location"] == data["href"] == f"/api/v1/logs/jobs/{data['job']}"
    assert data["state"] == "running"
    return data["job"]  # type: ignore[no-any-return]


async def finished(client: Any, token: str, job_id: str) -> dict[str, Any]:
    from logchat.daemon.jobs import JOBS

    registry = client.app[JOBS]
    await asyncio.wait_for(registry.wait(registry.get(job_id)), HANG_GUARD_SECONDS)
    response = await client.get(f"/api/v1/logs/jobs/{job_id}", headers=bearer(token))
    assert response.status == 200
    return await response.json()  # type: ignore[no-any-return]


async def test_a_reload_job_runs_to_success_with_the_reload_json_summary(
    client: Any, services: Any, tokens: dict[str, str], tmp_path: Path
) -> None:
    from logchat.services.ingest import IngestReport

    lines = app_lines(30)
    app = write(tmp_path / "app.jsonl", lines)
    configure_sources(services, app)
    job_id = await start(client, tokens["analyst"])
    job = await finished(client, tokens["analyst"], job_id)
    assert job["state"] == "succeeded", job
    assert job["kind"] == "reload" and job["started_by"] == "analyst" and job["error"] is None
    assert job["finished_at"] >= job["started_at"]
    summary = job["summary"]
    assert set(summary) == set(IngestReport().to_dict()) | {"vectors"}  # what `reload --json` prints
    assert summary["ok"] is True
    assert summary["new_events"] == summary["new_lines"] == len(lines)
    assert [source["location"] for source in summary["sources"]] == [str(app)]
    assert summary["vectors"]["template_vectors"] > 0  # the index follows the reload, as the CLI's does
    progress = job["progress"]
    assert progress["bytes_read"] == summary["bytes_read"] == app.stat().st_size
    assert progress["lines_read"] == len(lines) and progress["events_added"] == len(lines)
    assert progress["sources_done"] == 1 and progress["source"] is None
    # Nothing new the second time; a window is taken as the CLI takes --since/--until.
    write(app, lines + app_lines(4, start=30))
    windowed = await start(client, tokens["admin"], {"since": "2026-11-02 19:00:16"})
    again = await finished(client, tokens["admin"], windowed)
    assert again["state"] == "succeeded", again
    assert again["summary"]["new_lines"] == 4
    assert again["summary"]["sources"][0]["skipped"] == 2  # lines 30 and 31 are stamped 19:00:15
    assert again["window"]["since"].startswith("2026-11-02T19:00:16")


async def test_a_second_reload_while_one_runs_is_409_naming_the_running_job(
    client: Any, services: Any, tokens: dict[str, str], tmp_path: Path
) -> None:
    from logchat.storage.locks import ingest_lock

    configure_sources(services, write(tmp_path / "app.jsonl", app_lines(10)))
    services.settings.ingest.lock_timeout_seconds = HANG_GUARD_SECONDS
    # A `logchat index` in another process, as far as the job can tell: it waits for the lock.
    with ingest_lock(services.store, services.settings.data_dir):
        running = await start(client, tokens["analyst"])
        for token in (tokens["analyst"], tokens["admin"]):
            response = await client.post(RELOAD, json={}, headers=bearer(token))
            body = await response.json()
            assert response.status == 409, body
            assert body["error"]["code"] == "reload_running"
            assert body["error"]["job"] == running
            assert running in body["error"]["message"]
        response = await client.get(f"/api/v1/logs/jobs/{running}", headers=bearer(tokens["analyst"]))
        assert (await response.json())["state"] == "running"
    job = await finished(client, tokens["analyst"], running)
    assert job["state"] == "succeeded", job
    assert job["summary"]["new_events"] == 10
    # Once it is done, the next one starts.
    assert (await finished(client, tokens["admin"], await start(client, tokens["admin"])))["state"] == "succeeded"


async def test_failures_are_reported_on_the_job(
    client: Any, services: Any, tokens: dict[str, str], tmp_path: Path
) -> None:
    from logchat.storage.locks import ingest_lock

    token = tokens["analyst"]
    # No sources configured: the same message as `logchat reload`.
    job = await finished(client, token, await start(client, token))
    assert job["state"] == "failed" and job["summary"] is None
    assert "no sources configured" in job["error"]["message"]
    # Another writer holds the store past the wait: StoreBusy, as the CLI reports it.
    configure_sources(services, write(tmp_path / "app.jsonl", app_lines(5)))
    services.settings.ingest.lock_timeout_seconds = 0
    with ingest_lock(services.store, services.settings.data_dir):
        job = await finished(client, token, await start(client, token))
    assert job["state"] == "failed"
    assert job["error"]["code"] == "store_busy"
    assert "another logchat index/reload is writing" in job["error"]["message"]
    # One source unreadable, the other read: the summary says which, the job failed as `reload` exits 1.
    good = write(tmp_path / "good.jsonl", app_lines(3))
    configure_sources(services, tmp_path / "missing.log", good)
    job = await finished(client, token, await start(client, token))
    assert job["state"] == "failed"
    assert job["error"]["code"] == "reload_failed"
    assert str(tmp_path / "missing.log") in job["error"]["message"]
    by_location = {source["location"]: source for source in job["summary"]["sources"]}
    assert by_location[str(good)]["new_events"] == 3
    assert job["summary"]["ok"] is False


async def test_reload_requests_are_checked(client: Any, services: Any, tokens: dict[str, str]) -> None:
    response = await client.post(RELOAD, json={"since": "whenever"}, headers=bearer(tokens["analyst"]))
    body = await response.json()
    assert response.status == 422 and body["error"]["field"] == "since", body
    response = await client.post(RELOAD, json={"window": "1h"}, headers=bearer(tokens["analyst"]))
    assert response.status == 422 and (await response.json())["error"]["field"] == "window"
    for path in (RELOAD, "/api/v1/logs/jobs/anything"):
        method = client.post if path == RELOAD else client.get
        response = await method(path, json={}, headers=bearer(tokens["viewer"]))
        assert response.status == 403, path
    response = await client.get("/api/v1/logs/jobs/0123456789abcdef", headers=bearer(tokens["analyst"]))
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"


async def test_stopping_the_daemon_stops_a_reload_after_its_current_batch(
    client: Any, services: Any, tokens: dict[str, str], tmp_path: Path
) -> None:
    from logchat.daemon.jobs import JOBS
    from logchat.storage.locks import ingest_lock

    configure_sources(services, write(tmp_path / "app.jsonl", app_lines(40)))
    services.settings.ingest.lock_timeout_seconds = HANG_GUARD_SECONDS
    services.settings.ingest.batch_size = 5
    registry = client.app[JOBS]
    with ingest_lock(services.store, services.settings.data_dir):
        job_id = await start(client, tokens["admin"])
        stopping = asyncio.ensure_future(registry.close())  # what the app's cleanup does
        await asyncio.sleep(0)
    await asyncio.wait_for(stopping, HANG_GUARD_SECONDS)
    job = registry.get(job_id).to_dict()
    assert job["state"] == "failed"
    assert job["error"]["code"] == "cancelled"
    # The batch it was writing is kept, with its checkpoint: the next reload goes on from there.
    assert job["progress"]["events_added"] == 5
    from logchat.services.ingest import reload_sources

    report = reload_sources(services.store, services.settings)
    assert report.new_events == 35


def test_the_registry_keeps_the_last_jobs_and_every_running_one() -> None:
    from logchat.daemon.jobs import FAILED, SUCCEEDED, Job, JobRegistry

    registry = JobRegistry(limit=3)
    running = Job(id="r", kind="reload", started_by="x")
    registry._remember(running)
    for index in range(5):
        registry._remember(Job(id=f"j{index}", kind="reload", started_by="x", state=(SUCCEEDED, FAILED)[index % 2]))
    assert [job for job in ("r", "j0", "j1", "j2", "j3", "j4") if job in registry._jobs] == ["r", "j3", "j4"]
    assert registry.running_reload() is running
