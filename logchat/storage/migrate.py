"""Apply the Alembic migrations shipped inside the package, from code.

The common case (schema already current) is answered with one SELECT and without importing
Alembic, which keeps `logchat stat` fast.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from logchat.storage.db import Store

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Objects that migrations create with dialect-specific SQL and the ORM does not model.
UNMODELLED = {"events_fts", "events_fts_data", "events_fts_idx", "events_fts_docsize", "events_fts_config",
              "events_fts_content", "search", "ix_events_search", "alembic_version"}
_ADVISORY_LOCK_KEY = 0x6C6F6763  # "logc"


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return name not in UNMODELLED


@cache
def head_revision() -> str:
    """The newest revision, read from the migration files' headers (no Alembic import)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        rev = re.search(r'^revision\s*=\s*"([^"]+)"', source, re.M)
        down = re.search(r'^down_revision\s*=\s*(?:"([^"]+)"|None)', source, re.M)
        if rev:
            revisions.add(rev.group(1))
        if down and down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"migrations must have exactly one head, found {sorted(heads)}")
    return heads.pop()


def current_revision(store: Store) -> str | None:
    with store.engine.connect() as conn:
        try:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        except DBAPIError:
            return None
    return row[0] if row else None


def alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade_to_head(store: Store) -> bool:
    """Bring the schema to head. Returns True when a migration ran."""
    if current_revision(store) == head_revision():
        return False
    from alembic import command

    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            # Two processes starting on a fresh database must not both create the tables.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
        elif store.dialect == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        command.upgrade(alembic_config(conn), "head")
    return True
