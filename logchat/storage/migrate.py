"""Apply the Alembic migrations shipped inside the package, from code.

The common case (schema already current) is answered with one SELECT and without importing
Alembic, which keeps `logchat stat` fast; head_revision() needs no SQLAlchemy either, so a plain
sqlite3 reader can make the same check.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from logchat.storage.db import Store

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Objects that migrations create with dialect-specific SQL and the ORM does not model.
UNMODELLED = {
    "events_fts",
    "events_fts_data",
    "events_fts_idx",
    "events_fts_docsize",
    "events_fts_config",
    "events_fts_content",
    "search",
    "ix_events_search",
    "alembic_version",
    # A partial index (WHERE owner_id IS NULL): declaring it needs each dialect's own argument.
    "uq_chat_sessions_name_no_owner",
}
_ADVISORY_LOCK_KEY = 0x6C6F6763  # "logc"


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return name not in UNMODELLED


@cache
def head_revision() -> str:
    """The newest revision, read from the migration files' headers (no Alembic import)."""
    revisions, parents = _revision_graph()
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"migrations must have exactly one head, found {sorted(heads)}")
    return next(iter(heads))


@cache
def _revision_graph() -> tuple[frozenset[str], frozenset[str]]:
    """Every revision this version ships, and those that have a successor."""
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
    return frozenset(revisions), frozenset(parents)


def current_revision(store: Store) -> str | None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

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
    current = current_revision(store)
    if current == head_revision():
        return False
    if current is not None and current not in _revision_graph()[0]:
        # A newer logchat migrated this database (say, one replica upgraded before this one): this
        # version cannot know what changed, so it must not read or write the store.
        from logchat.errors import StoreError
        from logchat.storage.db import describe_database

        raise StoreError(
            f"the database {describe_database(store.url)} is at schema revision {current}, newer than this "
            f"version of logchat knows (its newest is {head_revision()})",
            hint="upgrade logchat (pip install -U logchat) on this machine too",
        )
    from alembic import command
    from sqlalchemy import text

    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            # Two processes starting on a fresh database must not both create the tables.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
        elif store.dialect == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        command.upgrade(alembic_config(conn), "head")
    return True
