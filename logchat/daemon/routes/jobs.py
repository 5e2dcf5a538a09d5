"""Reloading over HTTP as a background job, following it, and the daemon's background jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from logchat.daemon.endpoints import Call, endpoint


class ReloadBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(default=None, max_length=200, description="Keep only events at or after this time.")
    until: str | None = Field(default=None, max_length=200, description="Keep only events before this time.")


class JobStarted(BaseModel):
    job: str
    state: Literal["running"]
    href: str


class JobProgressView(BaseModel):
    sources_done: int
    source: str | None
    source_bytes: int | None
    bytes_read: int
    lines_read: int
    events_added: int


class JobWindow(BaseModel):
    since: datetime | None
    until: datetime | None


class JobError(BaseModel):
    code: str
    message: str


class JobView(BaseModel):
    id: str
    kind: str
    state: Literal["running", "succeeded", "failed"]
    started_by: str
    replica: str | None = Field(default=None, description="the daemon process (replica) running it")
    window: JobWindow
    started_at: datetime
    finished_at: datetime | None
    progress: JobProgressView
    summary: dict[str, Any] | None = Field(description="`logchat reload --json` once the job has finished")
    error: JobError | None


class BackgroundJob(BaseModel):
    name: str
    description: str
    trigger: str
    interval_seconds: float | None
    last_run: datetime | None
    last_duration_seconds: float | None
    last_outcome: Literal["succeeded", "failed", "skipped"] | None
    last_error: str | None
    last_detail: str | None
    runs: int
    next_run: datetime | None


class BackgroundJobs(BaseModel):
    scheduler_running: bool
    jobs: list[BackgroundJob]


@endpoint("POST", "/api/v1/logs/reload", access="logs:reload", tag="logs", body=ReloadBody, response=JobStarted,
          status=202, rate_limit="reload",
          summary="Start reading what is new in every configured source; 409 while one runs.")
async def start_reload(call: Call) -> web.StreamResponse:
    from logchat.daemon.jobs import JOBS, ReloadRunning
    from logchat.daemon.middleware import error_body
    from logchat.services.event_scope import parse_window
    from logchat.services.ingest import TimeWindow

    body: ReloadBody = call.body
    since, until = parse_window(body.since, body.until, call.services.settings.ingest.default_timezone)
    registry = call.request.app[JOBS]
    started_by = call.principal.username if call.principal is not None else "anonymous"
    try:
        job = await registry.begin_reload(call.services, window=TimeWindow(since, until), started_by=started_by,
                                          notify_user=call.principal.username if call.principal is not None else None)
    except ReloadRunning as exc:
        error = error_body(exc.code, exc.message)
        error["error"]["job"] = exc.job_id
        return web.json_response(error, status=409)
    href = f"/api/v1/logs/jobs/{job.id}"
    started = JobStarted(job=job.id, state="running", href=href)
    return web.json_response(started.model_dump(), status=202, headers={"Location": href})


@endpoint("GET", "/api/v1/logs/jobs/{id}", access="logs:reload", tag="logs", response=JobView,
          summary="A reload job: state, progress and, once finished, the same summary as `reload --json`.")
async def get_job(call: Call) -> JobView:
    from logchat.daemon.jobs import JOBS

    return JobView.model_validate(await call.request.app[JOBS].find(call.request.match_info["id"]))


@endpoint("GET", "/api/v1/admin/jobs", access="logs:configure", tag="admin", response=BackgroundJobs,
          summary="The daemon's background jobs: interval, last run, duration, outcome, last error, next run.")
async def list_background_jobs(call: Call) -> BackgroundJobs:
    from logchat.daemon.jobs import JOBS
    from logchat.daemon.scheduler import SCHEDULER, listing

    scheduler: Any = call.request.app[SCHEDULER]
    return BackgroundJobs(
        scheduler_running=bool(scheduler.running),
        jobs=[BackgroundJob.model_validate(row) for row in listing(call.request.app[JOBS], scheduler)],
    )
