"""The daemon's background jobs: the job functions called directly (no scheduler), and the scheduler
itself starting and stopping with the app and listed at /api/v1/admin/jobs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from daemon_helpers import bearer
from test_jobs_routes import HANG_GUARD_SECONDS, configure_sources
from test_search_routes import app_lines, write


async def test_a_scheduled_reload_is_skipped_not_queued_while_a_reload_runs(
    services: Any, tmp_path: Path
) -> None:
    from logchat.daemon.jobs import JobRegistry, RunStats
    from logchat.daemon.scheduler import reload_configured_sources, run_tracked
    from logchat.storage.locks import ingest_lock

    configure_sources(services, write(tmp_path / "app.jsonl", app_lines(10)))
    services.settings.ingest.lock_timeout_seconds = HANG_GUARD_SECONDS
    registry = JobRegistry()
    stats = RunStats("reload", "test", interval_seconds=60)
    try:
        with ingest_lock(services.store, services.settings.data_dir):
            running = registry.start_reload(services, window=None, started_by="analyst")  # as POST /logs/reload
            outcome = await run_tracked(stats, lambda: reload_configured_sources(services, registry))
            assert outcome.state == "skipped"
            assert running.id in (outcome.detail or "")
            assert [job for job in registry._jobs] == [running.id], "nothing was queued"
        await asyncio.wait_for(registry.wait(running), HANG_GUARD_SECONDS)
        assert running.state == "succeeded"
        assert (stats.last_outcome, stats.runs, stats.last_error) == ("skipped", 1, None)
        # With nothing running, the scheduled reload runs (and finds nothing new).
        outcome = await run_tracked(stats, lambda: reload_configured_sources(services, registry))
        assert outcome.state == "succeeded", outcome
        assert outcome.detail and "0 new events" in outcome.detail
        assert registry.running_reload() is None and len(registry._jobs) == 2
    finally:
        await registry.close()


async def test_each_reload_that_adds_events_refreshes_the_vector_index(services: Any, tmp_path: Path) -> None:
    from logchat.daemon.jobs import JobRegistry
    from logchat.daemon.scheduler import reload_configured_sources
    from logchat.services.vectors import vector_index_current

    app = write(tmp_path / "app.jsonl", app_lines(20))
    configure_sources(services, app)
    registry = JobRegistry()
    try:
        assert (await reload_configured_sources(services, registry)).state == "succeeded"
        vectors = registry.stats["vectors"]
        assert vectors.last_outcome == "succeeded" and vectors.runs == 1
        assert vector_index_current(services.store, services.settings)
        # Nothing new: the index is current, nothing is embedded.
        assert (await reload_configured_sources(services, registry)).state == "succeeded"
        assert (vectors.last_outcome, vectors.runs) == ("skipped", 2)
        # New lines with the embedder down: the lines are stored, the index update fails and says why.
        services.settings.embeddings.provider = "ollama"
        services.settings.embeddings.base_url = "http://127.0.0.1:9"
        write(app, app_lines(20) + app_lines(3, start=20))
        outcome = await reload_configured_sources(services, registry)
        assert outcome.state == "succeeded", outcome
        [job] = [job for job in registry._jobs.values()][-1:]
        assert job.summary is not None and job.summary["new_events"] == 3
        assert "error" in job.summary["vectors"]
        assert vectors.last_outcome == "failed" and vectors.last_error
    finally:
        await registry.close()


def _add_session(store: Any, name: str, *, updated: datetime, turns: list[datetime]) -> None:
    from logchat.storage.models import ChatSession, ChatTurn

    with store.session() as session:
        chat = ChatSession(name=name, created_at=updated, updated_at=updated)
        session.add(chat)
        session.flush()
        for position, created in enumerate(turns, start=1):
            session.add(ChatTurn(
                session_id=chat.id, position=position, question=f"q{position}", answer="a", mode="extractive",
                filters={}, matched=0, evidence_event_ids=[], citations=[], created_at=created,
            ))


def _chat_contents(store: Any) -> dict[str, list[str]]:
    from sqlalchemy import select

    from logchat.storage.models import ChatSession, ChatTurn

    with store.session() as session:
        names = {chat.id: chat.name for chat in session.scalars(select(ChatSession))}
        contents: dict[str, list[str]] = {name: [] for name in names.values()}
        for turn in session.scalars(select(ChatTurn).order_by(ChatTurn.position)):
            contents[names[turn.session_id]].append(turn.question)
    return contents


async def test_retention_deletes_old_turns_and_the_sessions_they_empty_only(services: Any) -> None:
    from logchat.daemon.scheduler import apply_retention

    now = datetime.now(UTC)
    old, recent = now - timedelta(days=40), now - timedelta(days=1)
    _add_session(services.store, "mixed", updated=recent, turns=[old, recent])
    _add_session(services.store, "all-old", updated=old, turns=[old, old])
    _add_session(services.store, "new-and-empty", updated=now, turns=[])
    _add_session(services.store, "old-and-empty", updated=old, turns=[])
    services.settings.serve.chat_retention_days = 0
    outcome = await apply_retention(services)
    assert outcome.state == "skipped"
    assert len(_chat_contents(services.store)) == 4
    services.settings.serve.chat_retention_days = 30
    outcome = await apply_retention(services)
    assert outcome.state == "succeeded"
    assert outcome.detail == "3 chat turns and 2 empty sessions older than 30 days deleted"
    assert _chat_contents(services.store) == {"mixed": ["q2"], "new-and-empty": []}


async def test_the_scheduler_runs_with_the_app_and_admin_jobs_lists_its_jobs(
    settings: Any, services: Any, tokens: dict[str, str]
) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from logchat.daemon.app import create_app
    from logchat.daemon.jobs import JOBS
    from logchat.daemon.scheduler import SCHEDULER

    settings.serve.reload_interval_seconds = 900
    settings.serve.chat_retention_days = 30
    started = datetime.now(UTC)
    async with TestClient(TestServer(create_app(settings, services))) as client:
        scheduler: Any = client.app[SCHEDULER]
        assert scheduler.running
        retention = client.app[JOBS].stats["retention"]
        for _ in range(HANG_GUARD_SECONDS * 20):  # retention runs once at start-up
            if retention.runs:
                break
            await asyncio.sleep(0.05)
        response = await client.get("/api/v1/admin/jobs", headers=bearer(tokens["admin"]))
        body = await response.json()
        assert response.status == 200, body
        assert body["scheduler_running"] is True
        jobs = {job["name"]: job for job in body["jobs"]}
        assert set(jobs) == {"reload", "retention", "vectors"}
        reload = jobs["reload"]
        assert reload["interval_seconds"] == 900 and reload["last_run"] is None and reload["runs"] == 0
        assert datetime.fromisoformat(reload["next_run"]) >= started + timedelta(seconds=900)
        cleanup = jobs["retention"]
        assert cleanup["last_outcome"] == "succeeded" and cleanup["last_error"] is None
        assert cleanup["last_duration_seconds"] >= 0
        assert datetime.fromisoformat(cleanup["next_run"]) >= datetime.fromisoformat(cleanup["last_run"])
        assert jobs["vectors"]["trigger"] == "after each reload" and jobs["vectors"]["next_run"] is None
        for role in ("analyst", "viewer"):
            response = await client.get("/api/v1/admin/jobs", headers=bearer(tokens[role]))
            assert response.status == 403
    assert not scheduler.running


async def test_the_scheduled_reload_reads_sources_kept_only_in_the_store(services: Any, tmp_path: Path) -> None:
    from logchat.daemon.jobs import JobRegistry, RunStats
    from logchat.daemon.scheduler import _timed_jobs, reload_configured_sources, run_tracked
    from logchat.services.configured_sources import add_source

    assert services.settings.sources == []
    app = write(tmp_path / "app.jsonl", app_lines(12))
    add_source(services.store, services.settings, name="app", path=str(app), actor="admin")
    services.settings.serve.reload_interval_seconds = 300
    registry = JobRegistry()
    try:
        assert [stats.name for stats, _ in _timed_jobs(services, registry)] == ["reload"]
        stats = RunStats("reload", "test", interval_seconds=300)
        outcome = await run_tracked(stats, lambda: reload_configured_sources(services, registry))
        assert outcome.state == "succeeded", outcome
        assert outcome.detail and "12 new events" in outcome.detail
        assert (stats.last_outcome, stats.last_error) == ("succeeded", None)
    finally:
        await registry.close()
