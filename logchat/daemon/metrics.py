"""The daemon's side of the metrics: the request-counting middleware, `/metrics` itself (who may read
it, and on which listener), and the optional listener of its own (``metrics.port``).

The metrics are defined in logchat/observability/metrics.py; docs/operations.md lists them.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import ipaddress
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from aiohttp import web

from logchat.daemon.endpoints import PUBLIC, Call, bearer_token, endpoint
from logchat.errors import NotFound, PermissionDenied, TokenInvalid
from logchat.observability.metrics import CONTENT_TYPE, exposition

if TYPE_CHECKING:
    from logchat.config import MetricsSettings
    from logchat.daemon.app import Services
    from logchat.daemon.middleware import Handler
    from logchat.observability.metrics import AnomalyFacts
    from logchat.storage.db import Store

log = logging.getLogger("logchat.daemon")

# Set on the application of the metrics' own listener (metrics.port): there /metrics is served, and on
# the API's port it is not.
METRICS_LISTENER = web.AppKey("metrics_listener", bool)


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request by its route template (never the raw path), method and status, and its duration."""
    from logchat.daemon.app import SERVICES

    metrics = request.app[SERVICES].metrics
    started = time.perf_counter()
    status = 500
    metrics.http_in_flight.inc()
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away before the answer
        raise
    finally:
        metrics.http_in_flight.dec()
        resource = request.match_info.route.resource
        metrics.observe_request(resource.canonical if resource is not None else None, request.method, status,
                                time.perf_counter() - started)


@endpoint("GET", "/metrics", access=PUBLIC, tag="operations", content_type=CONTENT_TYPE,
          summary="Prometheus metrics (text format 0.0.4); who may read them is set by [metrics] access.")
async def prometheus_metrics(call: Call) -> web.StreamResponse:
    from logchat.daemon.app import run_blocking

    settings = call.services.settings.metrics
    on_own_listener = call.request.app.get(METRICS_LISTENER, False)
    if not settings.enabled:
        raise NotFound("metrics are disabled (metrics.enabled = false)")
    if settings.port is not None and not on_own_listener:
        raise NotFound(f"metrics are served on their own port ({settings.port}), not on the API's")
    await _check_access(call, settings)
    body = await run_blocking(call.request, exposition, call.services.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def _check_access(call: Call, settings: MetricsSettings) -> None:
    from logchat.auth.permissions import Role
    from logchat.daemon.app import run_blocking

    if settings.access == "open":
        return
    if settings.access == "addresses":
        if not _address_allowed(call.request.remote, settings.allow_addresses):
            raise PermissionDenied("metrics may only be read from the addresses in metrics.allow_addresses")
        return
    token = bearer_token(call.request)
    if token is None:
        raise TokenInvalid("metrics need a bearer token: metrics.token or an admin's access token")
    expected = settings.token.get_secret_value() if settings.token is not None else None
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return
    principal = await run_blocking(call.request, call.services.auth.verify, token)
    if principal.role != Role.ADMIN:
        raise PermissionDenied("metrics need metrics.token or an admin's access token")


def _address_allowed(remote: str | None, networks: list[str]) -> bool:
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(network, strict=False) for network in networks)


def read_anomalies(store: Store) -> AnomalyFacts:
    """The anomaly report of `logchat stat --anomalies` with its defaults (the hour up to the newest event
    against the week before), as the metrics show it: the strongest templates, the new ones, the levels."""
    from logchat.observability.metrics import TOP_TEMPLATES, AnomalyFacts
    from logchat.services.anomalies import AnomalyQuery, find_anomalies

    report = find_anomalies(store, AnomalyQuery(top=TOP_TEMPLATES))
    return AnomalyFacts(
        templates=[(row["template_id"], row["kind"], row["level"] or "NONE", row["template"], row["score"])
                   for row in report["templates"]],
        new_patterns=report["counts"]["new"],
        levels={row["level"]: row["score"] for row in report["levels"]},
    )


def install(services: Services) -> None:
    """Hooks of the services into the metrics: store-wide gauges and rate-limit rejections."""
    settings = services.settings
    if settings.metrics.enabled:
        services.metrics.watch_store(services.store, settings, cache_seconds=settings.metrics.store_cache_seconds)
        services.metrics.watch_anomalies(functools.partial(read_anomalies, services.store),
                                         cache_seconds=settings.metrics.anomaly_cache_seconds)
    services.rate_limiter.on_reject = services.metrics.observe_rate_limited
    if settings.serve.reload_interval_seconds > 0:
        # Reloads are scheduled: "the last success" starts at the start, so that a daemon whose
        # reloads never succeed is seen as stalled (docs/operations.md, LogchatIngestionStalled).
        services.metrics.ingest.last_success.set_to_current_time()


async def own_listener(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: /metrics on a listener of its own when metrics.port is set, on the app's loop."""
    from logchat.daemon.app import SERVICES
    from logchat.daemon.endpoints import ENDPOINTS, add_routes
    from logchat.daemon.middleware import errors_as_json

    services = app[SERVICES]
    settings = services.settings
    if not settings.metrics.enabled or settings.metrics.port is None:
        yield
        return
    listener = web.Application(middlewares=[errors_as_json])
    listener[SERVICES] = services
    listener[METRICS_LISTENER] = True
    add_routes(listener, [spec for spec in ENDPOINTS if spec.handler is prometheus_metrics])
    runner = web.AppRunner(listener, access_log=None)
    await runner.setup()
    host = settings.metrics.host or settings.serve.host
    try:
        await web.TCPSite(runner, host, settings.metrics.port).start()
    except OSError as exc:
        await runner.cleanup()
        from logchat.errors import UsageError

        raise UsageError(f"cannot listen for metrics on {host}:{settings.metrics.port}: {exc.strerror}") from exc
    bound = runner.addresses[0]
    log.info("metrics on http://%s:%s/metrics", bound[0], bound[1])
    try:
        yield
    finally:
        await runner.cleanup()
