"""Usage analytics (docs/usage.md): a record per answered question, and the summaries analysts read
(`logchat stat --usage`, `GET /api/v1/analytics/usage`, `GET /api/v1/analytics/questions`).

Each front end records the answers it hands out, once: the command line in cli/ask.py, the daemon
(REST, Server-Sent Events and the chat socket) in daemon/streaming.py, where a model that ran out of
time has already been replaced by the extractive answer. Recording never fails the answer: a store
that cannot take the row is logged and the answer goes out.

The question is kept only as its shape: secrets masked, lower-cased, the hosts, sources and
processes it named and every variable part (numbers, addresses, ids, quoted strings) replaced by a
placeholder, so that "errors on web-03" and "errors on web-07" count as one question. The text
itself is in the audit trail (action ``ask``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from logchat.errors import LogchatError

if TYPE_CHECKING:
    from logchat.services.ask import Answer
    from logchat.storage.db import Store
    from logchat.storage.usage_repo import UsageFilter

log = logging.getLogger(__name__)

FRONT_ENDS = ("cli", "http", "ws")
SHAPE_LIMIT = 256
SCOPE_VALUE_LIMIT = 256
DEFAULT_TOP = 10

# Quoted text is whatever the person was looking for: a placeholder. A single quote only quotes when
# it stands apart from words, so "what's" and "didn't" stay as they are.
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|`[^`]*`|(?<!\w)'[^']*'(?!\w)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SPACES = re.compile(r"\s+")
_TRAILING = re.compile(r"[\s?!.]+$")


def question_shape(question: str, *, hosts: Iterable[str] = (), sources: Iterable[str] = (),
                   processes: Iterable[str] = ()) -> str:
    """The question with its variable parts replaced: what "the same question" means in the reports."""
    from logchat.ingest.templates import mask_message
    from logchat.redaction import mask_secrets

    text = mask_secrets(question)
    text = _QUOTED.sub("<STR>", text)
    text = _EMAIL.sub("<EMAIL>", text)
    # Names the question was scoped to are variables too ("errors on alpha" and "errors on beta"),
    # longest first so that "web-01.example" is replaced before "web-01".
    names = [(name, "<HOST>") for name in hosts] + [(name, "<SOURCE>") for name in sources] \
        + [(name, "<PROCESS>") for name in processes]
    for name, placeholder in sorted(names, key=lambda item: -len(item[0])):
        if name.strip():
            text = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", placeholder, text, flags=re.IGNORECASE)
    text = _lower_outside_placeholders(text)
    text = mask_message(text)
    text = _TRAILING.sub("", _SPACES.sub(" ", text)).strip()
    return text if len(text) <= SHAPE_LIMIT else text[: SHAPE_LIMIT - 1] + "…"


_PLACEHOLDER = re.compile(r"<[A-Z]+>")


def _lower_outside_placeholders(text: str) -> str:
    parts, last = [], 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(text[last:match.start()].lower())
        parts.append(match.group())
        last = match.end()
    parts.append(text[last:].lower())
    return "".join(parts)


# --- recording ----------------------------------------------------------------------------------------


def record_answer(store: Store, answer: Answer, *, front_end: str, total_ms: float) -> None:
    """Keep one usage record for a complete answer handed out by ``front_end`` (cli, http, ws), for the
    current actor (observability/audit.py) and request. Never raises."""
    try:
        _record(store, answer.to_json(), front_end, total_ms)
    except LogchatError as exc:  # busy or unreachable: one line, the answer stands
        log.error("could not record the usage of an answer: %s", exc.message)
    except Exception:
        log.exception("could not record the usage of an answer")


def _record(store: Store, data: dict[str, Any], front_end: str, total_ms: float) -> None:
    from logchat.observability.audit import current_actor
    from logchat.observability.logs import current as log_context
    from logchat.storage import usage_repo
    from logchat.storage.models import UsageRecord
    from logchat.storage.transactions import busy_means_try_again

    filters = data.get("filters") or {}
    timings = data.get("timings_ms") or {}
    hosts, sources = list(filters.get("hosts") or []), list(filters.get("sources") or [])
    actor = current_actor()
    record = UsageRecord(
        at=datetime.now(UTC), actor=actor.name[:96], actor_id=actor.account_id, front_end=front_end,
        mode=str(data["mode"]), matched=int(data["matched"]), total_ms=round(float(total_ms), 1),
        parse_ms=float(timings.get("parse") or 0.0), retrieve_ms=float(timings.get("retrieve") or 0.0),
        llm_ms=float(timings.get("llm") or 0.0), first_token_ms=timings.get("first_token"),
        llm_error=_clip(data.get("llm_error"), 256), session=_clip(data.get("session"), 200),
        shape=question_shape(str(data.get("question") or ""), hosts=hosts, sources=sources,
                             processes=filters.get("processes") or []),
        request_id=_clip(log_context("request_id"), 128),
    )  # fmt: skip
    scopes = [("source", value) for value in sources] + [("host", value) for value in hosts] + [
        ("answered_from", str(row[0])) for row in data.get("by_source") or [] if row and row[0] is not None]
    scopes = [(kind, value[:SCOPE_VALUE_LIMIT]) for kind, value in scopes if value]
    with busy_means_try_again("record the usage of an answer"), store.session() as session:
        usage_repo.add(session, record, scopes)


def _clip(value: Any, limit: int) -> str | None:
    return None if value is None else str(value)[:limit]


# --- reading ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageQuery:
    since: datetime | None = None
    until: datetime | None = None
    user: str | None = None  # an account name or os:NAME, as the reports show it
    top: int = DEFAULT_TOP

    def as_filter(self) -> UsageFilter:
        from logchat.storage.usage_repo import UsageFilter

        return UsageFilter(since=self.since, until=self.until, actor=self.user)

    def filters(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until, "user": self.user}


def summary(store: Store, query: UsageQuery) -> dict[str, Any]:
    """Everything of docs/usage.md in one object: what `stat --usage --json` prints and the REST
    endpoint returns."""
    from logchat.storage import usage_repo

    wanted = query.as_filter()
    with store.session() as session:
        totals = usage_repo.totals(session, wanted)
        latency = _latency(session, wanted)
        days = usage_repo.per_day(session, wanted)
        users = usage_repo.per_user(session, wanted, query.top)
        shapes = usage_repo.shapes(session, wanted, query.top)
        unanswered = usage_repo.shapes(session, wanted, query.top, unanswered_only=True)
        scopes = {kind: usage_repo.top_scopes(session, wanted, kind, query.top) for kind in usage_repo.SCOPE_KINDS}
    questions = totals["questions"]
    totals["llm_share"] = round(totals["llm"] / questions, 4) if questions else None
    totals["unanswered_share"] = round(totals["unanswered"] / questions, 4) if questions else None
    return {
        "filters": query.filters(),
        "totals": totals,
        "latency_ms": latency,
        "per_day": [{**row, "day": _day(row["day"])} for row in days],
        "per_user": users,
        "top_shapes": shapes,
        "unanswered": [_without_unanswered(row) for row in unanswered],
        "top_sources": scopes["source"],
        "top_hosts": scopes["host"],
        "answered_from": scopes["answered_from"],
    }


def question_shapes(store: Store, query: UsageQuery, *, unanswered: bool = False) -> dict[str, Any]:
    """The most asked question shapes (``query.top`` of them), or only those that matched nothing."""
    from logchat.storage import usage_repo

    with store.session() as session:
        rows = usage_repo.shapes(session, query.as_filter(), query.top, unanswered_only=unanswered)
    if unanswered:
        rows = [_without_unanswered(row) for row in rows]
    return {"filters": {**query.filters(), "unanswered": unanswered}, "shapes": rows}


def _without_unanswered(row: dict[str, Any]) -> dict[str, Any]:
    # Among questions that matched nothing, "unanswered" would only repeat "questions".
    return {key: value for key, value in row.items() if key != "unanswered"}


def _day(number: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=number)).date().isoformat()


def _latency(session: Any, wanted: UsageFilter) -> dict[str, dict[str, Any]]:
    from logchat.storage import usage_repo

    def as_dicts(found: dict[str, usage_repo.Percentiles]) -> dict[str, Any]:
        return {key: value.to_dict() for key, value in sorted(found.items())}

    total = usage_repo.percentiles(session, wanted, "total")
    total.update(usage_repo.percentiles(session, wanted, "total", by_mode=True))
    return {
        "total": as_dicts(total),
        "parse": as_dicts(usage_repo.percentiles(session, wanted, "parse")),
        "retrieve": as_dicts(usage_repo.percentiles(session, wanted, "retrieve")),
        "llm": as_dicts(usage_repo.percentiles(session, wanted, "llm", by_mode=True, modes=["llm"])),
        "first_token": as_dicts(usage_repo.percentiles(session, wanted, "first_token", by_mode=True, modes=["llm"])),
    }


def prune(store: Store, before: datetime) -> int:
    """Delete the usage records older than ``before``; returns how many (for retention)."""
    from logchat.storage import usage_repo
    from logchat.storage.transactions import busy_means_try_again

    with busy_means_try_again("prune usage records"), store.session() as session:
        return usage_repo.delete_before(session, before)
