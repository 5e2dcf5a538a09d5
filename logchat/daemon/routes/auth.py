"""Signing in over HTTP: login, refresh, logout, who am I, change one's own password.

Each handler is a thin shell over AuthService; the throttling, the one-message answer for unknown
users and wrong passwords, refresh-token reuse detection and the token version all live there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from logchat.auth.permissions import Role
from logchat.daemon.app import run_blocking
from logchat.daemon.endpoints import PUBLIC, SIGNED_IN, TOKEN_HOLDER, Call, bearer_token, endpoint
from logchat.errors import InvalidCredentials, InvalidPassword, LogchatError, TokenInvalid

if TYPE_CHECKING:
    from logchat.services.accounts import UserInfo
    from logchat.services.auth import AuthService, Principal, TokenPair

TAG = "auth"
# Generous bounds: they only keep absurd input away from the hasher; the password policy is the
# service's (and longer passwords are checked there with the same work as any other).
NAME_CHARS = 256
PASSWORD_CHARS = 4096


class StrictBody(BaseModel):
    # A misspelt field is an error naming it, not a silently ignored key.
    model_config = ConfigDict(extra="forbid")


class LoginRequest(StrictBody):
    username: str = Field(min_length=1, max_length=NAME_CHARS, examples=["ops-admin"])
    password: str = Field(min_length=1, max_length=PASSWORD_CHARS)


class RefreshRequest(StrictBody):
    refresh_token: str = Field(min_length=1, max_length=PASSWORD_CHARS)


class LogoutRequest(StrictBody):
    refresh_token: str | None = Field(default=None, min_length=1, max_length=PASSWORD_CHARS)


class PasswordChange(StrictBody):
    current_password: str = Field(min_length=1, max_length=PASSWORD_CHARS)
    new_password: str = Field(min_length=1, max_length=PASSWORD_CHARS)


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="seconds the access token lives")
    refresh_expires_in: int = Field(description="seconds the refresh token lives")
    username: str
    role: Role


class Me(BaseModel):
    username: str
    role: Role
    permissions: list[str] = Field(description="every permission of the role, sorted")
    expires_at: datetime | None = Field(default=None, description="when the access token used expires")


@contextmanager
def naming_field(field: str, *errors: type[LogchatError]) -> Iterator[None]:
    """Errors of the given kinds raised inside carry ``field``, so the JSON error names the input
    that caused them (the status and code stay the service's)."""
    try:
        yield
    except errors as exc:
        exc.field = field  # type: ignore[attr-defined]
        raise


def _pair(pair: TokenPair) -> TokenPairOut:
    return TokenPairOut.model_validate(pair.to_dict())


@endpoint("POST", "/api/v1/auth/login", access=PUBLIC, summary="Sign in: an access token and a refresh token.",
          tag=TAG, body=LoginRequest, response=TokenPairOut, rate_limit="login")
async def login(call: Call) -> TokenPairOut:
    # Throttled per user name and per client address. The address is the TCP peer: an
    # X-Forwarded-For header is not trusted, since any client could write one.
    from logchat.observability.metrics import login_failure_reason

    body: LoginRequest = call.body
    try:
        pair = await run_blocking(
            call.request, call.services.auth.login, body.username, body.password, client_address=call.request.remote
        )
    except LogchatError as exc:
        call.services.metrics.observe_login(login_failure_reason(exc.code))
        raise
    call.services.metrics.observe_login(None)
    return _pair(pair)


@endpoint("POST", "/api/v1/auth/refresh", access=PUBLIC, summary="Trade a refresh token for a new pair (once).",
          tag=TAG, body=RefreshRequest, response=TokenPairOut)
async def refresh(call: Call) -> TokenPairOut:
    return _pair(await run_blocking(call.request, call.services.auth.refresh, call.body.refresh_token))


@endpoint("POST", "/api/v1/auth/logout", access=TOKEN_HOLDER, status=204, tag=TAG, body=LogoutRequest,
          summary="Sign out: revoke the access token (even expired) and its sign-in, and the refresh token given.")
async def logout(call: Call) -> web.Response:
    # Not SIGNED_IN: an expired access token still signs out; the tokens themselves are checked.
    access_token = bearer_token(call.request)
    refresh_token = call.body.refresh_token
    if access_token is None and refresh_token is None:
        raise TokenInvalid("nothing to sign out: send the access token (Authorization: Bearer …) or a refresh_token")
    await run_blocking(call.request, call.services.auth.revoke, access_token, refresh_token)
    return web.Response(status=204)


@endpoint("GET", "/api/v1/auth/me", access=SIGNED_IN, summary="The signed-in user, role and permissions.",
          tag=TAG, response=Me)
async def me(call: Call) -> Me:
    principal: Principal = call.principal  # type: ignore[assignment]
    return Me(username=principal.username, role=principal.role, permissions=sorted(principal.permissions),
              expires_at=principal.expires_at)


@endpoint("POST", "/api/v1/auth/password", access=SIGNED_IN, tag=TAG, body=PasswordChange, response=TokenPairOut,
          summary="Change one's own password: every earlier token stops working; the answer is a new pair.")
async def change_password(call: Call) -> TokenPairOut:
    body: PasswordChange = call.body
    if call.principal is None or call.principal.user_id is None:
        # The anonymous visitor of an open demo has no account, hence no password.
        raise TokenInvalid("sign in first: only an account has a password to change")
    pair = await run_blocking(
        call.request, _change_and_sign_in, call.services.auth, call.principal, body.current_password,
        body.new_password, call.request.remote,
    )
    return _pair(pair)


def _change_and_sign_in(
    auth: AuthService, principal: Principal, current: str, new: str, client_address: str | None
) -> TokenPair:
    # The password change bumps the token version, ending every sign-in of the user (other devices,
    # a stolen token). The caller proved the current password, so it gets a fresh sign-in at once.
    # Checked before the current password, so a weak new one costs no sign-in attempt.
    with naming_field("new_password", InvalidPassword):
        auth.accounts.check_new_password(principal.username, new)
    try:
        user: UserInfo = auth.change_own_password(principal, current, new, client_address=client_address)
    except InvalidCredentials:
        # The caller is signed in, so naming what was wrong tells a guesser nothing.
        error = InvalidCredentials("the current password is wrong")
        error.field = "current_password"  # type: ignore[attr-defined]
        raise error from None
    return auth.issue(user)
