"""What every response goes through: a request id, errors as JSON, security headers, an access log
that names no token, password or question."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from logchat.errors import LogchatError

log = logging.getLogger("logchat.daemon")
access_log = logging.getLogger("logchat.daemon.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID = "X-Request-ID"
# The request's id, for handlers and log lines that want to name the request they serve.
REQUEST_ID_KEY = web.RequestKey("request_id", str)
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# The page loads only its own scripts and styles; no inline script, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def _request_id(request: web.Request) -> str:
    given = request.headers.get(REQUEST_ID, "")
    return given if _GOOD_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The request id, and one access-log line (route template, not the URL: a query string may hold
    a question)."""
    from logchat.observability import logs, tracing

    request_id = _request_id(request)
    request[REQUEST_ID_KEY] = request_id
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "-"
    started = time.perf_counter()
    # Every line logged while this request is handled (here, in its tasks and in the worker threads
    # it uses) names the request; the endpoint adds the user once the token is checked.
    with logs.bound(request_id=request_id, route=route), \
            tracing.span(f"{request.method} {route}", server=True, **{
                "http.request.method": request.method, "http.route": route}) as span:
        response = await handler(request)
        if span is not None:
            span.set_attribute("http.response.status_code", response.status)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        access_log.info("%s %s %s %.1fms", request.method, route, response.status, duration_ms,
                        extra={"status": response.status, "method": request.method, "duration_ms": duration_ms,
                               "user_id": logs.current("user_id")})
    return response


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error a client can get is ``{"error": {"code", "message", "field"?}}`` with its status."""
    try:
        return await handler(request)
    except LogchatError as exc:
        response = web.json_response(
            error_body(exc.code, exc.message, getattr(exc, "field", None)), status=exc.http_status
        )
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(max(1, round(retry_after)))
        if exc.http_status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="logchat"'
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(exc.status, "http_error")
        response = web.json_response(error_body(code, exc.reason), status=exc.status)
        for name in ("Allow",):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except Exception:
        log.exception("unexpected error in %s %s", request.method, request.match_info.route.resource)
        return web.json_response(error_body("internal_error", "internal error; see the daemon's log"), status=500)


_CORS_METHODS = "GET, POST, PATCH, DELETE"
_CORS_HEADERS = "Authorization, Content-Type, X-Request-ID"


def _allowed_origin(request: web.Request) -> str | None:
    from logchat.daemon.app import SERVICES

    origin = request.headers.get("Origin")
    if origin is None or SERVICES not in request.app:
        return None
    return origin if origin in request.app[SERVICES].settings.serve.cors_origins else None


@web.middleware
async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Off unless serve.cors_origins names the calling page's origin: then its preflight is answered
    and its responses may be read. Anything else is left to the browser's same-origin rule."""
    origin = _allowed_origin(request)
    if origin is not None and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response: web.StreamResponse = web.Response(status=204)
        response.headers.update({"Access-Control-Allow-Methods": _CORS_METHODS,
                                 "Access-Control-Allow-Headers": _CORS_HEADERS, "Access-Control-Max-Age": "600"})
    else:
        response = await handler(request)
    if origin is not None and not response.prepared:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "X-Request-ID, Retry-After"
        response.headers["Vary"] = "Origin"
    return response


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """The request id and the security headers, on every response, streamed ones included (this runs
    as the headers are sent, which a middleware would be too late for)."""
    response.headers.setdefault(REQUEST_ID, request.get(REQUEST_ID_KEY) or _request_id(request))
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")


MIDDLEWARES = [request_context, cors, errors_as_json]
