"""Queries behind the answers: the plan SQLite is steered to must hold for every pattern, not the first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select

from logchat.services.pattern_values import ValueReading, pattern_top_values
from logchat.storage import search_repo
from logchat.storage.models import Template


def test_every_pattern_gets_the_sparse_match_plan(small_store: Any) -> None:
    # Sparse matches (1 of many events) make SQLite read the materialised matches instead of walking
    # the template's index; the counts that decide it must reach the second pattern's query too.
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with small_store.session() as session:
        templates = session.execute(select(Template.id, Template.template).order_by(Template.id)).all()
        assert len(templates) >= 2
        patterns = [search_repo.PatternStats(tid, text, 1, None, None, None) for tid, text in templates[:2]]
        sparse = {pattern.template_id: (1, 1_000_000) for pattern in patterns}
        event.listen(small_store.engine, "before_cursor_execute", record)
        try:
            values, _ = pattern_top_values(session, patterns, ValueReading([], counts=sparse))
        finally:
            event.remove(small_store.engine, "before_cursor_execute", record)
    assert set(values) == {pattern.template_id for pattern in patterns}
    # Each pattern's events are read (their fields, or their messages, or both): every read is steered.
    reads = [s for s in statements if "FROM events" in s]
    steered = [s for s in reads if "+events.template_id" in s]
    assert len(reads) >= 2, statements
    # The shortcut is SQLite's; PostgreSQL plans it by itself.
    assert len(steered) == (len(reads) if small_store.is_sqlite else 0), statements
