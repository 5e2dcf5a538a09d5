"""A fake Ollama server that speaks the real wire protocol, for tests driven through real clients.

No model weights can be downloaded where the tests run, so this aiohttp server stands in for
``ollama serve``: the real ``ollama`` client and LangChain's ``ChatOllama``/``OllamaEmbeddings``
talk to it over HTTP exactly as they would to Ollama. It runs on its own event loop in a background
thread so that plain synchronous tests can use it:

    with FakeOllama(reply="It failed [E1].") as server:
        model = ChatOllama(model="llama3.2", base_url=server.url)
        ...
        assert server.chat_requests[0]["messages"][0]["role"] == "system"

Behaviour is scriptable per test by setting attributes before the request is made:
``reply`` (a string or a function of the request's messages), ``die_after_chunks`` (close the
connection abruptly mid-stream), ``error_after_chunks`` (send an ``{"error": ...}`` line
mid-stream), ``end_early_after_chunks`` (finish the HTTP response cleanly but without the final
``"done": true`` object), ``first_byte_delay`` (sleep before answering) and ``chunk_delay``.

A model that calls tools is scripted with ``turns``: one entry per /api/chat request, taken in order
(``reply`` answers once they run out). A turn is a string (the answer), a :class:`Turn`, or a function of
the request's messages returning either. A ``Turn`` can stream text, then emit ``tool_calls`` exactly as
Ollama does (``message.tool_calls: [{"function": {"name": ..., "arguments": {...}}}]`` in a chunk of its
own, then the final ``done`` object), or fail with an ``{"error": ...}`` line or a dropped connection.
The ``tool`` messages sent back are checked as Ollama reads them (a string ``content``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

Reply = str | Callable[[list[dict[str, Any]]], str]
ROLES = frozenset({"system", "user", "assistant", "tool"})


@dataclass(frozen=True)
class Turn:
    """One scripted answer of the model: ``content`` streamed token by token, then ``tool_calls``
    ((name, arguments) pairs; arguments as the model wrote them), or ``error`` / ``die`` after the content."""

    content: str = ""
    tool_calls: tuple[tuple[str, Any], ...] = ()
    error: str | None = None
    die: bool = False


ScriptedTurn = str | Turn | Callable[[list[dict[str, Any]]], "str | Turn"]


def tool_call(name: str, **arguments: Any) -> Turn:
    """A turn that only calls one tool, as small models usually do."""
    return Turn(tool_calls=((name, arguments),))


def tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``tool`` role messages of a recorded /api/chat request, in order."""
    return [message for message in request.get("messages") or [] if message.get("role") == "tool"]

OLLAMA_VERSION = "0.12.6"
DEFAULT_MODELS = ("llama3.2", "nomic-embed-text")

_EVIDENCE_ROW = re.compile(r"^\[(E\d+)\]", re.MULTILINE)
_TOKEN = re.compile(r"\s*\S+|\s+")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    body: Any


def evidence_ids_in(messages: list[dict[str, Any]]) -> list[str]:
    """Ids of the evidence rows (lines starting ``[E3]``) in the non-system messages, in order."""
    seen: dict[str, None] = {}
    for message in messages:
        if message.get("role") == "system":
            continue
        for found in _EVIDENCE_ROW.findall(str(message.get("content", ""))):
            seen.setdefault(found, None)
    return list(seen)


def split_into_tokens(text: str) -> list[str]:
    """Word-sized pieces (each keeps its leading whitespace), like a model's token stream."""
    return _TOKEN.findall(text)


def hash_embedding(text: str, dims: int) -> list[float]:
    """A deterministic unit vector derived from a hash of ``text``."""
    raw = b""
    counter = 0
    while len(raw) < dims * 4:
        raw += hashlib.blake2b(f"{counter}:{text}".encode(), digest_size=64).digest()
        counter += 1
    values = [(value / 2**31) - 1.0 for value in struct.unpack(f"<{dims}I", raw[: dims * 4])]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return [v / norm for v in values]


def _canonical(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class FakeOllama:
    """An Ollama look-alike on 127.0.0.1 with an ephemeral port; start()/stop() or use ``with``."""

    def __init__(
        self,
        *,
        models: tuple[str, ...] | list[str] = DEFAULT_MODELS,
        reply: Reply = "The logs show nothing unusual.",
        embedding_dims: int = 384,
    ) -> None:
        self.models = [_canonical(name) for name in models]
        self.embedding_dims = embedding_dims
        self.requests: list[RecordedRequest] = []
        self.reply: Reply = reply
        self.turns: list[ScriptedTurn] = []
        self.die_after_chunks: int | None = None
        self.error_after_chunks: int | None = None
        self.error_message = "an error was encountered while running the model"
        self.end_early_after_chunks: int | None = None
        self.first_byte_delay = 0.0
        self.chunk_delay = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeOllama:
        self._thread = threading.Thread(target=self._run, name="fake-ollama", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=30)
        if self._startup_error is not None:
            raise RuntimeError("fake Ollama server failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        future.result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop = None
        self._thread = None

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget recorded requests and scripted behaviour (the reply is kept)."""
        self.requests.clear()
        self.turns.clear()
        self.die_after_chunks = None
        self.error_after_chunks = None
        self.end_early_after_chunks = None
        self.first_byte_delay = 0.0
        self.chunk_delay = 0.0

    # -- recorded traffic --------------------------------------------------------------------

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.path == "/api/chat"]

    @property
    def last_chat_request(self) -> dict[str, Any]:
        chats = self.chat_requests
        if not chats:
            raise AssertionError("the fake Ollama server received no /api/chat request")
        return chats[-1]

    # -- server ------------------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:  # surfaced to the starting thread
            self._startup_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _startup(self) -> None:
        from aiohttp import web

        self._stopping = asyncio.Event()
        app = web.Application(middlewares=[self._recording_middleware()])
        app.router.add_post("/api/chat", self._chat)
        app.router.add_post("/api/embed", self._embed)
        app.router.add_post("/api/embeddings", self._legacy_embeddings)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_get("/api/version", self._version)
        app.router.add_post("/api/show", self._show)
        app.router.add_get("/", self._root)
        # Handlers still sleeping for a client that timed out must not hold up shutdown.
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        assert self._stopping is not None
        self._stopping.set()
        await self._runner.cleanup()

    def _recording_middleware(self) -> Any:
        from aiohttp import web

        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            body: Any = None
            if request.can_read_body:
                raw = await request.read()
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    return _error(400, "invalid JSON body")
            self.requests.append(RecordedRequest(request.method, request.path, body))
            return await handler(request)

        return record

    async def _pause(self, seconds: float) -> None:
        # Sleep, but wake up at once when the server is stopping.
        if seconds <= 0:
            return
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    def _known(self, name: Any) -> bool:
        return isinstance(name, str) and _canonical(name) in self.models

    # -- endpoints ---------------------------------------------------------------------------

    async def _root(self, request: Any) -> Any:
        from aiohttp import web

        return web.Response(text="Ollama is running")

    async def _version(self, request: Any) -> Any:
        from aiohttp import web

        return web.json_response({"version": OLLAMA_VERSION})

    async def _tags(self, request: Any) -> Any:
        from aiohttp import web

        return web.json_response({"models": [self._model_entry(name) for name in self.models]})

    def _model_entry(self, name: str) -> dict[str, Any]:
        digest = hashlib.sha256(name.encode()).hexdigest()
        return {
            "name": name,
            "model": name,
            "modified_at": "2025-01-01T00:00:00Z",
            "size": 2_019_393_189,
            "digest": digest,
            "details": self._details(),
        }

    @staticmethod
    def _details() -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": "llama",
            "families": ["llama"],
            "parameter_size": "3.2B",
            "quantization_level": "Q4_K_M",
        }

    async def _show(self, request: Any) -> Any:
        from aiohttp import web

        body = await _json_body(request)
        name = body.get("model") or body.get("name")
        if not self._known(name):
            return _model_not_found(name)
        return web.json_response(
            {
                "modelfile": f"FROM {name}\n",
                "parameters": 'stop "<|eot_id|>"',
                "template": "{{ .Prompt }}",
                "details": self._details(),
                "model_info": {"general.architecture": "llama", "llama.context_length": 131072},
                "capabilities": ["completion", "tools"],
                "modified_at": "2025-01-01T00:00:00Z",
            }
        )

    async def _embed(self, request: Any) -> Any:
        from aiohttp import web

        body = await _json_body(request)
        name = body.get("model")
        if not self._known(name):
            return _model_not_found(name)
        texts = body.get("input", [])
        if isinstance(texts, str):
            texts = [texts]
        return web.json_response(
            {
                "model": name,
                "embeddings": [hash_embedding(text, self.embedding_dims) for text in texts],
                "total_duration": 1_000_000,
                "load_duration": 100_000,
                "prompt_eval_count": sum(len(text.split()) for text in texts),
            }
        )

    async def _legacy_embeddings(self, request: Any) -> Any:
        from aiohttp import web

        body = await _json_body(request)
        name = body.get("model")
        if not self._known(name):
            return _model_not_found(name)
        return web.json_response({"embedding": hash_embedding(body.get("prompt", ""), self.embedding_dims)})

    async def _chat(self, request: Any) -> Any:
        from aiohttp import web

        body = await _json_body(request)
        name = body.get("model")
        await self._pause(self.first_byte_delay)
        if not self._known(name):
            return _model_not_found(name)
        messages = body.get("messages") or []
        problem = _message_problem(messages)
        if problem is not None:
            return _error(400, problem)
        turn = self._next_turn(messages)
        tokens = split_into_tokens(turn.content)
        prompt_tokens = sum(len(str(m.get("content", ""))) // 4 for m in messages)
        final = {
            "model": name,
            "created_at": _now(),
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "total_duration": 1_234_567,
            "load_duration": 12_345,
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": 456_789,
            "eval_count": len(tokens) + len(turn.tool_calls),
            "eval_duration": 765_432,
        }
        if body.get("stream") is False:
            message: dict[str, Any] = {"role": "assistant", "content": turn.content}
            if turn.tool_calls:
                message["tool_calls"] = _wire_tool_calls(turn)
            return web.json_response({**final, "message": message})

        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            return await self._stream_chat(request, response, name, tokens, final, turn)
        except ConnectionResetError:
            # The client went away (it timed out or stopped reading); nothing left to send.
            return response

    def _next_turn(self, messages: list[dict[str, Any]]) -> Turn:
        scripted: ScriptedTurn | Reply = self.turns.pop(0) if self.turns else self.reply
        turn = scripted(messages) if callable(scripted) else scripted
        return turn if isinstance(turn, Turn) else Turn(content=turn)

    async def _stream_chat(
        self, request: Any, response: Any, name: str, tokens: list[str], final: dict[str, Any], turn: Turn
    ) -> Any:
        for index, token in enumerate(tokens):
            if self.die_after_chunks is not None and index >= self.die_after_chunks:
                return await self._die(request, response)
            if self.error_after_chunks is not None and index >= self.error_after_chunks:
                await response.write(_line({"error": self.error_message}))
                await response.write_eof()
                return response
            if self.end_early_after_chunks is not None and index >= self.end_early_after_chunks:
                await response.write_eof()
                return response
            chunk = {
                "model": name,
                "created_at": _now(),
                "message": {"role": "assistant", "content": token},
                "done": False,
            }
            await response.write(_line(chunk))
            await self._pause(self.chunk_delay)
        if turn.die:
            return await self._die(request, response)
        if turn.error is not None:
            await response.write(_line({"error": turn.error}))
            await response.write_eof()
            return response
        if turn.tool_calls:
            # Ollama sends the calls in a chunk of their own, content empty, before the final object.
            message = {"role": "assistant", "content": "", "tool_calls": _wire_tool_calls(turn)}
            await response.write(_line({"model": name, "created_at": _now(), "message": message, "done": False}))
        await response.write(_line(final))
        await response.write_eof()
        return response

    async def _die(self, request: Any, response: Any) -> Any:
        # Close the socket after flushing what was sent, without the chunked terminator, so the
        # client sees an incomplete body exactly as when a real server crashes mid-answer.
        transport = request.transport
        if transport is not None:
            transport.close()
        # Stop aiohttp from trying to finish the response on a closed connection.
        raise asyncio.CancelledError


async def _json_body(request: Any) -> dict[str, Any]:
    # The recording middleware has already read (and aiohttp cached) the body.
    raw = await request.read()
    body = json.loads(raw) if raw else {}
    return body if isinstance(body, dict) else {}


def _wire_tool_calls(turn: Turn) -> list[dict[str, Any]]:
    return [{"function": {"name": name, "arguments": arguments}} for name, arguments in turn.tool_calls]


def _message_problem(messages: Any) -> str | None:
    # What Ollama refuses with a 400: a role it does not know, or content that is not text.
    if not isinstance(messages, list):
        return "messages must be a list"
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            return f"invalid message role: {message.get('role') if isinstance(message, dict) else message!r}"
        if not isinstance(message.get("content", ""), str):
            return "invalid message content: must be a string"
    return None


def _line(payload: dict[str, Any]) -> bytes:
    return (json.dumps(payload) + "\n").encode()


def _error(status: int, message: str) -> Any:
    from aiohttp import web

    return web.json_response({"error": message}, status=status)


def _model_not_found(name: Any) -> Any:
    return _error(404, f"model '{name}' not found")


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    """A running fake Ollama server for one test; script it through its attributes."""
    with FakeOllama() as server:
        yield server
