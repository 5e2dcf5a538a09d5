"""`GET /api/v1/admin/audit`: the audit trail (docs/audit.md), newest first, paged by keyset."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from logchat.daemon.endpoints import Call, endpoint


class AuditParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(None, max_length=200, description="Entries at or after this time ('24h', ISO…).")
    until: str | None = Field(None, max_length=200, description="Entries before this time.")
    actor: str | None = Field(None, max_length=96, description="An account name, os:NAME, or scheduler.")
    action: str | None = Field(None, max_length=64, pattern=r"^[a-z_.]+$", description=(
        "An action (auth.login), or every action under a prefix ending in '.' (user.)."))
    outcome: Literal["ok", "failed", "denied"] | None = None
    before: int | None = Field(None, ge=1, le=2**62, description="The `next` cursor of the previous page.")
    limit: int = Field(100, ge=1, le=1000)


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="Account name; os:NAME for a command run on the store; scheduler.")
    actor_id: int | None
    action: str
    target: str | None
    outcome: Literal["ok", "failed", "denied"]
    client: str | None = Field(description="The client's address, for the daemon's requests.")
    request_id: str | None
    detail: dict[str, Any] | None
    prev_hash: str
    hash: str = Field(description="SHA-256 over the entry and prev_hash: `logchat audit verify` checks the chain.")


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    next: int | None = Field(description="Pass as `before` for the next (older) page; null on the last.")


def _page(call: Call, params: AuditParams) -> dict[str, Any]:
    from logchat.daemon.routes.logs import time_window
    from logchat.services.audit import AuditQuery, list_entries

    since, until = time_window(params.since, params.until, call.services.settings.ingest.default_timezone)
    query = AuditQuery(since=since, until=until, actor=params.actor.strip().lower() if params.actor else None,
                       action=params.action, outcome=params.outcome)
    entries, cursor = list_entries(call.services.store, query, before_id=params.before, limit=params.limit)
    return {"entries": entries, "next": cursor}


@endpoint("GET", "/api/v1/admin/audit", access="audit:read", tag="admin", query=AuditParams, response=AuditPage,
          summary="The audit trail: sign-ins, account and source changes, reloads, denials, questions.")
async def audit_trail(call: Call) -> dict[str, Any]:
    from logchat.daemon.app import run_blocking

    return await run_blocking(call.request, _page, call, call.query)
