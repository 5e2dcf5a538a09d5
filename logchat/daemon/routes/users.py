"""Account administration over HTTP (``users:manage``): the rules of `logchat users`, from AccountService.

Names are normalised (lower-case) as the CLI does; the last enabled admin is kept (409); a password
that breaks the policy is a 400 ``invalid_password`` error naming the field. No response carries a
password or a hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field, field_validator

from logchat.auth.permissions import Role
from logchat.daemon.app import run_blocking
from logchat.daemon.endpoints import Call, InvalidField, endpoint
from logchat.daemon.routes.auth import PASSWORD_CHARS, StrictBody, naming_field
from logchat.errors import InvalidPassword, UsageError
from logchat.services.accounts import UserInfo, normalize_username

TAG = "users"
MANAGE = "users:manage"


def _lower_role(value: Any) -> Any:
    # 'Admin' and ' admin ' are the role admin, as on the command line.
    return value.strip().lower() if isinstance(value, str) else value


class UserOut(BaseModel):
    username: str
    role: Role
    enabled: bool
    created_at: datetime
    updated_at: datetime
    password_changed_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: UserInfo) -> UserOut:
        return cls.model_validate(user.to_dict())


class UserList(BaseModel):
    users: list[UserOut]


class NewUser(StrictBody):
    username: str = Field(min_length=1, max_length=256, examples=["jdoe"])
    password: str = Field(min_length=1, max_length=PASSWORD_CHARS)
    role: Role = Role.VIEWER

    normalise_role = field_validator("role", mode="before")(_lower_role)


class UserChange(StrictBody):
    role: Role | None = None
    enabled: bool | None = None

    normalise_role = field_validator("role", mode="before")(_lower_role)


class PasswordReset(StrictBody):
    password: str = Field(min_length=1, max_length=PASSWORD_CHARS)


@endpoint("GET", "/api/v1/users", access=MANAGE, summary="Every account with role, status and last sign-in.",
          tag=TAG, response=UserList)
async def list_users(call: Call) -> UserList:
    users = await run_blocking(call.request, call.services.auth.accounts.list_users)
    return UserList(users=[UserOut.of(user) for user in users])


@endpoint("POST", "/api/v1/users", access=MANAGE, summary="Add an account.", tag=TAG, body=NewUser,
          response=UserOut, status=201)
async def add_user(call: Call) -> UserOut:
    body: NewUser = call.body
    try:
        name = normalize_username(body.username)
    except UsageError as exc:  # its message names the rule
        raise InvalidField(exc.message, field="username") from None
    accounts = call.services.auth.accounts
    with naming_field("password", InvalidPassword):
        user = await run_blocking(call.request, accounts.add_user, name, body.password, body.role)
    return UserOut.of(user)


@endpoint("PATCH", "/api/v1/users/{name}", access=MANAGE, tag=TAG, body=UserChange, response=UserOut,
          summary="Change the role and/or enable or disable (both or neither); applies at the next request.")
async def change_user(call: Call) -> UserOut:
    body: UserChange = call.body
    if body.role is None and body.enabled is None:
        raise InvalidField("nothing to change: give role and/or enabled", field=None)
    user = await run_blocking(
        call.request, call.services.auth.accounts.update_user, _name(call), role=body.role, enabled=body.enabled
    )
    return UserOut.of(user)


@endpoint("POST", "/api/v1/users/{name}/password", access=MANAGE, tag=TAG, body=PasswordReset, response=UserOut,
          summary="Set a new password for an account; it is signed out everywhere.")
async def reset_password(call: Call) -> UserOut:
    accounts = call.services.auth.accounts
    with naming_field("password", InvalidPassword):
        user = await run_blocking(call.request, accounts.change_password, _name(call), call.body.password)
    return UserOut.of(user)


@endpoint("DELETE", "/api/v1/users/{name}", access=MANAGE, summary="Remove an account.", tag=TAG, status=204)
async def remove_user(call: Call) -> web.Response:
    await run_blocking(call.request, call.services.auth.accounts.remove_user, _name(call))
    return web.Response(status=204)


def _name(call: Call) -> str:
    # The service normalises and answers 404 for a name that could never exist.
    return call.request.match_info["name"]
