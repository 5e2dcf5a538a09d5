"""Use case: schema management (`logchat db`)."""

from __future__ import annotations

from typing import Any

from logchat.config import Settings
from logchat.storage.db import open_store, safe_url
from logchat.storage.migrate import current_revision, head_revision, upgrade_to_head


def upgrade_database(settings: Settings) -> tuple[bool, str]:
    store = open_store(settings.database_url, migrate=False)
    try:
        ran = upgrade_to_head(store)
        return ran, current_revision(store) or ""
    finally:
        store.close()


def describe_database(settings: Settings) -> dict[str, Any]:
    store = open_store(settings.database_url, migrate=False)
    try:
        return {"url": safe_url(settings.database_url), "current": current_revision(store), "head": head_revision()}
    finally:
        store.close()
