"""Events whose line prints a given level word before its message ("SEVERE", "FATAL").

Several words logs print share one stored level (java.util.logging's SEVERE and BGL's ERROR are both ERROR,
FATAL and FAILURE both CRITICAL), so a question that quotes the word a log prints is answered from the line
itself: the part of the raw line that is not the message (its header) must hold the word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from logchat.storage.models import Event

__all__ = ["any_event", "prints_level_word"]


def prints_level_word(session: Session, words: Sequence[str]) -> ColumnElement[bool]:
    """Events whose header (the raw line without its message) holds one of ``words`` as a whole word,
    ignoring case. Both backends read the same regular expression."""
    header = func.replace(Event.raw, Event.message, "")
    pattern = r"(^|[^A-Za-z0-9])(" + "|".join(re.escape(word) for word in words) + r")([^A-Za-z0-9]|$)"
    if session.get_bind().dialect.name == "postgresql":
        return header.regexp_match(pattern, flags="i")
    # SQLAlchemy's SQLite REGEXP is Python's re.search, which takes the flag inline.
    return header.regexp_match("(?i)" + pattern)


def any_event(session: Session, conditions: Sequence[ColumnElement[bool]]) -> bool:
    """Whether any event meets every one of ``conditions``."""
    return session.execute(select(Event.id).where(*conditions).limit(1)).first() is not None
