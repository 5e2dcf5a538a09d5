"""Background jobs on a timer: reload the configured sources (then the vector index), and delete log
events, chat history, audit entries and usage records past their retention periods.

The jobs are plain async functions of the services and the job registry, so tests call them
directly; APScheduler 3 (AsyncIOScheduler, on the app's own event loop) only decides when they run.
Their synchronous work runs in the services' thread pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from logchat.daemon.cluster import CLUSTER, LocalCluster
from logchat.daemon.jobs import FAILED, JOBS, SUCCEEDED, JobRegistry, ReloadRunning, RunStats
from logchat.daemon.pool import in_pool
from logchat.observability import logs
from logchat.observability.audit import Actor, acting_as

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from logchat.daemon.app import Services

log = logging.getLogger("logchat.daemon.scheduler")

# Retention is checked this often: turns expire by the day, an hour late is soon enough.
RETENTION_INTERVAL_SECONDS = 3600.0
SKIPPED = "skipped"


@dataclass(frozen=True)
class Outcome:
    state: str  # succeeded | failed | skipped
    detail: str | None = None


async def reload_configured_sources(services: Services, registry: JobRegistry) -> Outcome:
    """A reload of every configured source, as `logchat reload` (then the vector index). Skipped, not
    queued, while another reload runs (in this daemon or another replica): the next tick reads what it
    missed."""
    try:
        job = await registry.begin_reload(services, window=None, started_by="scheduler")
    except ReloadRunning as exc:
        return Outcome(SKIPPED, f"reload job {exc.job_id} is running")
    await registry.wait(job)
    if job.state == SUCCEEDED and job.summary is not None:
        return Outcome(SUCCEEDED, f"job {job.id}: {job.summary['new_events']} new events")
    return Outcome(FAILED, f"job {job.id}: {(job.error or {}).get('message', 'failed')}")


async def apply_retention(services: Services) -> Outcome:
    """Delete log events, chat turns, audit entries and usage records past their retention periods, as
    `logchat maintenance prune` does."""
    from logchat.services.maintenance import prune

    result = await in_pool(services, prune, services.store, services.settings)
    parts = [_pruned(kind, facts) for kind, facts in result["kinds"].items() if facts["days"]]
    if not parts:
        return Outcome(SKIPPED, "every retention period is 0: everything is kept forever")
    return Outcome(SUCCEEDED, "; ".join(parts))


def _pruned(kind: str, facts: dict[str, Any]) -> str:
    what = {"events": "log events", "chat": "chat turns", "audit": "audit entries", "usage": "usage records"}[kind]
    extra = f" and {facts['sessions_deleted']} empty sessions" if kind == "chat" else ""
    return f"{facts['deleted']} {what}{extra} older than {facts['days']:g} days deleted"


async def once_across_replicas(cluster: LocalCluster, name: str, interval_seconds: float,
                               job: Callable[[], Awaitable[Outcome]]) -> Outcome:
    """``job``, unless another replica has already claimed this interval's run of it."""
    if not await cluster.claim_slot(name, interval_seconds):
        return Outcome(SKIPPED, "another replica runs it this interval")
    return await job()


async def run_tracked(stats: RunStats, job: Callable[[], Awaitable[Outcome]]) -> Outcome:
    """Run one job and record its outcome for /api/v1/admin/jobs; a failure is recorded, never raised
    (the scheduler would only log it)."""
    started, clock = datetime.now(UTC), time.perf_counter()
    # A run is a request of its own for the log: its lines (and the reload job it starts) carry its id.
    with logs.bound(request_id=f"job-{uuid.uuid4().hex}", route=f"job:{stats.name}"), \
            acting_as(Actor("scheduler")):
        try:
            outcome = await job()
        except Exception as exc:
            log.exception("background job %s failed", stats.name)
            outcome = Outcome(FAILED, f"{type(exc).__name__}: {exc}")
        duration_ms = round((time.perf_counter() - clock) * 1000, 1)
        log.info("background job %s: %s (%s)", stats.name, outcome.state, outcome.detail,
                 extra={"duration_ms": duration_ms})
    stats.record(started, duration_ms / 1000, outcome.state, outcome.detail)
    return outcome


TimedJobs = list[tuple[RunStats, Callable[[], Awaitable[Outcome]]]]


def _timed_jobs(services: Services, registry: JobRegistry) -> TimedJobs:
    jobs = _configured_jobs(services, registry)
    if not registry.cluster.shared:
        return jobs
    return [(stats, functools.partial(once_across_replicas, registry.cluster, stats.name, stats.interval_seconds, job))
            for stats, job in jobs if stats.interval_seconds is not None]


def _configured_jobs(services: Services, registry: JobRegistry) -> TimedJobs:
    serve = services.settings.serve
    jobs = []
    if serve.reload_interval_seconds > 0:
        stats = RunStats("reload", "read what is new in every configured source, then update the vector index",
                         interval_seconds=serve.reload_interval_seconds)
        jobs.append((stats, functools.partial(reload_configured_sources, services, registry)))
    retention = services.settings.retention
    periods = {"log events": retention.events_days, "chat turns": serve.chat_retention_days,
               "audit entries": retention.audit_days, "usage records": retention.usage_days}
    kept = [f"{what} older than {days:g} days" for what, days in periods.items() if days > 0]
    if kept:
        stats = RunStats("retention", "delete " + ", ".join(kept), interval_seconds=RETENTION_INTERVAL_SECONDS)
        jobs.append((stats, functools.partial(apply_retention, services)))
    return jobs


def start_scheduler(services: Services, registry: JobRegistry) -> AsyncIOScheduler:
    """The scheduler on the running loop, with the jobs the configuration turns on."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=UTC)
    now = datetime.now(UTC)
    for stats, job in _timed_jobs(services, registry):
        registry.stats[stats.name] = stats
        assert stats.interval_seconds is not None
        # Retention runs once at start (a daemon that was down for weeks catches up), then on its
        # interval; a reload first waits one interval, like cron. A tick that falls while the same job
        # still runs is dropped (max_instances=1, coalesce), never queued.
        first_run: dict[str, Any] = {"next_run_time": now} if stats.name == "retention" else {}
        if registry.cluster.shared:
            # Every replica ticks in the middle of the same wall-clock slots, so that the slot a tick
            # claims (cluster.claim_slot) is the same on every replica even with clocks a little apart.
            first_run["start_date"] = _mid_slot(now, stats.interval_seconds)
        scheduler.add_job(
            run_tracked, "interval", args=(stats, job), id=stats.name, name=stats.name,
            seconds=stats.interval_seconds, max_instances=1, coalesce=True,
            misfire_grace_time=max(1, int(stats.interval_seconds)), **first_run,
        )
    scheduler.start()
    return scheduler


def _mid_slot(now: datetime, interval_seconds: float) -> datetime:
    """The middle of the next interval slot counted from the epoch."""
    epoch = now.timestamp()
    start = (epoch // interval_seconds) * interval_seconds + interval_seconds / 2
    if start <= epoch:
        start += interval_seconds
    return datetime.fromtimestamp(start, UTC)


def listing(registry: JobRegistry, scheduler: AsyncIOScheduler | None) -> list[dict[str, Any]]:
    """Each background job with its last run and, when on a timer, its next one."""
    rows = []
    for stats in registry.stats.values():
        scheduled = scheduler.get_job(stats.name) if scheduler is not None else None
        rows.append({
            "name": stats.name, "description": stats.description, "trigger": stats.trigger,
            "interval_seconds": stats.interval_seconds, "last_run": stats.last_run,
            "last_duration_seconds": stats.last_duration_seconds, "last_outcome": stats.last_outcome,
            "last_error": stats.last_error, "last_detail": stats.last_detail, "runs": stats.runs,
            "next_run": scheduled.next_run_time if scheduled is not None else None,
        })
    return rows


SCHEDULER = web.AppKey("scheduler", object)


async def background_jobs(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the job registry and the scheduler live as long as the app; on stop the
    scheduler stops first, then running reloads stop after their current batch."""
    from logchat.daemon import ws
    from logchat.daemon.app import SERVICES

    registry = JobRegistry(cluster=app[CLUSTER],
                           deliver=lambda user, frame, skip: ws.deliver(app, user, frame, skip))
    app[JOBS] = registry
    scheduler = start_scheduler(app[SERVICES], registry)
    for stats in registry.stats.values():
        stats.listener = app[SERVICES].metrics.observe_job
    app[SCHEDULER] = scheduler
    try:
        yield
    finally:
        scheduler.shutdown(wait=False)
        await registry.close()
