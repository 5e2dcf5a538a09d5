"""Chat sessions under /api/v1/chat: each account keeps its own; `chat:read_all` reads anyone's.

A session of another account is answered 404, exactly like a name nobody uses: the answer never
tells whether someone else has a session of that name. Reading someone else's sessions goes through
its own routes (/api/v1/chat/users/{user}/…), which require `chat:read_all` and only read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from logchat.daemon.endpoints import Call, InvalidField, endpoint
from logchat.errors import PermissionDenied, UsageError

TAG = "chat"
SESSIONS = "/api/v1/chat/sessions"
OTHERS = "/api/v1/chat/users/{user}/sessions"
MAX_PAGE = 200


class SessionName(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="1 to 200 printable characters, e.g. incident-42 (spaces around are dropped)")


class SessionInfo(BaseModel):
    name: str
    user: str = Field(description="the account the session belongs to")
    turns: int = Field(description="questions asked in the session")
    created_at: datetime
    updated_at: datetime = Field(description="when the session was created, renamed or last asked in")


class SessionList(BaseModel):
    sessions: list[SessionInfo] = Field(description="most recently used first")


class Message(BaseModel):
    """One turn: a question and its answer, with what the answer rested on."""

    position: int = Field(description="1 for the first turn of the session, then 2, 3, …")
    question: str
    answer: str
    mode: str = Field(description="llm or extractive")
    matched: int
    filters: dict[str, Any] = Field(description="the resolved scope, reused by a follow-up question")
    evidence_event_ids: list[int]
    citations: list[str]
    created_at: datetime


class MessagePage(SessionInfo):
    messages: list[Message] = Field(description="newest first")
    next_before: int | None = Field(description="pass as `before` for the next, older page; null on the last page")


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=MAX_PAGE, description="turns per page")
    before: int | None = Field(None, ge=1, description="only turns with a lower position (the previous page's "
                                                       "`next_before`); from the newest when absent")


def _owner(call: Call) -> int:
    # Sessions belong to accounts. The anonymous visitor of an open demo has none, and the sessions
    # without an owner are the command line's, which the daemon never serves.
    principal = call.principal
    if principal is None or principal.user_id is None:
        raise PermissionDenied("chat sessions need an account: sign in first")
    return principal.user_id


def _checked(name: str, field: str = "name") -> str:
    from logchat.services.sessions import check_session_name

    try:
        return check_session_name(name)
    except UsageError as exc:
        raise InvalidField(f"{field}: {exc.message}; use 1 to 200 printable characters", field=field) from None


def _info(item: dict[str, Any], user: str) -> SessionInfo:
    return SessionInfo(user=user, **item)


async def _run(call: Call, function: Any, *args: Any, **kwargs: Any) -> Any:
    from logchat.daemon.app import run_blocking

    return await run_blocking(call.request, function, *args, **kwargs)


@endpoint("GET", SESSIONS, access="chat:use", summary="List one's own chat sessions, most recently used first.",
          tag=TAG, response=SessionList)
async def list_own_sessions(call: Call) -> SessionList:
    from logchat.services.sessions import list_sessions

    items = await _run(call, list_sessions, call.services.store, _owner(call))
    assert call.principal is not None
    return SessionList(sessions=[_info(item, call.principal.username) for item in items])


@endpoint("POST", SESSIONS, access="chat:use", summary="Create an empty session (409 when one has that name).",
          tag=TAG, body=SessionName, response=SessionInfo, status=201)
async def create_own_session(call: Call) -> SessionInfo:
    from logchat.services.sessions import create_session

    owner = _owner(call)
    item = await _run(call, create_session, call.services.store, _checked(call.body.name), owner)
    assert call.principal is not None
    return _info(item, call.principal.username)


@endpoint("PATCH", SESSIONS + "/{name}", access="chat:use", summary="Rename one of one's sessions.", tag=TAG,
          body=SessionName, response=SessionInfo)
async def rename_own_session(call: Call) -> SessionInfo:
    from logchat.services.sessions import rename_session

    owner = _owner(call)
    current, new = _checked(call.request.match_info["name"]), _checked(call.body.name)
    item = await _run(call, rename_session, call.services.store, current, new, owner)
    assert call.principal is not None
    return _info(item, call.principal.username)


@endpoint("DELETE", SESSIONS + "/{name}", access="chat:use", summary="Delete one of one's sessions and its turns.",
          tag=TAG, status=204)
async def delete_own_session(call: Call) -> web.Response:
    from logchat.services.sessions import delete_session

    owner = _owner(call)
    await _run(call, delete_session, call.services.store, _checked(call.request.match_info["name"]), owner)
    return web.Response(status=204)


@endpoint("GET", SESSIONS + "/{name}/messages", access="chat:use",
          summary="A page of one of one's sessions' turns, newest first.", tag=TAG, query=PageQuery,
          response=MessagePage)
async def own_session_messages(call: Call) -> MessagePage:
    from logchat.services.sessions import session_messages

    owner = _owner(call)
    name = _checked(call.request.match_info["name"])
    page = await _run(call, session_messages, call.services.store, name, owner,
                      limit=call.query.limit, before=call.query.before)
    assert call.principal is not None
    return MessagePage(user=call.principal.username, **page)


@endpoint("GET", OTHERS, access="chat:read_all", summary="List any account's chat sessions (read only).", tag=TAG,
          response=SessionList)
async def list_user_sessions(call: Call) -> SessionList:
    from logchat.services.sessions import find_account, list_sessions

    def sessions_of(username: str) -> tuple[str, list[dict[str, Any]]]:
        owner, name = find_account(call.services.store, username)
        return name, list_sessions(call.services.store, owner)

    user, items = await _run(call, sessions_of, call.request.match_info["user"])
    return SessionList(sessions=[_info(item, user) for item in items])


@endpoint("GET", OTHERS + "/{name}/messages", access="chat:read_all",
          summary="A page of any account's session's turns, newest first (read only).", tag=TAG, query=PageQuery,
          response=MessagePage)
async def user_session_messages(call: Call) -> MessagePage:
    from logchat.services.sessions import find_account, session_messages

    name = _checked(call.request.match_info["name"])

    def page_of(username: str) -> tuple[str, dict[str, Any]]:
        owner, user = find_account(call.services.store, username)
        return user, session_messages(call.services.store, name, owner, limit=call.query.limit,
                                      before=call.query.before)

    user, page = await _run(call, page_of, call.request.match_info["user"])
    return MessagePage(user=user, **page)
