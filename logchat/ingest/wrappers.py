"""Lines wrapped by a log collector: `docker compose logs` prefixes, Kubernetes CRI container logs
and JSON envelopes (docker's json-file driver, journald's JSON export, shippers) that carry the
program's own line in a field. The wrapper is removed before the line's own format is detected
and parsed; what the wrapper knows (the service, the collector's time) fills what the line lacks.

A wrapped format is named `KIND+INNER` (`compose+log4j`, `cri+generic`, `envelope+rfc3164`), so the
name stored with a source is enough to build its parser again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from logchat.ingest.events import ParsedHeader
from logchat.ingest.timestamps import TimeContext

# "web-1  | msg", "web_1    | msg" (docker compose v2 / v1); the service name never starts with a digit
# here, which keeps loguru's "2024-01-01 12:00:00.123 | INFO | ..." out.
_COMPOSE = re.compile(r"([A-Za-z][\w.-]*?)(?:[-_](\d+))? +\| ?(.*)", re.DOTALL)
# "2024-06-01T10:00:00.123456789Z stdout F msg" (containerd / CRI-O).
_CRI = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([FP]) ?(.*)",
                  re.DOTALL)
_ENVELOPE_FIELDS = ("log", "message", "MESSAGE")
_ENVELOPE_PROCESS = ("SYSLOG_IDENTIFIER", "container_name", "service", "app")
_ENVELOPE_TIME = ("__REALTIME_TIMESTAMP", "time", "timestamp", "@timestamp", "ts")
# A wrapper is assumed when at least this share of the sample's lines carry it.
MIN_WRAPPED_SHARE = 0.8

Unwrapped = tuple[str, str | None, datetime | None]  # (the program's own line, process, collector time)


def _compose(line: str, ctx: TimeContext) -> Unwrapped | None:
    match = _COMPOSE.match(line)
    if match is None:
        return None
    return match.group(3), match.group(1), None


def _cri(line: str, ctx: TimeContext) -> Unwrapped | None:
    match = _CRI.match(line)
    if match is None:
        return None
    return match.group(4), None, ctx.iso(match.group(1))


def _envelope(line: str, ctx: TimeContext) -> Unwrapped | None:
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict):
        return None
    text = next((record[key] for key in _ENVELOPE_FIELDS if isinstance(record.get(key), str)), None)
    if text is None:
        return None
    process = next((record[key] for key in _ENVELOPE_PROCESS if isinstance(record.get(key), str)), None)
    return text.rstrip("\r\n"), process, _envelope_time(record, ctx)


def _envelope_time(record: dict[str, Any], ctx: TimeContext) -> datetime | None:
    from logchat.ingest.formats.jsonlines import _time_value

    for key in _ENVELOPE_TIME:
        value = record.get(key)
        if value is not None:
            if key == "__REALTIME_TIMESTAMP" and isinstance(value, str) and value.isdecimal():
                value = int(value)
            return _time_value(value, ctx)
    return None


UNWRAPPERS: dict[str, Callable[[str, TimeContext], Unwrapped | None]] = {
    "compose": _compose,
    "cri": _cri,
    "envelope": _envelope,
}


def detect_wrapper(lines: list[str], ctx: TimeContext) -> tuple[str, list[str]] | None:
    """(wrapper kind, the sample's lines unwrapped) when nearly every sample line has one wrapper."""
    if not lines:
        return None
    for kind, unwrap in UNWRAPPERS.items():
        inner = []
        for line in lines:
            result = unwrap(line, ctx)
            if result is not None:
                inner.append(result[0])
        if len(inner) >= MIN_WRAPPED_SHARE * len(lines):
            return kind, (_first_fragments(lines) or inner) if kind == "cri" else inner
    return None


def _first_fragments(lines: list[str]) -> list[str]:
    """The inner lines of CRI lines without the fragments that continue a split line: the rest of a
    split line is no line of the program's format, and would sway detection."""
    inner = []
    partial: set[str] = set()
    for line in lines:
        match = _CRI.match(line)
        if match is None:
            continue
        _stamp, stream, tag, text = match.groups()
        if stream not in partial:
            inner.append(text)
        if tag == "P":
            partial.add(stream)
        else:
            partial.discard(stream)
    return inner


class WrappedParser:
    """Parses the line inside a wrapper with the inner format's parser.

    CRI splits a long line into `P` (partial) fragments ended by an `F` line of the same stream; the
    fragments after the first join its event and are glued to it without a line break, so the
    program's line is one message again. A line of the other stream in between ends the joining: the
    rest of the split line is then an event of its own, with the runtime's time.
    """

    __slots__ = ("_cut", "_glue", "_inner", "_inner_continuation", "_own_header", "_partial", "_unwrap", "ctx",
                 "finish_event", "name")

    def __init__(self, kind: str, inner: Any) -> None:
        from logchat.ingest.multiline import own_header_finder

        self.name = f"{kind}+{inner.name}"
        self.ctx: TimeContext = inner.ctx
        self._inner = inner
        self._unwrap = UNWRAPPERS[kind]
        self._inner_continuation = getattr(inner, "is_continuation", None)
        self._own_header = None if self._inner_continuation is not None else own_header_finder(inner)
        self._partial: str | None = None  # the CRI stream whose `P` fragment ended the last line
        self._glue = False  # the line just joined is the rest of a split line
        self._cut: str | None = None  # a stream whose split line a line of the other stream interrupted
        if kind == "cri":
            self.finish_event = self._glue_fragments

    def _split(self, line: str) -> Unwrapped:
        result = self._unwrap(line, self.ctx)
        return result if result is not None else (line, None, None)

    def _fragment_continues(self, line: str) -> bool:
        """Whether a CRI line is the next fragment of the split line before it (and note if it ends it)."""
        partial = self._partial
        if partial is None:
            return False
        match = _CRI.match(line)
        if match is None or match.group(2) != partial:
            self._partial = None
            self._cut = partial
            return False
        if match.group(3) == "F":
            self._partial = None
        self._glue = True
        return True

    def _glue_fragments(self, event: Any) -> None:
        if _GLUE in event.message:
            event.message = event.message.replace(_GLUE, "")

    def parse(self, line: str) -> ParsedHeader | None:
        if self._partial is not None and self._fragment_continues(line):
            return None
        text, process, ts = self._split(line)
        rest_of_cut = False
        if self._unwrap is _cri and (self._cut is not None or " P " in line[:48]):
            match = _CRI.match(line)
            if match is not None:
                if match.group(3) == "P":
                    self._partial = match.group(2)
                if match.group(2) == self._cut:
                    # The rest of a line the other stream interrupted: its own event, never glued to
                    # the other stream's.
                    self._cut = None
                    rest_of_cut = True
        if not text.strip():
            return None
        header = self._inner.parse(text)
        if header is None and self._own_header is not None and text[0] not in " \t":
            header = self._own_header(text)
        if header is None:
            if not rest_of_cut:
                return None
            header = ParsedHeader(ts, None, None, None, None, text)
        if header.process is None and process is not None:
            header.process = process
        if header.ts is None and ts is not None:
            header.ts = ts
        return header

    def is_continuation(self, line: str) -> bool:
        """Asked by the event joiner before `parse`; the inner format's own rule on the inner line."""
        if self._partial is not None and self._fragment_continues(line):
            return True
        if self._inner_continuation is None:
            return False
        text = self._split(line)[0]
        return bool(text) and self._inner_continuation(text)

    def continuation_text(self, line: str) -> str:
        """What a continuation line adds to its event's message: the inner line, unwrapped."""
        if self._glue:
            self._glue = False
            return "\x00" + self._split(line)[0]
        return self._split(line)[0]


_GLUE = "\n\x00"  # marks, in a joined message, a fragment to glue to the text before it
