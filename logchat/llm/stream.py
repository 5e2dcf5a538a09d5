"""Stream an answer token by token, and report failure as data instead of raising.

A model server that is down, slow, missing the model or dying mid-answer is an ordinary condition
for logchat: the caller shows what arrived and falls back to an extractive answer. So those
failures come back as ``completed=False`` with a one-line reason, and the partial text is kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from logchat.redaction import mask_secrets, redact_url, strip_url_credentials

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 300


class _CallbackFailed(Exception):
    # Carries an error raised by on_token past the handler meant for model failures.
    def __init__(self, original: Exception) -> None:
        super().__init__(str(original))
        self.original = original


@dataclass(frozen=True)
class StreamResult:
    text: str
    completed: bool
    error: str | None
    first_token_ms: float | None
    total_ms: float
    # Why it failed, in one word (connect, connect_timeout, timeout, dropped, response, ended_early,
    # malformed_tool_call, other).
    failure_kind: str | None = None
    # Token counts as the model server reports them (Ollama's final object); None when it does not.
    input_tokens: int | None = None
    output_tokens: int | None = None
    # The tools the model asked to call (LangChain ToolCall dicts: name, args, id), when tools were bound;
    # calls whose arguments could not be parsed are in ``invalid_tool_calls`` (name, args as text, error).
    tool_calls: tuple[dict[str, Any], ...] = ()
    invalid_tool_calls: tuple[dict[str, Any], ...] = ()


def stream_answer(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    on_token: Callable[[str], None],
    *,
    tools: Sequence[dict[str, Any]] = (),
) -> StreamResult:
    """Call ``on_token`` for each piece of the answer as it arrives; never raises for model failures.

    ``tools`` (OpenAI-style function schemas) are bound to the model for this call; the calls it asks
    for come back in ``StreamResult.tool_calls``. A model class without tool calling raises
    NotImplementedError from ``bind_tools``, before anything is sent.
    Errors raised by ``on_token`` itself (a closed pipe, say) are the caller's and propagate.
    """
    runnable: Any = model.bind_tools(list(tools)) if tools else model
    started = time.perf_counter()
    first_token_ms: float | None = None
    pieces: list[str] = []
    finished_normally = False
    error: str | None = None
    failure_kind: str | None = None
    usage: dict[str, Any] = {}
    stream: Any = None
    # Tool calls may arrive in pieces (one chunk each, or split arguments): the chunks carrying them are merged.
    calls: Any = None
    try:
        stream = runnable.stream(list(messages))
        for chunk in stream:
            if _is_final_ollama_chunk(chunk):
                finished_normally = True
            usage = getattr(chunk, "usage_metadata", None) or usage
            if getattr(chunk, "tool_call_chunks", None):
                calls = chunk if calls is None else calls + chunk
            token = chunk.text
            if not token:
                continue
            if first_token_ms is None:
                first_token_ms = (time.perf_counter() - started) * 1000
            pieces.append(token)
            try:
                on_token(token)
            except Exception as exc:
                raise _CallbackFailed(exc) from exc
    except _CallbackFailed as failed:
        raise failed.original from None
    except Exception as exc:
        error = describe_model_error(exc, model)
        failure_kind = _failure_kind(exc)
        if not _is_expected_failure(exc):
            # The message only: a traceback quotes the exception, which may hold the server's credentials.
            log.warning("chat model failed unexpectedly: %s", error)
    finally:
        # Release the HTTP response even when on_token raised half-way through.
        close = getattr(stream, "close", None)
        if close is not None:
            close()

    if error is None and _speaks_ollama(model) and not finished_normally:
        # The connection ended cleanly but without Ollama's final "done" object.
        error = "the model server ended the answer early"
        failure_kind = "ended_early"
    total_ms = (time.perf_counter() - started) * 1000
    return StreamResult(
        text="".join(pieces),
        completed=error is None,
        error=error,
        first_token_ms=first_token_ms,
        total_ms=total_ms,
        failure_kind=failure_kind,
        input_tokens=usage.get("input_tokens"),
        output_tokens=usage.get("output_tokens"),
        tool_calls=tuple(dict(call) for call in getattr(calls, "tool_calls", None) or ()),
        invalid_tool_calls=tuple(dict(call) for call in getattr(calls, "invalid_tool_calls", None) or ()),
    )


def describe_model_error(exc: BaseException, model: Any = None) -> str:
    """One line, secrets masked, saying what went wrong in words an operator can act on."""
    where = _server_address(model)
    at = f" at {where}" if where else ""
    kind = _failure_kind(exc)
    if kind == "connect":
        message = f"cannot connect to the model server{at}"
    elif kind == "connect_timeout":
        message = f"timed out connecting to the model server{at}"
    elif kind == "timeout":
        message = f"the model server{at} did not answer in time"
    elif kind == "dropped":
        message = f"the connection to the model server{at} dropped mid-answer"
    elif kind == "malformed_tool_call":
        message = "the model's tool call could not be read: its arguments are not a JSON object"
    elif kind == "response":
        status = getattr(exc, "status_code", -1)
        detail = getattr(exc, "error", None) or str(exc)
        suffix = f" (HTTP {status})" if isinstance(status, int) and status > 0 else ""
        message = f"the model server reported an error: {detail}{suffix}"
    else:
        message = f"the chat model failed: {type(exc).__name__}: {exc}"
    message = mask_secrets(strip_url_credentials(" ".join(message.split())))
    if len(message) > MAX_ERROR_CHARS:
        message = message[: MAX_ERROR_CHARS - 1] + "…"
    return message


def _failure_kind(exc: BaseException) -> str:
    import httpx
    from langchain_core.exceptions import OutputParserException
    from ollama import ResponseError

    if isinstance(exc, ResponseError):
        return "response"
    if isinstance(exc, OutputParserException) or _is_bad_tool_call(exc):
        # A tool call whose arguments are not a JSON object (the clients parse them while streaming).
        return "malformed_tool_call"
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect_timeout"
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "timeout"
    if isinstance(exc, httpx.ConnectError | ConnectionRefusedError):
        return "connect"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError | ConnectionResetError):
        return "dropped"
    if isinstance(exc, ConnectionError):
        # The ollama client turns httpx.ConnectError into a bare ConnectionError.
        return "connect"
    if isinstance(exc, httpx.TransportError | OSError):
        return "dropped"
    return "other"


def _is_bad_tool_call(exc: BaseException) -> bool:
    from pydantic import ValidationError

    # The ollama client validates each streamed object; tool call arguments must be an object there.
    return isinstance(exc, ValidationError) and any("tool_calls" in error["loc"] for error in exc.errors())


def _is_expected_failure(exc: BaseException) -> bool:
    return _failure_kind(exc) != "other"


def _speaks_ollama(model: Any) -> bool:
    return type(model).__module__.startswith("langchain_ollama")


def _is_final_ollama_chunk(chunk: Any) -> bool:
    metadata = getattr(chunk, "response_metadata", None) or {}
    return metadata.get("done") is True


def _server_address(model: Any) -> str | None:
    for attribute in ("base_url", "openai_api_base", "api_base", "endpoint"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return redact_url(value)
    return None
