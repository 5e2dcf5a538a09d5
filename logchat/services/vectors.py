"""Use case: keep the vector index in step with the store (after `index`/`reload`, or on demand).

Two FAISS indexes live in ``<data_dir>/vectors/``:

- ``templates.faiss``: one vector per template (id = templates.id);
- ``windows.faiss``: one vector per distinct window content (id = vector_signatures.id), where a window
  is up to ``retrieval.window_size`` consecutive events of one source and its content is the set of
  templates in it. Windows themselves are rows of ``vector_windows``, so a hit maps back to events.

A million repeats of one line are one template and a handful of signatures: they cost a few
embeddings, not a million. Updates are incremental: events after the last windowed event id are cut
into new windows, and only new signatures and new or changed templates are embedded. ``meta.json``
beside the FAISS files records what was embedded and with which embedder; a different embedder
configuration, or vectors made for another database (``store_id``, the random identity each database
gets when it is created), trigger a full re-embedding. Every file is replaced atomically (temp file + rename),
meta.json last, and adding an id that is present replaces it, so an interrupted update simply runs again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logchat.config import Settings
from logchat.retrieval.embeddings import embedder_identity, make_embedder
from logchat.retrieval.vector_store import VectorIndex, write_atomically
from logchat.storage import vector_repo
from logchat.storage.db import Store
from logchat.storage.vector_repo import NewSignature, NewWindow

if TYPE_CHECKING:
    from logchat.retrieval.embeddings import TextEmbedder

__all__ = [
    "LoadedVectors",
    "VectorUpdateReport",
    "forget_windows",
    "load_vectors",
    "rebuild_vector_index",
    "update_vector_index",
    "vector_dir",
    "vector_index_current",
    "vector_status",
]

META_FILE = "meta.json"
TEMPLATES_FILE = "templates.faiss"
WINDOWS_FILE = "windows.faiss"
META_VERSION = 1
_EMBED_BATCH = 2_048


@dataclass
class VectorUpdateReport:
    events_windowed: int = 0
    windows_added: int = 0
    signatures_added: int = 0
    templates_embedded: int = 0
    signatures_embedded: int = 0
    template_vectors: int = 0
    window_vectors: int = 0
    index_bytes: int = 0
    rebuilt: bool = False
    embedder: str = ""
    elapsed_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["elapsed_seconds"] = round(self.elapsed_seconds, 3)
        return result


@dataclass
class _Meta:
    version: int = META_VERSION
    embedder: str = ""
    dimensions: int = 0
    window_size: int = 0
    events_upto: int = 0  # last event id that is part of a window
    signatures_upto: int = 0  # last signature id embedded
    templates: dict[str, int] = field(default_factory=dict)  # template id -> crc32 of the text embedded
    store_id: str = ""  # the database the ids belong to (storage.vector_repo.store_identity)

    @classmethod
    def read(cls, path: Path) -> _Meta | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("version") != META_VERSION:
            return None
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        return cls(**known)

    def write(self, path: Path) -> None:
        write_atomically(path, json.dumps(asdict(self), sort_keys=True).encode("utf-8"))


def vector_dir(settings: Settings) -> Path:
    return settings.data_dir / "vectors"


@contextlib.contextmanager
def _update_lock(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# --- windows ------------------------------------------------------------------------------------------


def _signature_key(template_ids: tuple[int, ...]) -> str:
    return hashlib.sha1(" ".join(map(str, template_ids)).encode("ascii"), usedforsecurity=False).hexdigest()


def _cut_windows(store: Store, window_size: int) -> tuple[int, int, int]:
    """Cut the events after the last windowed one into windows. Returns (events, windows, new signatures)."""
    with store.session() as session:
        vector_repo.lock_windows(session)
        watermark = vector_repo.windowed_upto(session)
        top = vector_repo.newest_event_id(session)
        if top <= watermark:
            return 0, 0, 0
        signatures = vector_repo.signature_ids_by_key(session)
        next_signature = vector_repo.max_signature_id(session) + 1
        new_signatures: list[NewSignature] = []
        window_counts: dict[int, int] = {}
        windows: list[NewWindow] = []
        open_windows: dict[int, list[tuple[int, int | None, int | None]]] = {}
        events = 0

        def close(source_id: int, members: list[tuple[int, int | None, int | None]]) -> None:
            nonlocal next_signature
            template_ids = tuple(sorted({tid for _, tid, _ in members if tid is not None}))
            key = _signature_key(template_ids)
            signature_id = signatures.get(key)
            if signature_id is None:
                signature_id = next_signature
                next_signature += 1
                signatures[key] = signature_id
                new_signatures.append(NewSignature(signature_id, key, " ".join(map(str, template_ids))))
            window_counts[signature_id] = window_counts.get(signature_id, 0) + 1
            stamps = [ts for _, _, ts in members if ts is not None]
            windows.append(NewWindow(
                source_id=source_id,
                signature_id=signature_id,
                first_event_id=members[0][0],
                last_event_id=members[-1][0],
                first_ts=min(stamps) if stamps else None,
                last_ts=max(stamps) if stamps else None,
                event_count=len(members),
            ))  # fmt: skip

        for rows in vector_repo.events_after(session, watermark, top):
            for event_id, source_id, template_id, ts in rows:
                events += 1
                members = open_windows.setdefault(source_id, [])
                members.append((event_id, template_id, ts))
                if len(members) >= window_size:
                    close(source_id, members)
                    open_windows[source_id] = []
        for source_id, members in open_windows.items():
            if members:
                close(source_id, members)
        vector_repo.save_windows(session, new_signatures, windows, window_counts)
        return events, len(windows), len(new_signatures)


# --- embeddings ---------------------------------------------------------------------------------------


def _text_hash(value: str) -> int:
    return zlib.crc32(value.encode("utf-8"))


def _embed_into(index: VectorIndex | None, embedder: TextEmbedder, ids: list[int], texts: list[str]
                ) -> VectorIndex | None:
    for start in range(0, len(ids), _EMBED_BATCH):
        vectors = embedder.embed(texts[start : start + _EMBED_BATCH])
        if index is None:
            index = VectorIndex(int(vectors.shape[1]))
        index.add(ids[start : start + _EMBED_BATCH], vectors)
    return index


def _signature_text(template_ids: str, texts: dict[int, str]) -> str:
    return "\n".join(texts.get(int(tid), "") for tid in template_ids.split())


def _embed(store: Store, settings: Settings, directory: Path, report: VectorUpdateReport, *, force: bool) -> None:
    identity = embedder_identity(settings.embeddings)
    store_id = _store_id(store)
    meta_path = directory / META_FILE
    meta = None if force else _Meta.read(meta_path)
    if meta is not None and meta.store_id != store_id:
        meta = None  # vectors of another database: their ids name other rows
    template_index = None if meta is None else VectorIndex.load(directory / TEMPLATES_FILE)
    window_index = None if meta is None else VectorIndex.load(directory / WINDOWS_FILE)
    fresh = meta is None or meta.embedder != identity or template_index is None or window_index is None
    if fresh:
        meta = _Meta(embedder=identity, store_id=store_id)
        template_index = window_index = None
        report.rebuilt = True
    assert meta is not None
    embedder = make_embedder(settings.embeddings)

    with store.session() as session:
        templates = vector_repo.all_template_texts(session)
        changed = [tid for tid, body in templates.items() if meta.templates.get(str(tid)) != _text_hash(body)]
        # A template whose text changed changes every window content that holds it.
        changed_set = set(changed) if not fresh else set()
        signature_rows = vector_repo.signature_contents(session)
        events_upto = vector_repo.windowed_upto(session)
    # A signature whose vector retention removed (forget_windows) gets one again when it has windows again.
    embedded = set(window_index.ids().tolist()) if window_index is not None else set()
    pending = [
        (sid, ids) for sid, ids in signature_rows
        if sid > meta.signatures_upto or sid not in embedded
        or (changed_set and any(int(t) in changed_set for t in ids.split()))
    ]

    template_index = _embed_into(template_index, embedder, changed, [templates[tid] for tid in changed])
    window_index = _embed_into(
        window_index, embedder, [sid for sid, _ in pending], [_signature_text(ids, templates) for _, ids in pending]
    )
    dimensions = (template_index or window_index).dimensions if (template_index or window_index) else 0
    if template_index is None and dimensions:
        template_index = VectorIndex(dimensions)
    if window_index is None and dimensions:
        window_index = VectorIndex(dimensions)
    if template_index is not None and window_index is not None:
        template_index.save(directory / TEMPLATES_FILE)
        window_index.save(directory / WINDOWS_FILE)
        report.template_vectors = len(template_index)
        report.window_vectors = len(window_index)
        report.index_bytes = template_index.nbytes + window_index.nbytes
    meta.dimensions = dimensions
    meta.window_size = settings.retrieval.window_size
    meta.events_upto = events_upto
    meta.signatures_upto = max([meta.signatures_upto, *(sid for sid, _ in signature_rows)])
    meta.templates.update({str(tid): _text_hash(templates[tid]) for tid in changed})
    meta.write(meta_path)
    report.templates_embedded = len(changed)
    report.signatures_embedded = len(pending)
    report.embedder = identity


def _store_id(store: Store) -> str:
    with store.session() as session:
        return vector_repo.store_identity(session)


def _remove_stale_temporaries(directory: Path) -> None:
    # Left by a process killed while writing; under the update lock no one else is writing.
    for leftover in directory.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)


def vector_index_current(store: Store, settings: Settings) -> bool:
    """Whether the vector files cover every event and window of this store for the configured embedder.

    Checked on every `index`, new lines or not: a run killed during the vector step left them behind,
    and the next run must finish the work (as ingestion resumes from its checkpoint)."""
    with store.session() as session:
        store_id = vector_repo.store_identity(session)
        newest = vector_repo.newest_event_id(session)
        signatures = vector_repo.max_signature_id(session)
    if newest == 0 and signatures == 0:
        return True  # nothing to embed
    directory = vector_dir(settings)
    meta = _Meta.read(directory / META_FILE)
    if meta is None or meta.embedder != embedder_identity(settings.embeddings) or meta.store_id != store_id:
        return False
    if not (directory / TEMPLATES_FILE).is_file() or not (directory / WINDOWS_FILE).is_file():
        return False
    return meta.events_upto >= newest and meta.signatures_upto >= signatures


def update_vector_index(store: Store, settings: Settings) -> VectorUpdateReport:
    """Window the events added since the last update and embed what is new. Safe to call often."""
    started = time.perf_counter()
    report = VectorUpdateReport()
    directory = vector_dir(settings)
    with _update_lock(directory):
        _remove_stale_temporaries(directory)
        report.events_windowed, report.windows_added, report.signatures_added = _cut_windows(
            store, settings.retrieval.window_size
        )
        _embed(store, settings, directory, report, force=False)
    report.elapsed_seconds = time.perf_counter() - started
    _LOADED.clear()
    return report


def rebuild_vector_index(store: Store, settings: Settings) -> VectorUpdateReport:
    """Forget every window and vector and build them again (e.g. after changing the embedder)."""
    started = time.perf_counter()
    report = VectorUpdateReport()
    directory = vector_dir(settings)
    with _update_lock(directory):
        _remove_stale_temporaries(directory)
        with store.session() as session:
            vector_repo.forget_windows(session)
        report.events_windowed, report.windows_added, report.signatures_added = _cut_windows(
            store, settings.retrieval.window_size
        )
        _embed(store, settings, directory, report, force=True)
    report.rebuilt = True
    report.elapsed_seconds = time.perf_counter() - started
    _LOADED.clear()
    return report


def forget_windows(settings: Settings, *, signature_ids: list[int], template_ids: list[int]) -> dict[str, int]:
    """Remove the vectors of window contents (signatures) left without any window and of templates left
    without any event, after retention deleted their events. Their rows stay, so their ids are never
    given to anything else; one that gets events again is embedded again by the next update.

    Vectors left behind by an interrupted call are harmless (they map to no event) and go on the next."""
    removed = {"signature_vectors": 0, "template_vectors": 0}
    directory = vector_dir(settings)
    if not (signature_ids or template_ids) or not (directory / META_FILE).is_file():
        return removed
    with _update_lock(directory):
        meta = _Meta.read(directory / META_FILE)
        if meta is None:
            return removed
        for key, name, ids in (("signature_vectors", WINDOWS_FILE, signature_ids),
                               ("template_vectors", TEMPLATES_FILE, template_ids)):
            index = VectorIndex.load(directory / name) if ids else None
            if index is not None and (count := index.remove(ids)):
                index.save(directory / name)
                removed[key] = count
        # Without its text hash, a template that comes back is embedded again.
        for template_id in template_ids:
            meta.templates.pop(str(template_id), None)
        meta.write(directory / META_FILE)
    _LOADED.clear()
    return removed


# --- reading --------------------------------------------------------------------------------------------


@dataclass
class LoadedVectors:
    templates: VectorIndex
    windows: VectorIndex
    embedder: TextEmbedder
    events_upto: int
    identity: str
    store_id: str


# Loaded indexes by directory, with the meta file's mtime they were read at: a daemon reloads them
# only after an update replaced the files.
_LOADED: dict[Path, tuple[float, LoadedVectors]] = {}


def load_vectors(settings: Settings, store: Store) -> LoadedVectors | None:
    """The current indexes of ``store``, or None when there are none for it and the configured embedder."""
    directory = vector_dir(settings)
    meta_path = directory / META_FILE
    try:
        stamp = meta_path.stat().st_mtime
    except OSError:
        return None
    store_id = _store_id(store)
    cached = _LOADED.get(directory)
    if cached is not None and cached[0] == stamp and cached[1].store_id == store_id:
        return cached[1]
    meta = _Meta.read(meta_path)
    identity = embedder_identity(settings.embeddings)
    if meta is None or meta.embedder != identity or meta.store_id != store_id:
        return None
    templates = VectorIndex.load(directory / TEMPLATES_FILE)
    windows = VectorIndex.load(directory / WINDOWS_FILE)
    if templates is None or windows is None:
        return None
    loaded = LoadedVectors(
        templates, windows, make_embedder(settings.embeddings), meta.events_upto, identity, meta.store_id
    )
    _LOADED[directory] = (stamp, loaded)
    return loaded


def vector_status(settings: Settings) -> dict[str, Any]:
    directory = vector_dir(settings)
    meta = _Meta.read(directory / META_FILE)
    if meta is None:
        return {"present": False}
    return {
        "present": True,
        "embedder": meta.embedder,
        "current_embedder": meta.embedder == embedder_identity(settings.embeddings),
        "dimensions": meta.dimensions,
        "events_upto": meta.events_upto,
        "templates": len(meta.templates),
        "signatures_upto": meta.signatures_upto,
    }
