"""Shared pieces of the adversarial tests: a hang guard and the inputs that must never break a parser.

The guard is not a timing assertion: it only fails a call stuck for many seconds (a loop or a catastrophic
regex), naming the input, so a hang shows up as one failing example instead of a frozen test run.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from logchat.errors import LogchatError

HANG_SECONDS = 10.0
CORPUS_PATH = Path(__file__).parent / "corpus" / "adversarial_inputs.json"
NOW = datetime(2026, 11, 4, 9, 30, tzinfo=UTC)
REFERENCE = datetime(2026, 11, 4, tzinfo=UTC)

T = TypeVar("T")


class InputHung(AssertionError):
    """A call did not return within HANG_SECONDS."""


@contextmanager
def hang_guard(what: object, seconds: float = HANG_SECONDS) -> Iterator[None]:
    """Fail with the input when the body runs longer than `seconds` (SIGALRM; main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise InputHung(f"no answer within {seconds:g} s for input {what!r:.500}")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def call_bounded(function: Callable[..., T], *args: Any, **kwargs: Any) -> T | LogchatError:
    """Run `function` under the hang guard: its result, or the LogchatError it raised. Anything else propagates
    (and fails the test) with the input named."""
    with hang_guard(args or kwargs):
        try:
            return function(*args, **kwargs)
        except LogchatError as error:
            return error


def load_corpus() -> dict[str, list[Any]]:
    """The inputs that once hung or crashed, by kind: "time_phrases", "cli_times", "questions", "log_lines"."""
    return json.loads(CORPUS_PATH.read_text(encoding="utf-8"))
