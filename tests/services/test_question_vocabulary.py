"""The names a question may name: read from the data dir's list while it is current, written only by the
index maintenance after new lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from logchat.services.ingest import index_inputs
from logchat.services.question_vocabulary import FILE_NAME, known_values, refresh_known_values


def _log(path: Path, host: str) -> str:
    path.write_text(f"2026-01-05T10:00:00+00:00 {host} sshd[1]: Failed password for root from 10.0.0.1\n")
    return str(path)


def test_the_list_is_written_by_the_refresh_and_read_while_current(store: Any, settings: Any, tmp_path: Path) -> None:
    index_inputs(store, settings, [_log(tmp_path / "a.log", "alpha")])
    listed = settings.data_dir / FILE_NAME
    listed.unlink(missing_ok=True)
    assert "alpha" in known_values(store, settings)["hosts"]
    assert not listed.exists()  # reading never writes the list
    refresh_known_values(store, settings)
    written = json.loads(listed.read_text(encoding="utf-8"))
    assert "alpha" in written["values"]["hosts"]
    # While the store has no new rollup row the list is what a question reads, even when edited.
    written["values"]["hosts"] = ["from-the-list"]
    listed.write_text(json.dumps(written), encoding="utf-8")
    assert known_values(store, settings)["hosts"] == ["from-the-list"]
    refresh_known_values(store, settings)  # current: left as it is
    assert json.loads(listed.read_text(encoding="utf-8"))["values"]["hosts"] == ["from-the-list"]
    # New lines make it stale: the store is read, and the next refresh writes it again.
    index_inputs(store, settings, [_log(tmp_path / "b.log", "beta")])
    assert {"alpha", "beta"} <= set(known_values(store, settings)["hosts"])
    refresh_known_values(store, settings)
    assert {"alpha", "beta"} <= set(json.loads(listed.read_text(encoding="utf-8"))["values"]["hosts"])


def test_a_damaged_list_or_a_read_only_data_dir_costs_only_the_list(
    store: Any, settings: Any, tmp_path: Path
) -> None:
    index_inputs(store, settings, [_log(tmp_path / "a.log", "alpha")])
    listed = settings.data_dir / FILE_NAME
    listed.write_text("{not json", encoding="utf-8")
    assert "alpha" in known_values(store, settings)["hosts"]
    listed.unlink()
    listed.mkdir()  # the list's name is taken: writing it fails
    refresh_known_values(store, settings)
    assert listed.is_dir() and "alpha" in known_values(store, settings)["hosts"]
