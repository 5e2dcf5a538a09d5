"""The host, process and source names a question may name, for the question parser.

Reading them takes a few grouped queries over the rollup; the list is kept in the data dir
(``ask-vocabulary.json``) and is current while the store has no new rollup row. Answers only read the file:
the index maintenance that runs after new lines (`index`, `reload`, `follow`, the daemon's jobs) writes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import TYPE_CHECKING

from logchat.storage import search_repo

if TYPE_CHECKING:
    from logchat.config import Settings
    from logchat.storage.db import Store

FILE_NAME = "ask-vocabulary.json"


def known_values(store: Store, settings: Settings) -> dict[str, list[str]]:
    """The names, from the data dir's list when it is current, else from the store (writing nothing)."""
    with store.session() as session:
        version = search_repo.vocabulary_version(session)
        cached = _read(store, settings, version)
        return cached if cached is not None else search_repo.known_values(session)


def refresh_known_values(store: Store, settings: Settings) -> None:
    """Write the list again when the store can hold new names; a read-only data dir only costs the list."""
    from logchat.retrieval.vector_store import write_atomically

    with store.session() as session:
        version = search_repo.vocabulary_version(session)
        if _read(store, settings, version) is not None:
            return
        values = search_repo.known_values(session)
    payload = {"store": _store_key(store), "version": version, "values": values}
    with contextlib.suppress(OSError):  # a read-only data dir only costs the list
        write_atomically(settings.data_dir / FILE_NAME, json.dumps(payload).encode("utf-8"))


def _read(store: Store, settings: Settings, version: int) -> dict[str, list[str]] | None:
    try:
        cached = json.loads((settings.data_dir / FILE_NAME).read_text(encoding="utf-8"))
        if cached.get("store") == _store_key(store) and cached.get("version") == version:
            return cached["values"]  # type: ignore[no-any-return]
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    return None


def _store_key(store: Store) -> str:
    # One data dir can serve several stores in turn (--database): a list is only good for its own.
    return hashlib.sha1(store.url.encode("utf-8"), usedforsecurity=False).hexdigest()
