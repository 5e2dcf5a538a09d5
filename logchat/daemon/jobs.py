"""Reload jobs of the daemon: started over HTTP (`POST /api/v1/logs/reload`), by a chat command or by
the scheduler, run in the thread pool, followed at `GET /api/v1/logs/jobs/{id}`.

One reload at a time per daemon, and across every replica when `redis.url` is set (cluster.py):
starting one while another runs raises :class:`ReloadRunning` (409, naming the running job). Across
processes the ingest lock still serialises writers, so a reload that meets a `logchat index` in another
process fails with StoreBusy, reported as the job's error. Jobs live in memory, the last
:data:`MAX_JOBS` of them; with Redis their records are shared too, so any replica can show any job.
While a reload runs, and when it ends, a `job` frame goes to the chat sockets of whoever started it
(on every replica).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from logchat.daemon.cluster import LocalCluster
from logchat.daemon.pool import in_pool
from logchat.errors import Conflict, LogchatError, NotFound
from logchat.services.ingest import Progress, SourceReport

if TYPE_CHECKING:
    from logchat.daemon.app import Services
    from logchat.services.ingest import IngestReport, TimeWindow

log = logging.getLogger("logchat.daemon.jobs")

MAX_JOBS = 50
# How often a running job's record and its frames are refreshed, and its lease renewed.
REPORT_SECONDS = 1.0
RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"


class ReloadRunning(Conflict):
    """A reload was asked for while another one runs in this daemon."""

    code = "reload_running"

    def __init__(self, job_id: str) -> None:
        super().__init__(f"a reload is already running: job {job_id}",
                         hint=f"follow it at GET /api/v1/logs/jobs/{job_id}")
        self.job_id = job_id


class JobCancelled(LogchatError):
    """The daemon is stopping: a running reload stops after the batch it is writing (kept)."""

    http_status = 503
    code = "cancelled"


@dataclass
class JobProgress:
    """Updated by the worker thread as batches are committed; read by requests."""

    sources_done: int = 0
    source: str | None = None  # the source being read
    source_bytes: int | None = None  # its size still to read when it started (None: a stream)
    bytes_read: int = 0  # over every source so far
    lines_read: int = 0
    events_added: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources_done": self.sources_done, "source": self.source, "source_bytes": self.source_bytes,
            "bytes_read": self.bytes_read, "lines_read": self.lines_read, "events_added": self.events_added,
        }


@dataclass
class Job:
    id: str
    kind: str
    started_by: str  # the account's name, or "scheduler"
    since: datetime | None = None
    until: datetime | None = None
    state: str = RUNNING
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    progress: JobProgress = field(default_factory=JobProgress)
    summary: dict[str, Any] | None = None  # `reload --json` once finished
    error: dict[str, str] | None = None  # {"code", "message"} when failed
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    replica: str | None = None  # the daemon process running it
    notify_user: str | None = field(default=None, repr=False)  # whose sockets get its frames
    origin_socket: str | None = field(default=None, repr=False)  # the socket that asked (has its own frames)
    leased: bool = field(default=False, repr=False)  # holds the replicas' reload lease

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "state": self.state, "started_by": self.started_by,
            "replica": self.replica,
            "window": {"since": self.since, "until": self.until},
            "started_at": self.started_at, "finished_at": self.finished_at,
            "progress": self.progress.to_dict(), "summary": self.summary, "error": self.error,
        }


class _JobProgressListener(Progress):
    """The ingest Progress callbacks, written into the job (and the place a stop request is heard)."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._finished_bytes = 0
        self._finished_lines = 0
        self._finished_events = 0

    def start_source(self, report: SourceReport, total_bytes: int | None) -> None:
        self.job.progress.source = report.location
        self.job.progress.source_bytes = total_bytes

    def advance(self, report: SourceReport, bytes_done: int, lines_done: int) -> None:
        progress = self.job.progress
        progress.bytes_read = self._finished_bytes + bytes_done
        progress.lines_read = self._finished_lines + lines_done
        progress.events_added = self._finished_events + report.new_events
        if self.job.cancel.is_set():
            # Between two batches: what was committed stays, the next run resumes after it.
            raise JobCancelled("the daemon is stopping; the reload stopped after its last committed batch")

    def finish_source(self, report: SourceReport) -> None:
        self._finished_bytes += report.bytes_read
        self._finished_lines += report.new_lines
        self._finished_events += report.new_events
        progress = self.job.progress
        progress.bytes_read, progress.lines_read = self._finished_bytes, self._finished_lines
        progress.events_added = self._finished_events
        progress.sources_done += 1
        progress.source = None
        progress.source_bytes = None


@dataclass
class RunStats:
    """What /api/v1/admin/jobs shows of one background job."""

    name: str
    description: str
    interval_seconds: float | None = None  # None: not on a timer (see ``trigger``)
    trigger: str = "interval"
    last_run: datetime | None = None
    last_duration_seconds: float | None = None
    last_outcome: str | None = None  # succeeded | failed | skipped
    last_error: str | None = None
    last_detail: str | None = None
    runs: int = 0
    # Told (name, outcome, seconds) of every run: the daemon's metrics.
    listener: Callable[[str, str, float], None] | None = field(default=None, repr=False)

    def record(self, started: datetime, seconds: float, outcome: str, detail: str | None) -> None:
        self.last_run, self.last_duration_seconds, self.last_outcome = started, round(seconds, 3), outcome
        self.last_detail = detail
        if outcome == FAILED:
            self.last_error = detail
        self.runs += 1
        if self.listener is not None:
            self.listener(self.name, outcome, seconds)


# Given (user, frame, socket to skip): sends a frame to that user's sockets in this daemon.
LocalDelivery = Callable[[str, dict[str, Any], str | None], None]


class JobRegistry:
    """The daemon's reload jobs (the last MAX_JOBS) and the run statistics of its background jobs."""

    def __init__(self, limit: int = MAX_JOBS, *, cluster: LocalCluster | None = None,
                 deliver: LocalDelivery | None = None) -> None:
        self.limit = limit
        self.cluster = cluster or LocalCluster()
        self._deliver = deliver
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.stats: dict[str, RunStats] = {
            "vectors": RunStats("vectors", "bring the vector index up to date after a reload that added events",
                                trigger="after each reload"),
        }

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id!r} in this daemon (it keeps the last {self.limit})")
        return job

    def running_reload(self) -> Job | None:
        return next((job for job in self._jobs.values() if job.kind == "reload" and job.state == RUNNING), None)

    async def find(self, job_id: str) -> dict[str, Any]:
        """A job of this daemon, or of another replica (shared records); NotFound when neither has it."""
        job = self._jobs.get(job_id)
        if job is not None:
            return job.to_dict()
        record = await self.cluster.load_job(job_id)
        if record is None:
            where = ("the replicas' shared records" if self.cluster.shared
                     else f"this daemon (it keeps the last {self.limit})")
            raise NotFound(f"no job {job_id!r} in {where}")
        return record

    async def begin_reload(self, services: Services, *, window: TimeWindow | None, started_by: str,
                           notify_user: str | None = None, origin_socket: str | None = None) -> Job:
        """Start a reload unless one runs here or on another replica (ReloadRunning, naming it).
        ``notify_user``'s chat sockets get its progress and completion frames, except ``origin_socket``."""
        running = self.running_reload()
        if running is not None:
            raise ReloadRunning(running.id)
        job_id = uuid.uuid4().hex[:16]
        holder = await self.cluster.claim_reload(job_id)
        if holder is not None:
            raise ReloadRunning(holder)
        try:
            return self.start_reload(services, window=window, started_by=started_by, job_id=job_id,
                                     notify_user=notify_user, origin_socket=origin_socket, leased=self.cluster.shared)
        except BaseException:
            await self.cluster.release_reload(job_id)
            raise

    def start_reload(self, services: Services, *, window: TimeWindow | None, started_by: str,
                     job_id: str | None = None, notify_user: str | None = None, origin_socket: str | None = None,
                     leased: bool = False) -> Job:
        """Start a reload of the configured sources in the thread pool; ReloadRunning if one runs in
        this daemon (``begin_reload`` checks the other replicas too). Called on the event loop, so the
        check and the start cannot interleave with another."""
        running = self.running_reload()
        if running is not None:
            raise ReloadRunning(running.id)
        job = Job(id=job_id or uuid.uuid4().hex[:16], kind="reload", started_by=started_by,
                  since=window.since if window else None, until=window.until if window else None,
                  replica=self.cluster.replica_id, notify_user=notify_user, origin_socket=origin_socket,
                  leased=leased)
        self._remember(job)
        task = asyncio.get_running_loop().create_task(self._run_reload(services, job, window))
        self._tasks[job.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.id, None))
        return job

    async def wait(self, job: Job) -> Job:
        """The job once finished. Shielded: whoever waits may be cancelled, the job goes on."""
        task = self._tasks.get(job.id)
        if task is not None:
            await asyncio.shield(task)
        return job

    async def close(self) -> None:
        """Ask running jobs to stop after their current batch, and wait for them."""
        for job in self._jobs.values():
            job.cancel.set()
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _remember(self, job: Job) -> None:
        self._jobs[job.id] = job
        while len(self._jobs) > self.limit:
            oldest = next((key for key, old in self._jobs.items() if old.state != RUNNING), None)
            if oldest is None:
                break
            del self._jobs[oldest]

    async def _run_reload(self, services: Services, job: Job, window: TimeWindow | None) -> None:
        ingest_metrics = services.metrics.ingest
        # Lines, bytes and events are counted per source as each batch commits.
        listener = ingest_metrics.observer(services.settings, _JobProgressListener(job))
        reporter = asyncio.get_running_loop().create_task(self._report_while_running(job))
        try:
            await self._run_and_finish(services, job, window, listener)
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
            await self._report(job)
            if job.leased:
                await self._quietly("release the reload lease", self.cluster.release_reload(job.id))
        await self._audit(services, job)

    async def _run_and_finish(self, services: Services, job: Job, window: TimeWindow | None,
                              listener: Progress) -> None:
        from logchat.services.ingest import reload_sources

        ingest_metrics = services.metrics.ingest
        try:
            try:
                report = await in_pool(services, reload_sources, services.store, services.settings, window=window,
                                       progress=listener, reader_process=False)
            except BaseException:
                ingest_metrics.record_failed_run()
                raise
            ingest_metrics.record_run(report, services.settings)
            vectors = await self._refresh_vectors(services, report)
        except LogchatError as exc:
            self._finish(job, FAILED, error={"code": exc.code, "message": exc.message})
        except Exception as exc:  # a defect: reported on the job and logged with its traceback
            log.exception("reload job %s failed", job.id)
            self._finish(job, FAILED, error={"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"})
        else:
            summary = {**report.to_dict(), "vectors": vectors}
            if report.failed:
                failed = [s.location for s in report.sources if s.failed]
                message = report.error or f"{len(failed)} source(s) failed: {', '.join(failed)}"
                self._finish(job, FAILED, summary=summary, error={"code": "reload_failed", "message": message})
            else:
                self._finish(job, SUCCEEDED, summary=summary)

    async def _report_while_running(self, job: Job) -> None:
        while True:
            await self._report(job)
            if job.leased:
                await self._quietly("renew the reload lease", self.cluster.renew_reload(job.id))
            await asyncio.sleep(REPORT_SECONDS)

    async def _report(self, job: Job) -> None:
        """The job's record for the other replicas, and a `job` frame to the sockets of who started it."""
        record = job.to_dict()
        await self._quietly("share the job's record", self.cluster.save_job(record))
        if job.notify_user is None:
            return
        frame = {"type": "job", "job": record}
        if self._deliver is not None:
            self._deliver(job.notify_user, frame, job.origin_socket)
        await self._quietly("publish the job's frame", self.cluster.publish(job.notify_user, frame, job.origin_socket))

    @staticmethod
    async def _quietly(what: str, operation: Awaitable[Any]) -> None:
        # Sharing is best effort: a Redis blip must not fail the reload that is storing events.
        try:
            await operation
        except LogchatError as exc:
            log.warning("could not %s: %s", what, exc.message)

    @staticmethod
    async def _audit(services: Services, job: Job) -> None:
        """The reload in the audit trail, as whoever started it (the task runs in their context)."""
        from logchat.services import audit

        detail = {"since": job.since, "until": job.until, "started_by": job.started_by,
                  "new_events": (job.summary or {}).get("new_events"), "error": (job.error or {}).get("message")}
        await in_pool(services, audit.record, services.store, "logs.reload", target=f"job {job.id}",
                      outcome=audit.OK if job.state == SUCCEEDED else audit.FAILED,
                      detail={key: value for key, value in detail.items() if value is not None})

    async def _refresh_vectors(self, services: Services, report: IngestReport) -> dict[str, Any] | None:
        from logchat.services.maintenance import refresh_vectors_after

        started, clock = datetime.now(UTC), time.perf_counter()
        vectors = await in_pool(services, refresh_vectors_after, services.store, services.settings, report)
        if vectors is None:
            outcome = "skipped"
            detail = "the store failed during the reload" if report.error else "no new events; the index is current"
        elif "error" in vectors:
            outcome, detail = FAILED, str(vectors["error"])
        else:
            outcome = SUCCEEDED
            detail = f"{vectors['templates_embedded']} templates and {vectors['signatures_embedded']} windows embedded"
        self.stats["vectors"].record(started, time.perf_counter() - clock, outcome, detail)
        return vectors

    @staticmethod
    def _finish(job: Job, state: str, *, summary: dict[str, Any] | None = None,
                error: dict[str, str] | None = None) -> None:
        job.summary, job.error, job.finished_at = summary, error, datetime.now(UTC)
        job.state = state  # last: a reader that sees the final state sees the rest too
        new_events = summary.get("new_events") if summary else None
        log.info("reload job %s %s: %s", job.id, state,
                 (error or {}).get("message") or f"{new_events} new events", extra={"job_id": job.id})


JOBS = web.AppKey("jobs", JobRegistry)
