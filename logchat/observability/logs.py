"""logchat's own log lines: JSON objects or readable text on stderr, configured once per process.

Every line written while a request, a chat question or a background job is handled carries its
context (request id, user id, route): the daemon binds it with :func:`bound` and it follows the work
into worker threads through :func:`carry`, so a line logged deep in a service names the request that
caused it. What a line may hold is decided where it is written: no token, password, hash, secret or
question text is ever logged at INFO (tests/observability/test_logs.py reads everything captured).
"""

from __future__ import annotations

import contextvars
import functools
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from logchat.config import LoggingSettings

_T = TypeVar("_T")
CONTEXT_FIELDS = ("request_id", "user_id", "route")
# Replaced, never changed in place: a task or thread sees the mapping of the context it was started in.
_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "logchat_log_context", default=MappingProxyType({}))
# The handler this module installed, so that configuring again replaces it instead of adding another.
_HANDLER_NAME = "logchat"
# Start and stop lines of the daemon: written whatever the level (see cli/serve.py _announce).
LIFECYCLE_LOGGER = "logchat.lifecycle"


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every line logged inside the block (and in tasks started from it)."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: Any) -> None:
    """Add ``fields`` for the rest of the current context (a request's task, once it is known who asks)."""
    _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


def current(name: str) -> Any:
    return _context.get().get(name)


def carry(function: Callable[..., _T], *args: Any, **kwargs: Any) -> Callable[[], _T]:
    """``function`` bound to its arguments and to the caller's context, for a worker thread
    (``run_in_executor`` does not copy context variables the way tasks do)."""
    context = contextvars.copy_context()
    return functools.partial(context.run, function, *args, **kwargs)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class _TextFormatter(logging.Formatter):
    """One readable line; the context follows the message as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [f"{name}={getattr(record, name)}" for name in (*CONTEXT_FIELDS, "duration_ms")
                  if getattr(record, name, None) is not None]
        return f"{line} [{' '.join(extras)}]" if extras else line


def _json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "{levelname}{name}{message}", style="{", timestamp="timestamp",
        rename_fields={"levelname": "level", "name": "logger"},
    )  # fmt: skip


def configure(settings: LoggingSettings, *, level: str | None = None, stream: IO[str] | None = None) -> None:
    """Send logchat's log lines (and aiohttp's) to ``stream`` (stderr) in the configured format, at
    ``level`` (default: the configured one). Safe to call again: it replaces its own handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(_json_formatter() if settings.format == "json" else _TextFormatter())
    handler.addFilter(_ContextFilter())
    # In JSON, the daemon's start and stop lines are JSON lines too, whatever the level; in text they
    # stay plain lines written by the command itself (no handler here).
    lifecycle = logging.getLogger(LIFECYCLE_LOGGER)
    lifecycle.setLevel(logging.INFO)
    for name in ("logchat", "aiohttp", LIFECYCLE_LOGGER):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.get_name() == _HANDLER_NAME]:
            logger.removeHandler(old)
        if name != LIFECYCLE_LOGGER or settings.format == "json":
            logger.addHandler(handler)
        logger.propagate = False
    logging.getLogger("logchat").setLevel((level or settings.level).upper())
    # aiohttp's own INFO lines (its access log) are off: logchat writes one without secrets.
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
