"""Routes declared once: method, path, who may call it, and the pydantic models of its input and
output. The router, the permission check, request validation and the OpenAPI document are all made
from this one table, so none of them can forget a route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from logchat.errors import PermissionDenied, TokenInvalid, UsageError
from logchat.observability.audit import Actor, act_as

if TYPE_CHECKING:
    from logchat.daemon.app import Services
    from logchat.services.auth import Principal

# Who may call an endpoint: anyone, anyone signed in, the holder of a token, or holders of one
# permission of the table in logchat/auth/permissions.py (and docs/permissions.md).
PUBLIC = "public"
SIGNED_IN = "signed-in"
# Needs a token but not a live one: signing out works with an expired access token or with the
# refresh token alone, so the handler checks the tokens it is given.
TOKEN_HOLDER = "token-holder"  # nosec B105  # the name of an access level


@dataclass
class Call:
    """One request as a handler sees it: validated input and the caller."""

    request: web.Request
    services: Services
    principal: Principal | None
    body: Any = None
    query: Any = None


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    access: str  # PUBLIC, SIGNED_IN or a permission name
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    streams: bool = False  # may answer text/event-stream instead of JSON
    # A bucket of daemon/ratelimit.py ("login", "ask", "reload"): counted per user, or per client
    # address for callers without an account.
    rate_limit: str | None = None
    # A route that answers something other than JSON (/metrics): its media type, for the OpenAPI document.
    content_type: str | None = None


ENDPOINTS: list[Endpoint] = []


def endpoint(
    method: str, path: str, *, access: str, summary: str, tag: str, body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None, response: type[BaseModel] | None = None, status: int = 200,
    streams: bool = False, rate_limit: str | None = None, content_type: str | None = None,
) -> Callable[[Handler], Handler]:
    """Declare a route; the module that holds it must be imported by daemon/routes/__init__.py."""
    if access not in (PUBLIC, SIGNED_IN, TOKEN_HOLDER):
        from logchat.auth.permissions import PERMISSIONS

        if access not in PERMISSIONS:
            raise ValueError(f"unknown permission {access!r} for {method} {path}")

    def register(handler: Handler) -> Handler:
        ENDPOINTS.append(
            Endpoint(method, path, handler, access, summary, tag, body, query, response, status, streams, rate_limit,
                     content_type)
        )
        return handler

    return register


def add_routes(app: web.Application, endpoints: list[Endpoint]) -> None:
    import logchat.daemon.routes  # noqa: F401  (registers every endpoint)

    for spec in endpoints:
        app.router.add_route(spec.method, spec.path, _wrap(spec))


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def caller(request: web.Request, access: str) -> Principal | None:
    """Who is calling, checked against ``access``; raises the 401/403 error otherwise."""
    from logchat.daemon.app import SERVICES, run_blocking
    from logchat.services.auth import AccessMode, Principal

    if access in (PUBLIC, TOKEN_HOLDER):
        return None
    services = request.app[SERVICES]
    token = bearer_token(request)
    if token is None:
        if services.access_mode == AccessMode.OPEN_DEMO:
            principal = Principal.anonymous()
        else:
            raise TokenInvalid("sign in first: this request needs an access token (Authorization: Bearer …)")
    else:
        principal = await run_blocking(request, services.auth.verify, token)
    act_as(Actor(principal.username, principal.user_id, request.remote))
    if access != SIGNED_IN:
        try:
            services.auth.require(principal, access)
        except PermissionDenied:
            from logchat.services import audit

            resource = request.match_info.route.resource
            route = f"{request.method} {resource.canonical if resource is not None else request.path}"
            await run_blocking(request, audit.record, services.store, "access.denied", target=route,
                               outcome=audit.DENIED, detail={"permission": access})
            raise
    return principal


def validate(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidField.from_validation(exc) from None


class InvalidField(UsageError):
    """A request field is missing or has a wrong value: 422, naming the field."""

    http_status = 422
    code = "invalid_field"

    def __init__(self, message: str, *, field: str | None) -> None:
        super().__init__(message)
        self.field = field

    @classmethod
    def from_validation(cls, exc: ValidationError) -> InvalidField:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        return cls(f"{field}: {first['msg']}" if field else first["msg"], field=field)


async def _count_hit(request: web.Request, bucket: str, principal: Principal | None) -> None:
    from logchat.daemon.app import SERVICES, run_blocking

    user_id = principal.user_id if principal is not None else None
    subject = f"user:{user_id}" if user_id is not None else f"address:{request.remote or '-'}"
    # Off the loop: with Redis this is a network round trip.
    await run_blocking(request, request.app[SERVICES].rate_limiter.check, bucket, subject)


def query_values(request: web.Request, model: type[BaseModel]) -> dict[str, Any]:
    """The query string for ``model``: a repeated parameter (``?host=a&host=b``) gives every value to a
    list field; other fields take the first, as ``dict(request.query)`` would."""
    from typing import get_args, get_origin

    def is_list(annotation: Any) -> bool:
        return get_origin(annotation) in (list, tuple, set) or any(is_list(arg) for arg in get_args(annotation))

    values: dict[str, Any] = {}
    for name in dict.fromkeys(request.query.keys()):
        field = model.model_fields.get(name)
        listed = field is not None and is_list(field.annotation)
        values[name] = request.query.getall(name) if listed else request.query[name]
    return values


async def _json_body(request: web.Request) -> Any:
    if not request.can_read_body:
        return {}
    try:
        return await request.json()
    except ValueError:
        raise UsageError("the request body is not valid JSON") from None


def _wrap(spec: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        from logchat.daemon.app import SERVICES

        act_as(Actor("anonymous", None, request.remote))  # until a token says who it is
        principal = await caller(request, spec.access)
        if principal is not None and principal.user_id is not None:
            from logchat.observability import logs

            logs.bind(user_id=principal.user_id)
        if spec.rate_limit is not None:
            await _count_hit(request, spec.rate_limit, principal)
        body = validate(spec.body, await _json_body(request)) if spec.body is not None else None
        query = validate(spec.query, query_values(request, spec.query)) if spec.query is not None else None
        result = await spec.handler(Call(request, request.app[SERVICES], principal, body, query))
        if isinstance(result, web.StreamResponse):
            return result
        if isinstance(result, BaseModel):
            result = result.model_dump(mode="json")
        return web.json_response(result, status=spec.status, dumps=_dumps)

    handle.__name__ = spec.handler.__name__
    return handle


def _dumps(data: Any) -> str:
    import json
    from datetime import datetime

    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    return json.dumps(data, default=default, ensure_ascii=False)
