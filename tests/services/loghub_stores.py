"""Stores of loghub sample logs for the answer tests, and the raw lines their expected counts come from.

The answers are checked against the logs themselves, read here with regular expressions, never against
what logchat stored."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def indexed_samples(settings: Any, loghub: Path, systems: tuple[str, ...] | list[str]) -> Iterator[Any]:
    """A store holding the 2k-line samples of ``systems``, indexed with ``settings`` (named fields on, the
    default)."""
    from logchat.services.ingest import index_inputs
    from logchat.storage.db import open_store

    store = open_store(settings.database_url)
    try:
        logs = [str(loghub / name / f"{name}_2k.log") for name in systems]
        assert not index_inputs(store, settings, logs).failed
        yield store
    finally:
        store.close()


def raw_lines(loghub: Path, system: str, pattern: str) -> list[str]:
    """The lines of a system's sample that ``pattern`` finds."""
    regex = re.compile(pattern)
    lines = (loghub / system / f"{system}_2k.log").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if regex.search(line)]
