"""The chat socket, `/api/v1/ws`: questions and slash commands in, streamed answers out.

Frames are JSON (docs/api.md). The access token comes in the first frame (`{"type": "auth"}`) or in
`Sec-WebSocket-Protocol` as `bearer.<token>` beside `logchat`, never in the URL. It is checked again
at every frame, so a token that expires or is revoked, or an account disabled, closes the socket at the
next message. Every answer frame carries the id of the question it answers, so a client may ask again
without waiting. Each socket has a bounded send queue: a client that stops reading is dropped rather
than holding memory or blocking anyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web
from pydantic import BaseModel, Field, ValidationError

from logchat.daemon.commands import Conversation
from logchat.daemon.endpoints import PUBLIC, Call, endpoint
from logchat.daemon.pool import in_pool
from logchat.errors import LogchatError, TokenInvalid
from logchat.observability import logs, tracing
from logchat.observability.audit import Actor, act_as

if TYPE_CHECKING:
    from logchat.daemon.app import Services
    from logchat.services.auth import Principal

PROTOCOL = "logchat"
CLOSE_UNAUTHENTICATED = 4401  # no valid token: never given, expired, revoked, or the account disabled
CLOSE_TOO_SLOW = 4408  # the client did not read its frames fast enough
AUTH_TIMEOUT_SECONDS = 10.0
MAX_FRAME_BYTES = 64 * 1024
SEND_QUEUE_FRAMES = 512

SOCKETS = web.AppKey("chat_sockets", set)


class AskFrame(BaseModel):
    type: str
    id: str = Field(min_length=1, max_length=128)
    question: str = Field(min_length=1, max_length=10_000)
    no_llm: bool = False
    session: str | None = Field(None, max_length=200)  # default: the socket's current session


def setup(app: web.Application) -> None:
    app[SOCKETS] = set()
    app.on_shutdown.append(_close_all)


def deliver(app: web.Application, user: str, frame: dict[str, Any], skip_socket: str | None = None) -> None:
    """``frame`` to every signed-in socket of ``user`` in this daemon, except ``skip_socket`` (the one
    that asked for what the frame reports, which has its own answer frames)."""
    for socket in list(app[SOCKETS]):
        if socket.id != skip_socket and socket.principal is not None and socket.principal.username == user:
            socket.send(dict(frame))


async def _close_all(app: web.Application) -> None:
    """At shutdown: no new questions; answers in flight finish (up to the grace period), then 1001."""
    from logchat.daemon.app import SERVICES

    grace = app[SERVICES].settings.serve.shutdown_grace_seconds if SERVICES in app else 0
    sockets = list(app[SOCKETS])
    for socket in sockets:
        socket.closing = True
    pending = [task for socket in sockets for task in socket.tasks]
    if pending:
        await asyncio.wait(pending, timeout=grace)
    await asyncio.gather(*(socket.close(WSCloseCode.GOING_AWAY, "server shutting down") for socket in sockets))


@endpoint("GET", "/api/v1/ws", access=PUBLIC, tag="chat",
          summary="The chat WebSocket: the access token in the first frame; see docs/api.md for the frames.")
async def chat_socket(call: Call) -> web.StreamResponse:
    ws = web.WebSocketResponse(protocols=(PROTOCOL,), heartbeat=30.0, max_msg_size=MAX_FRAME_BYTES)
    await ws.prepare(call.request)
    socket = ChatSocket(call.request.app, call.services, ws, _token_from_protocol(call.request))
    socket.ws_remote = call.request.remote
    call.request.app[SOCKETS].add(socket)
    call.services.metrics.ws_connections.inc()
    call.services.metrics.ws_open.inc()
    try:
        await socket.run()
    finally:
        call.services.metrics.ws_open.dec()
        call.request.app[SOCKETS].discard(socket)
    return ws


async def _traced(name: str, work: Coroutine[Any, Any, None]) -> None:
    """``work`` inside a span of its own: a chat question is a request of its own in a trace too."""
    with tracing.span(name, server=True, new_trace=True):
        await work


def _token_from_protocol(request: web.Request) -> str | None:
    offered = [part.strip() for part in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    return next((part.removeprefix("bearer.") for part in offered if part.startswith("bearer.")), None)


class ChatSocket:
    def __init__(self, app: web.Application, services: Services, ws: web.WebSocketResponse,
                 token: str | None) -> None:
        self.app, self.services, self.ws = app, services, ws
        self.id = uuid.uuid4().hex
        self.token = token
        self.principal: Principal | None = None
        self.conversation: Conversation | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.closing = False
        self.ws_remote: str | None = None  # the client's address, for the audit trail
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(SEND_QUEUE_FRAMES)

    # -- sending ----------------------------------------------------------------------------------

    def send(self, frame: dict[str, Any]) -> None:
        if frame["type"] != "token":  # tokens are many and small; the question's other frames say it
            frame.setdefault("request_id", logs.current("request_id"))
        try:
            self._outbox.put_nowait(frame)
        except asyncio.QueueFull:
            # A reader this far behind is dropped; its answers are not worth holding memory for.
            asyncio.get_running_loop().create_task(self.close(CLOSE_TOO_SLOW, "too slow reading frames"))

    async def _writer(self) -> None:
        while True:
            frame = await self._outbox.get()
            if self.ws.closed:
                return
            await self.ws.send_str(json.dumps(frame, default=str, ensure_ascii=False))
            self.services.metrics.ws_frames_out.labels(str(frame.get("type", "other"))).inc()

    async def close(self, code: int, message: str) -> None:
        if not self.ws.closed:
            await self.ws.close(code=code, message=message.encode())

    def send_error(self, frame_id: str | None, exc: LogchatError) -> None:
        self.send({"type": "error", "id": frame_id, "code": exc.code, "message": exc.message})

    # -- the conversation -------------------------------------------------------------------------

    async def run(self) -> None:
        writer = asyncio.create_task(self._writer())
        try:
            if await self._sign_in():
                await self._serve()
        finally:
            for task in self.tasks:
                task.cancel()  # the worker thread finishes alone; its events are dropped
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._drain(), timeout=2)
            writer.cancel()

    async def _drain(self) -> None:
        while not self._outbox.empty() and not self.ws.closed:
            await asyncio.sleep(0.01)

    async def _sign_in(self) -> bool:
        if self.token is None:
            try:
                message = await self.ws.receive(timeout=AUTH_TIMEOUT_SECONDS)
            except TimeoutError:
                await self.close(CLOSE_UNAUTHENTICATED, "sign in first: send {\"type\": \"auth\", \"token\": …}")
                return False
            self._count_received(message)
            frame = _json(message.data) if message.type == WSMsgType.TEXT else None
            if not isinstance(frame, dict) or frame.get("type") != "auth" or not isinstance(frame.get("token"), str):
                await self.close(CLOSE_UNAUTHENTICATED, "the first frame must be {\"type\": \"auth\", \"token\": …}")
                return False
            self.token = frame["token"]
        if not await self._check_token():
            return False
        assert self.principal is not None
        logs.bind(user_id=self.principal.user_id)
        act_as(Actor(self.principal.username, self.principal.user_id, self.ws_remote))
        self.conversation = Conversation(self.services, self.principal, app=self.app, socket_id=self.id)
        self.send({"type": "ready", "username": self.principal.username, "role": self.principal.role.value,
                   "request_id": logs.current("request_id")})
        return True

    async def _check_token(self) -> bool:
        from logchat.errors import AuthError

        assert self.token is not None
        try:
            self.principal = await in_pool(self.services, self.services.auth.verify, self.token)
        except (AuthError, TokenInvalid) as exc:
            await self.close(CLOSE_UNAUTHENTICATED, exc.message[:120])
            return False
        if self.conversation is not None:
            self.conversation.principal = self.principal  # the role may have changed since
        return True

    async def _serve(self) -> None:
        async for message in self.ws:
            self._count_received(message)
            if message.type != WSMsgType.TEXT:
                if message.type == WSMsgType.BINARY:
                    self.send({"type": "error", "id": None, "code": "bad_frame", "message": "frames are JSON text"})
                continue
            if not await self._check_token():
                return
            self._dispatch(_json(message.data))

    def _count_received(self, message: Any) -> None:
        if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
            self.services.metrics.ws_frames_in.inc()

    def _dispatch(self, frame: Any) -> None:
        frame_id = frame.get("id") if isinstance(frame, dict) and isinstance(frame.get("id"), str) else None
        try:
            if not isinstance(frame, dict) or frame.get("type") != "ask":
                raise _BadFrame('expected {"type": "ask", "id": …, "question": …}')
            try:
                ask = AskFrame.model_validate(frame)
            except ValidationError as exc:
                first = exc.errors()[0]
                raise _BadFrame(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
            if self.closing:
                raise _BadFrame("the server is shutting down")
            self._start(ask)
        except LogchatError as exc:
            self.send_error(frame_id, exc)

    def _start(self, frame: AskFrame) -> None:
        assert self.principal is not None
        account = self.principal.user_id if self.principal.user_id is not None else self.principal.username
        work = self._command(frame) if frame.question.startswith("/") else self._answer(frame)
        # Each question is a request of its own: its frames, log lines and trace carry its id.
        kind = "chat command" if frame.question.startswith("/") else "chat question"
        with logs.bound(request_id=uuid.uuid4().hex):
            task = asyncio.create_task(_traced(kind, self._within_quota(account, frame.id, work)))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _within_quota(self, account: object, frame_id: str, work: Coroutine[Any, Any, None]) -> None:
        try:
            slot = await self.services.questions.take(account)
        except LogchatError as exc:  # TooManyQuestions is an error frame; the socket stays usable
            work.close()
            self.send_error(frame_id, exc)
            return
        try:
            await work
        finally:
            await slot.release()

    async def _answer(self, frame: AskFrame) -> None:
        from logchat.daemon.streaming import answer_events
        from logchat.services.ask import AskRequest

        assert self.principal is not None
        if not self.principal.can("chat:use"):
            from logchat.errors import PermissionDenied

            self.send_error(frame.id, PermissionDenied("asking needs the chat:use permission"))
            return
        assert self.conversation is not None
        session = frame.session or self.conversation.session
        owner = self.principal.user_id
        if session is not None and owner is None:
            from logchat.errors import UsageError

            self.send_error(frame.id, UsageError("chat sessions need an account: sign in"))
            return
        request = AskRequest(question=frame.question, use_llm=not frame.no_llm, session=session, owner=owner)
        async for event in answer_events(self.services, request):
            if event.kind == "token":
                self.send({"type": "token", "id": frame.id, "text": event.data})
            elif event.kind == "notice":
                self.send({"type": "notice", "id": frame.id, "text": event.data})
            elif event.kind == "answer":
                self.send({**event.data, "type": "answer", "id": frame.id})
            else:
                self.send_error(frame.id, event.data)

    async def _command(self, frame: AskFrame) -> None:
        from logchat.daemon.commands import run_command

        assert self.conversation is not None
        try:
            result = await run_command(self.conversation, frame.question,
                                       lambda extra: self.send({**extra, "id": frame.id}))
        except LogchatError as exc:
            self.send_error(frame.id, exc)
            return
        self.send({"type": "command", "id": frame.id, "command": frame.question.split()[0], **result})


class _BadFrame(LogchatError):
    http_status = 400
    code = "bad_frame"


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
