"""JSON lines (one object per line): structlog, pino/bunyan, logstash/ECS, zap, Docker, journald."""

from __future__ import annotations

import json
from datetime import datetime
from math import isfinite
from typing import Any, NamedTuple

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase, pid_value
from logchat.ingest.levels import level_from_syslog_severity, normalize_level
from logchat.ingest.timestamps import TimeContext, epoch_to_utc

_TIME_KEYS = ("time", "timestamp", "ts", "@timestamp", "t", "datetime", "date", "asctime", "when", "@t", "instant",
              "timestamp_ns", "time_unix_nano", "timeUnixNano", "observed_time_unix_nano", "_time", "eventTime",
              "log_time", "logtime")
_LEVEL_KEYS = ("level", "lvl", "severity", "levelname", "loglevel", "log_level", "log.level", "severityText",
               "severity_text", "@l", "level_name", "levelName")
# OpenTelemetry severity numbers: 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL.
_SEVERITY_NUMBER_KEYS = ("severity_number", "severityNumber", "SeverityNumber")
_OTEL_LEVELS = ("TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_MESSAGE_KEYS = ("msg", "message", "log", "text", "event", "MESSAGE", "@message", "@m", "@mt", "body", "Body")
# Time keys by their ending, for records that use none of the names above: created_at, eventTimestamp.
_TIME_SUFFIXES = ("_at", "Timestamp", "_timestamp", "_time")
_HOST_KEYS = ("host", "hostname", "_HOSTNAME", "host.name", "node")
_PROCESS_KEYS = ("logger", "name", "component", "service", "logger_name", "app", "SYSLOG_IDENTIFIER")
_PID_KEYS = ("pid", "_PID", "process_id", "process.pid")
# journald's JSON export: microseconds since the epoch, and a syslog PRIORITY digit.
_JOURNALD_TIME = "__REALTIME_TIMESTAMP"

# pino and bunyan log numeric levels.
_NUMERIC_LEVELS = ((60, "CRITICAL"), (50, "ERROR"), (40, "WARNING"), (30, "INFO"), (20, "DEBUG"), (10, "TRACE"))


def _first(record: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        value = record.get(key)
        if value is not None and value != "":
            return key, value
    return None, None


class _KeyPlan(NamedTuple):
    """The well-known keys one shape of record holds, in the order they are preferred: what depends on its keys
    alone is worked out once per shape, so a line looks up only the keys it has (a shape's lines are many)."""

    time: tuple[str, ...]
    time_by_suffix: str | None  # the first key ending like a time key, for records with no time key of value
    level: tuple[str, ...]
    severity_number: str | None
    message: tuple[str, ...]
    host: tuple[str, ...]
    process: tuple[str, ...]
    pid: tuple[str, ...]
    journald: bool


# The plans kept hold their records' key names: a bounded number, of short lines only, bounds their memory.
_PLAN_CACHE_LIMIT = 1024
_PLANNED_LINE_CHARS = 4096
_plans: dict[tuple[str, ...], _KeyPlan] = {}


def _plan_of(names: tuple[str, ...], keep: bool) -> _KeyPlan:
    plan = _plans.get(names)
    if plan is None:
        present = set(names)
        plan = _KeyPlan(
            time=tuple(key for key in _TIME_KEYS if key in present),
            time_by_suffix=next((name for name in names if name.endswith(_TIME_SUFFIXES)), None),
            level=tuple(key for key in _LEVEL_KEYS if key in present),
            severity_number=next((name for name in _SEVERITY_NUMBER_KEYS if name in present), None),
            message=tuple(key for key in _MESSAGE_KEYS if key in present),
            host=tuple(key for key in _HOST_KEYS if key in present),
            process=tuple(key for key in _PROCESS_KEYS if key in present),
            pid=tuple(key for key in _PID_KEYS if key in present),
            journald=_JOURNALD_TIME in present,
        )
        if keep:
            if len(_plans) >= _PLAN_CACHE_LIMIT:
                _plans.clear()
            _plans[names] = plan
    return plan


def _time_value(value: Any, ctx: TimeContext) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return epoch_to_utc(value)
    if isinstance(value, dict):  # {"$date": ...} (MongoDB) or {"seconds": .., "nanos": ..}
        if "epochSecond" in value:  # log4j2's JsonLayout "instant"
            value = {"seconds": value["epochSecond"], "nanos": value.get("nanoOfSecond", 0)}
        seconds, nanos = value.get("seconds"), value.get("nanos", 0)
        if _is_number(seconds) and _is_number(nanos) and abs(nanos) < 10**9:
            if not nanos:
                return epoch_to_utc(seconds)
            try:
                return epoch_to_utc(seconds + nanos / 1e9)
            except OverflowError:  # an int of hundreds of digits does not fit a float
                return None
        if "seconds" in value:
            return None
        inner = value.get("$date")
        return _time_value(inner, ctx) if inner is not None else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if 0 < len(text) <= 30 and text[:1].isdecimal() and text.replace(".", "", 1).isdecimal():
        number = float(text) if "." in text else int(text)
        # A bare year-like digit string is not an epoch; anything of epoch length is.
        return epoch_to_utc(number) if abs(number) >= 10**8 else None
    return ctx.iso(text)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _level_value(value: Any) -> str | None:
    if isinstance(value, str):
        return normalize_level(value.strip())
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        for threshold, level in _NUMERIC_LEVELS:
            if value >= threshold:
                return level
        return "TRACE" if value >= 0 else None
    if isinstance(value, dict):  # ECS nested {"log": {"level": ...}} is looked up separately
        return None
    return None


def _scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    # json.dumps writes an int as int.__repr__ and a finite float as float.__repr__ (its own call costs
    # as much as reading the whole line); exact types only, so True stays "true" and NaN "NaN".
    kind = type(value)
    if kind is int:
        return int.__repr__(value)
    if kind is float and isfinite(value):
        return float.__repr__(value)
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except RecursionError:  # as deep as json.loads allowed, but called from deeper in the stack
        return "…"


class JsonLinesParser(ParserBase):
    """One JSON object per line. Well-known keys fill the header; the message is the message key
    followed by the remaining fields as key=value, so that "status=500" stays searchable."""

    name = "json"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        stripped = line.strip()
        if not stripped.startswith("{") or not stripped.endswith("}"):
            return None
        try:
            record = json.loads(stripped)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack allows
            return None
        if not isinstance(record, dict):
            return None
        used: set[str] = set()
        plan = _plan_of(tuple(record), len(stripped) <= _PLANNED_LINE_CHARS)

        ts = None
        if plan.journald:
            used.add(_JOURNALD_TIME)
            try:
                ts = epoch_to_utc(int(record[_JOURNALD_TIME]))
            except (TypeError, ValueError, OverflowError):
                ts = None
        if ts is None:
            key, value = _first(record, plan.time)
            if key is None:
                key = plan.time_by_suffix
                value = record.get(key) if key is not None else None
            if key is not None:
                used.add(key)
                ts = _time_value(value, self.ctx)

        level = None
        key, value = _first(record, plan.level)
        if key is not None:
            used.add(key)
            level = _level_value(value)
        elif (number_key := plan.severity_number) is not None:
            used.add(number_key)
            number = record[number_key]
            if isinstance(number, int) and not isinstance(number, bool) and 1 <= number <= 24:
                level = _OTEL_LEVELS[(number - 1) // 4]
        elif isinstance(record.get("log"), dict) and "level" in record["log"]:
            level = _level_value(record["log"]["level"])
        elif "PRIORITY" in record:
            used.add("PRIORITY")
            try:
                level = level_from_syslog_severity(int(record["PRIORITY"]))
            except (TypeError, ValueError, OverflowError):
                level = None

        key, message_value = _first(record, plan.message)
        message = ""
        if key is not None and not isinstance(message_value, dict | list):
            used.add(key)
            message = _scalar_text(message_value).rstrip("\n")

        host = process = None
        pid = None
        key, value = _first(record, plan.host)
        if key is not None and isinstance(value, str):
            used.add(key)
            host = value
        key, value = _first(record, plan.process)
        if key is not None and isinstance(value, str):
            used.add(key)
            process = value
        key, value = _first(record, plan.pid)
        if key is not None and (pid := pid_value(value)) is not None:
            used.add(key)

        # journald exports dozens of bookkeeping fields; only its MESSAGE is worth keeping there.
        extras = (
            []
            if plan.journald
            else [
                f"{name}={_scalar_text(value)}"
                for name, value in record.items()
                if name not in used and value is not None
            ]
        )
        if extras:
            message = f"{message} {' '.join(extras)}" if message else " ".join(extras)
        return ParsedHeader(ts, level, host, process, pid, message, record)
