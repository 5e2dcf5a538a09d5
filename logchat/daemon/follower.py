"""The daemon follows its configured sources (`[serve] follow = true`) with the loop of
`logchat index --follow` (services/follow_configured.py), in a thread of its own for as long as the app
runs: appended lines become searchable within seconds, without reloads.

One follower per service: with Redis, the replicas share one lease (cluster.py, ``follow:lease``); the
replica holding it follows and renews it every second, the others stand by and one takes over once it
is released (a clean stop) or expires (a replica killed). On stop the follow reads what was appended
up to then, commits it and ends before the store is closed. Its state is shown by /readyz.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from logchat.daemon.cluster import CLUSTER, LocalCluster

if TYPE_CHECKING:
    from logchat.daemon.app import Services
    from logchat.services.follow import FollowReport

log = logging.getLogger("logchat.daemon.follower")

LEASE = "follow"
# The follower renews its lease this often; a replica killed while following is replaced this long
# after its last renewal.
RENEW_SECONDS = 1.0
LEASE_SECONDS = 10.0
# A replica standing by asks for the lease this often.
STANDBY_SECONDS = 2.0
# After the follow itself failed (the store was unreachable), it is started again after this long.
RESTART_SECONDS = 5.0


@dataclass
class FollowStatus:
    """What /readyz says about following: ``state`` is off | standby | following | restarting | stopped."""

    state: str = "off"
    since: float | None = None  # wall clock of the last change of state
    passes: int = 0
    files: int = 0
    new_events: int = 0
    new_lines: int = 0
    errors: list[str] = field(default_factory=list)  # sources that failed, and a store error
    outages: list[dict[str, Any]] = field(default_factory=list)

    def change(self, state: str) -> None:
        self.state, self.since = state, time.time()

    def record(self, report: FollowReport) -> None:
        self.passes, self.files = report.passes, report.files
        self.new_events, self.new_lines = report.ingest.new_events, report.ingest.new_lines
        errors = [message for source in report.ingest.sources if source.failed for message in source.errors]
        if report.ingest.error:
            errors.append(report.ingest.error)
        self.errors = errors
        self.outages = [outage.to_dict() for outage in report.outages]

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "since": self.since, "passes": self.passes, "files": self.files,
                "new_events": self.new_events, "new_lines": self.new_lines, "errors": self.errors,
                "outages": self.outages}


class SourceFollower:
    """Holds the lease, runs the follow in its thread, and stops both on ``close``."""

    def __init__(self, services: Services, cluster: LocalCluster) -> None:
        self.services = services
        self.cluster = cluster
        self.status = FollowStatus()
        self.stop = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.status.change("standby")
        self._task = asyncio.create_task(self._run(), name="logchat-follower")

    async def _run(self) -> None:
        while not self._closing:
            if not await self._claim():
                await asyncio.sleep(STANDBY_SECONDS)
                continue
            try:
                await self._follow_while_leased()
            finally:
                with contextlib.suppress(Exception):  # Redis away: the lease expires by itself
                    await self.cluster.release_lease(LEASE)
            if not self._closing:
                self.status.change("restarting")
                await asyncio.sleep(RESTART_SECONDS)

    async def _claim(self) -> bool:
        try:
            return await self.cluster.claim_lease(LEASE, LEASE_SECONDS)
        except Exception as exc:  # Redis unreachable: nobody can claim it; ask again later
            log.warning("cannot claim the follow lease: %s", exc)
            return False

    async def _follow_while_leased(self) -> None:
        self.stop.clear()
        self.status.change("following")
        thread = threading.Thread(target=self._follow, name="logchat-follow", daemon=True)
        self._thread = thread
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(RENEW_SECONDS)
            try:
                held = await self.cluster.renew_lease(LEASE, LEASE_SECONDS)
            except Exception as exc:  # no Redis: no other replica can take the lease over either
                log.warning("cannot renew the follow lease: %s", exc)
                continue
            if not held and not self.stop.is_set():
                log.warning("the follow lease was lost (expired); this replica stops following")
                self.stop.set()
        await asyncio.get_running_loop().run_in_executor(None, thread.join)

    def _follow(self) -> None:
        from logchat.services.follow_configured import follow_configured_sources

        try:
            report = follow_configured_sources(self.services.store, self.services.settings, stop=self.stop,
                                               on_pass=self.status.record)
            self.status.record(report)
        except Exception as exc:  # the follow failed as a whole: said here, restarted by _run
            log.exception("following the configured sources failed")
            self.status.errors = [f"{type(exc).__name__}: {exc}"]
        if self._closing:
            self.status.change("stopped")

    async def close(self) -> None:
        """Stop following: the lines appended up to now are read and committed first."""
        self._closing = True
        self.stop.set()
        if self._task is not None:
            if self._thread is None or not self._thread.is_alive():
                self._task.cancel()  # standing by or waiting to restart: nothing to finish
            # Following: the task ends once the follow has returned (it waits for the thread).
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            with contextlib.suppress(Exception):  # a claim cut short by the cancel may have taken it
                await self.cluster.release_lease(LEASE)
        self.status.change("stopped")


FOLLOWER = web.AppKey("follower", SourceFollower)


async def following(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: with `[serve] follow`, the follower runs as long as the app."""
    from logchat.daemon.app import SERVICES

    services = app[SERVICES]
    follower = SourceFollower(services, app[CLUSTER])
    app[FOLLOWER] = follower
    if services.settings.serve.follow:
        follower.start()
    try:
        yield
    finally:
        await follower.close()
