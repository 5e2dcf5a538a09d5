"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from logchat.daemon.endpoints import PUBLIC, Call, endpoint


class Alive(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "degraded", "unready"]
    checks: dict[str, str]
    replica: str | None = None  # which daemon process answered (several replicas behind one address)
    # With [serve] follow: this replica's follower (state standby | following | restarting | stopped).
    follow: dict[str, Any] | None = None


@endpoint("GET", "/healthz", access=PUBLIC, summary="The process is alive (no I/O).", tag="health",
          response=Alive)
async def healthz(call: Call) -> Alive:
    return Alive()


@endpoint("GET", "/readyz", access=PUBLIC, summary="The store answers; Redis too when configured.",
          tag="health", response=Readiness)
async def readyz(call: Call) -> Any:
    from aiohttp import web

    from logchat.daemon.app import run_blocking
    from logchat.daemon.cluster import CLUSTER
    from logchat.daemon.follower import FOLLOWER

    checks = await run_blocking(call.request, _check_dependencies, call.services)
    status = "unready" if any(value != "ok" for value in checks.values()) else "ready"
    follower = call.request.app.get(FOLLOWER)
    following = follower is not None and call.services.settings.serve.follow
    body = Readiness(status=status, checks=checks, replica=call.request.app[CLUSTER].replica_id,
                     follow=follower.status.to_dict() if following else None  # type: ignore[union-attr]
                     ).model_dump(exclude=None if following else {"follow"})
    return web.json_response(body, status=200 if status == "ready" else 503)


def _check_dependencies(services: Any) -> dict[str, str]:
    from sqlalchemy import text

    checks: dict[str, str] = {}
    try:
        with services.store.session() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready", reported by name
        checks["database"] = f"error: {type(exc).__name__}"
    if services.settings.redis.url:
        try:
            # A real read of the shared sign-in state: what every request needs from Redis.
            services.auth.revocations.is_revoked(token_id="readiness-probe")  # nosec B106  # an id looked up
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    return checks
