"""Stores filled with real logs for the retrieval tests (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def index_logs(store: Any, settings: Any) -> Callable[[list[Path]], None]:
    """Index files into the test store and bring the vector index up to date."""

    def index(paths: list[Path]) -> None:
        from logchat.services.ingest import index_inputs
        from logchat.services.vectors import update_vector_index

        report = index_inputs(store, settings, [str(path) for path in paths])
        assert not report.failed, report.to_dict()
        update_vector_index(store, settings)

    return index


@pytest.fixture
def ground_truth(loghub: Path) -> Callable[[str], list[dict[str, str]]]:
    """Rows of <System>_2k.log_structured.csv: LineId, Content, EventId, EventTemplate, ..."""

    def read(system: str) -> list[dict[str, str]]:
        with (loghub / system / f"{system}_2k.log_structured.csv").open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    return read


@pytest.fixture
def loghub_store(store: Any, loghub: Path, index_logs: Callable[[list[Path]], None]) -> Any:
    """OpenSSH, HDFS and Spark samples, indexed with vectors."""
    index_logs([loghub / name / f"{name}_2k.log" for name in ("OpenSSH", "HDFS", "Spark")])
    return store
