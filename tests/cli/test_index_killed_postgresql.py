"""`logchat index` into PostgreSQL killed in the middle: the next run stores exactly the events of an
uninterrupted one (the binary COPY of events, their full-text vectors, templates, rollup and the
checkpoint commit together)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from interrupt import kill_once_committed
from sqlalchemy import create_engine, text

TOTAL_LINES = 150_000


def _generate_log(path: Path) -> None:
    with path.open("w") as handle:
        for i in range(TOTAL_LINES):
            handle.write(
                f"2026-11-03T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z "
                f"{'ERROR' if i % 97 == 0 else 'INFO'} worker-{i % 7} processed job {i} in {i % 1000} ms\n"
            )


def test_killed_index_into_postgresql_resumes_without_loss_or_duplicates(tmp_path: Path, postgres_url: str) -> None:
    log = tmp_path / "big.log"
    _generate_log(log)
    config = tmp_path / "small-batches.toml"
    config.write_text("[ingest]\nbatch_size = 5000\n")
    command = [sys.executable, "-m", "logchat", "--quiet", "--config", str(config), "--data-dir",
               str(tmp_path / "data"), "--database-url", postgres_url, "index", str(log)]
    engine = create_engine(postgres_url)

    def committed() -> int | None:
        try:
            with engine.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM events")).scalar() or 0
        except Exception:  # not migrated yet
            return None

    try:
        killed_at = kill_once_committed(command, committed, 10_000, hang_guard=300)
        assert 0 < killed_at < TOTAL_LINES
        resumed = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=600)
        assert resumed.returncode == 0, resumed.stderr
        with engine.connect() as conn:
            def one(query: str) -> int:
                return int(conn.execute(text(query)).scalar() or 0)

            count = one("SELECT count(*) FROM events")
            lines = one("SELECT count(DISTINCT line_no) FROM events")
            ids = one("SELECT max(id) - min(id) + 1 FROM events")
            searchable = one("SELECT count(*) FROM events WHERE search @@ plainto_tsquery('english', 'processed')")
            templates = one("SELECT sum(count) FROM templates")
            rollup = one("SELECT sum(count) FROM event_rollup")
            checkpoint = one("SELECT line_count FROM sources")
    finally:
        engine.dispose()
    assert count == TOTAL_LINES  # what an uninterrupted run stores: one event per line
    assert lines == TOTAL_LINES  # nothing twice
    assert ids == TOTAL_LINES  # the resumed run's ids follow the committed ones, no gap, no reuse
    assert searchable == TOTAL_LINES  # every event's full-text vector was committed with it
    assert templates == TOTAL_LINES and rollup == TOTAL_LINES  # counts too
    assert checkpoint == TOTAL_LINES
    # The resumed run added only what the killed one had not committed.
    assert json.loads(resumed.stdout)["new_events"] <= TOTAL_LINES - killed_at
