"""The application factory: resources in cleanup contexts, middleware, the routes of every module."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from logchat.daemon import ws as chat_socket
from logchat.daemon.cluster import own_cluster
from logchat.daemon.endpoints import ENDPOINTS, add_routes
from logchat.daemon.follower import following
from logchat.daemon.middleware import MIDDLEWARES, add_headers
from logchat.daemon.pool import in_pool
from logchat.daemon.quota import QuestionQuota
from logchat.daemon.ratelimit import RateLimiter, make_rate_limiter
from logchat.daemon.scheduler import background_jobs

if TYPE_CHECKING:
    from logchat.config import Settings
    from logchat.observability.metrics import DaemonMetrics
    from logchat.services.auth import AccessMode, AuthService
    from logchat.storage.db import Store

_T = TypeVar("_T")
# Bodies larger than this are refused with 413 before they are read (questions and account changes
# are small; nothing is uploaded).
MAX_BODY_BYTES = 64 * 1024


@dataclass
class Services:
    """What the handlers use; the tests may build it themselves around their own store."""

    settings: Settings
    store: Store
    auth: AuthService
    access_mode: AccessMode
    owns_store: bool = False  # opened by create_app itself: closed with the app
    rate_limiter: RateLimiter = field(init=False)
    # The services are synchronous (SQL, FAISS, Drain3, the model client): they run here, never on
    # the event loop. Bounded (serve.worker_threads), so a burst of work queues instead of starving
    # the machine.
    executor: ThreadPoolExecutor = field(init=False)
    # An answer holds its thread for as long as the model streams (minutes for a slow model), so answers
    # get a pool of their own (serve.answer_threads): however many are in flight, quick requests (a
    # sign-in check, /stat) always find a free worker in ``executor``. Answers beyond the pool's size
    # wait in its queue, holding no thread.
    answers: ThreadPoolExecutor = field(init=False)
    questions: QuestionQuota = field(init=False)
    # Prometheus metrics, in a registry of this application's own (observability/metrics.py).
    metrics: DaemonMetrics = field(init=False)

    def __post_init__(self) -> None:
        from logchat.daemon import metrics
        from logchat.observability.metrics import DaemonMetrics

        self.executor = ThreadPoolExecutor(self.settings.serve.worker_threads, "logchat-worker")
        self.answers = ThreadPoolExecutor(self.settings.serve.answer_threads, "logchat-answer")
        self.questions = QuestionQuota(self.settings.serve.questions_per_user)
        self.rate_limiter = make_rate_limiter(self.settings)
        self.metrics = DaemonMetrics()
        metrics.install(self)

    def close(self) -> None:
        self.answers.shutdown(wait=True, cancel_futures=True)
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.rate_limiter.close()
        self.auth.close()
        if self.owns_store:
            self.store.close()


SERVICES = web.AppKey("services", Services)


def build_services(settings: Settings, store: Store | None = None, *, allow_no_users: bool = False) -> Services:
    """The sign-in service over ``store`` (opened here when None); refuses to run without an enabled
    admin (see docs/permissions.md) unless ``allow_no_users``."""
    from logchat.services.auth import AuthService, ensure_admin_exists
    from logchat.storage.db import open_store, secure_data_dir

    owns_store = store is None
    if store is None:
        secure_data_dir(settings.data_dir)
        store = open_store(settings.database_url, echo=settings.database.echo)
    try:
        access_mode = ensure_admin_exists(store, allow_no_users)
        auth = AuthService(settings, store)
    except BaseException:
        if owns_store:
            store.close()
        raise
    return Services(settings=settings, store=store, auth=auth, access_mode=access_mode, owns_store=owns_store)


def create_app(
    settings: Settings, services: Services | None = None, *, allow_no_users: bool = False
) -> web.Application:
    """The daemon's application. Without ``services`` they are built (and closed) with the app."""
    from logchat.daemon import metrics

    counting = [metrics.count_requests] if settings.metrics.enabled else []
    app = web.Application(middlewares=[*counting, *MIDDLEWARES], client_max_size=MAX_BODY_BYTES)

    async def own_services(app: web.Application) -> AsyncIterator[None]:
        built = services or await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(build_services, settings, allow_no_users=allow_no_users)
        )
        app[SERVICES] = built
        yield
        await asyncio.get_running_loop().run_in_executor(None, built.close)

    app.cleanup_ctx.append(own_services)
    app.on_response_prepare.append(add_headers)
    chat_socket.setup(app)
    # What replicas share (Redis), before the jobs that use it.
    app.cleanup_ctx.append(own_cluster)
    # Reload jobs and the scheduler: after the services, so that they stop before the services close.
    app.cleanup_ctx.append(background_jobs)
    # Following the sources ([serve] follow): stopped (its last lines committed) before the jobs and services.
    app.cleanup_ctx.append(following)
    app.cleanup_ctx.append(metrics.own_listener)
    add_routes(app, ENDPOINTS)
    # The pages' scripts and styles: files of the package, never a directory listing.
    app.router.add_static("/static/", Path(__file__).parent / "web", show_index=False, follow_symlinks=False)
    return app


async def run_blocking(request: web.Request, function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """``in_pool`` for a request's handler."""
    return await in_pool(request.app[SERVICES], function, *args, **kwargs)
