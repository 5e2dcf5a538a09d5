"""How the commands open the store: only short-lived readers read a SQLite file through a memory map."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from logchat.cli.context import AppContext


@pytest.mark.parametrize(
    ("opened_as", "mapped"),
    [({}, True), ({"for_writing": True}, False), ({"long_running": True}, False)],
)
def test_only_a_reader_that_soon_exits_maps_the_store(tmp_path: Path, opened_as: dict, mapped: bool) -> None:
    # Every mapped page a process touches counts in its resident memory: `index` touches the whole store and
    # `serve` runs for weeks, so they read pages as before; `ask` and `stat` map the file.
    app = AppContext(overrides={"data_dir": tmp_path / "data"}, quiet=True)
    try:
        store = app.open_store(**opened_as)
        with store.session() as session:
            assert (session.execute(text("PRAGMA mmap_size")).scalar() > 0) is mapped
    finally:
        app.close()
