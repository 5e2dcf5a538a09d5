"""Which words the store's patterns print as they are written: read from the templates' fixed text, not the
events, so a question can ask it of a store of any size for a few candidate words."""

from __future__ import annotations

import re
from collections.abc import Collection

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from logchat.storage.models import Template

__all__ = ["printed_in_capitals"]

# Templates read per question: the candidates are short capitalised words, rare in fixed text.
MAX_TEMPLATES = 1_000


def printed_in_capitals(session: Session, words: Collection[str]) -> frozenset[str]:
    """The ``words`` (upper case, letters only) that a template prints in capitals as a word of its own ("RM" in
    "ERROR IN CONTACTING RM.", not in "RMContainerAllocator"), lower-cased; empty when none is."""
    wanted = sorted({word for word in words if word.isalpha() and word.isupper()})
    if not wanted:
        return frozenset()
    column = Template.template
    # Case-sensitive on both backends: GLOB on SQLite (whose LIKE ignores case), LIKE on PostgreSQL.
    if session.get_bind().dialect.name == "sqlite":
        contains = [column.op("GLOB")(f"*{word}*") for word in wanted]
    else:
        contains = [column.like(f"%{word}%") for word in wanted]
    rows = session.scalars(select(column).where(or_(*contains)).limit(MAX_TEMPLATES))
    found: set[str] = set()
    patterns = {word: re.compile(rf"(?<![A-Za-z0-9]){word}(?![A-Za-z0-9])") for word in wanted}
    for template in rows:
        found.update(word for word, pattern in patterns.items() if word not in found and pattern.search(template or ""))
    return frozenset(word.lower() for word in found)
