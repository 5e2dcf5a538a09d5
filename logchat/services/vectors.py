"""Use case: keep the vector index in step with the store (after `index`/`reload`, or on demand).

Two kinds of vectors:

- one per template (id = templates.id);
- one per distinct window content (id = vector_signatures.id), where a window is up to
  ``retrieval.window_size`` consecutive events of one source and its content is the set of templates
  in it. Windows themselves are rows of ``vector_windows``, so a hit maps back to events.

A million repeats of one line are one template and a handful of signatures: they cost a few
embeddings, not a million. Updates are incremental: events after the last windowed event id are cut
into new windows, and only new signatures and new or changed templates are embedded.

The database is the source of truth: every vector is a row of ``vector_embeddings`` under the
identity of the embedder that made it, written by whichever process embedded it, one batch per
transaction while holding the vectors lock, so no two processes embed the same item. The FAISS files
in ``<data_dir>/vectors/`` (``templates.faiss``, ``windows.faiss`` and ``meta.json``) are only this
process's cache of those rows: brought up to date by loading the rows written since the ``seq`` it
last loaded, rebuilt from the rows when missing or made for another database or embedder, never by
embedding again. Several daemon replicas with their own data directories, and a `logchat index` run
elsewhere, therefore all search the same vectors. A different embedder configuration has no rows yet
and embeds everything once. Files are replaced atomically (temp file + rename), meta.json last; a
data directory that cannot be written only costs the cache (see docs/vectors.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logchat.config import Settings
from logchat.retrieval.embeddings import embedder_identity, make_embedder
from logchat.retrieval.vector_store import VectorIndex, write_atomically
from logchat.services.window_cutter import STAMP_COLUMNS, CutWindow, WindowCutter
from logchat.storage import vector_repo
from logchat.storage.db import Store
from logchat.storage.vector_repo import TEMPLATE, WINDOW, NewSignature, NewWindow
from logchat.vocabulary import EVENT_COLUMNS

if TYPE_CHECKING:
    import numpy as np
    from sqlalchemy.orm import Session

    from logchat.retrieval.embeddings import TextEmbedder

__all__ = [
    "LoadedVectors",
    "VectorUpdateReport",
    "WindowsCut",
    "forget_windows",
    "load_vectors",
    "rebuild_vector_index",
    "save_ingested_windows",
    "start_window_cutter",
    "update_vector_index",
    "vector_dir",
    "vector_index_current",
    "vector_status",
]

META_FILE = "meta.json"
TEMPLATES_FILE = "templates.faiss"
WINDOWS_FILE = "windows.faiss"
META_VERSION = 2
_LEGACY_META_VERSION = 1  # files that were the index itself, before the vectors moved to the database
# Items embedded per transaction: the vectors lock (on SQLite, the database's write lock) is held while
# they are embedded, so a batch must stay well under the time a writer waits (storage.transactions):
# the hashing embedder does 2,048 in a fraction of a second, a model server needs far longer.
_EMBED_BATCH = 2_048
_MODEL_EMBED_BATCH = 64


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
    vectors_adopted: int = 0  # taken from vector files made before the database held vectors
    vectors_loaded: int = 0  # rows read from the database into this process's cache
    embedder: str = ""
    elapsed_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["elapsed_seconds"] = round(self.elapsed_seconds, 3)
        return result


def _read_json(path: Path, version: int) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != version:
        return None
    return data


@dataclass
class _Meta:
    """What the cache files hold: every row of ``embedder`` in ``store_id`` up to ``seq_upto``."""

    version: int = META_VERSION
    embedder: str = ""
    store_id: str = ""  # the database the ids belong to (storage.vector_repo.store_identity)
    dimensions: int = 0
    seq_upto: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # kind -> vectors

    @classmethod
    def read(cls, path: Path) -> _Meta | None:
        data = _read_json(path, META_VERSION)
        if data is None:
            return None
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        return cls(**known)

    def write(self, path: Path) -> None:
        write_atomically(path, json.dumps(asdict(self), sort_keys=True).encode("utf-8"))


@dataclass
class _LegacyMeta:
    """meta.json of files that were the whole index (before the database held the vectors)."""

    embedder: str
    store_id: str
    signatures_upto: int  # every signature up to this id has its vector in windows.faiss
    templates: dict[str, int]  # template id -> crc32 of the text embedded

    @classmethod
    def read(cls, path: Path) -> _LegacyMeta | None:
        data = _read_json(path, _LEGACY_META_VERSION)
        if data is None:
            return None
        try:
            return cls(str(data["embedder"]), str(data["store_id"]), int(data["signatures_upto"]),
                       {str(k): int(v) for k, v in dict(data["templates"]).items()})
        except (KeyError, TypeError, ValueError):
            return None


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


def _cut_windows(store: Store, window_size: int, *, forget: bool = False) -> tuple[int, int, int]:
    """Cut the events after the last windowed one into windows (``forget``: every window and vector
    goes first, in the same transaction). Returns (events, windows, new signatures)."""
    with store.session() as session:
        vector_repo.lock_windows(session)
        if forget:
            vector_repo.lock_embeddings(session)
            vector_repo.forget_windows(session)
        watermark = vector_repo.windowed_upto(session)
        top = vector_repo.newest_event_id(session)
        if top <= watermark:
            return 0, 0, 0
        cutter = WindowCutter(window_size, after=watermark)
        for rows in vector_repo.events_after(session, watermark, top):
            cutter.feed(rows)
        windows, signatures = _save_cut(session, cutter.finish())
        return cutter.events, windows, signatures


def _save_cut(session: Session, cut: list[CutWindow]) -> tuple[int, int]:
    """Store windows, giving each new content the next signature id in the order the windows closed.
    Returns (windows, new signatures)."""
    signatures = vector_repo.signature_ids_by_key(session)
    next_signature = vector_repo.max_signature_id(session) + 1
    new_signatures: list[NewSignature] = []
    window_counts: dict[int, int] = {}
    windows: list[NewWindow] = []
    for window in cut:
        signature_id = signatures.get(window.key)
        if signature_id is None:
            signature_id = signatures[window.key] = next_signature
            next_signature += 1
            new_signatures.append(NewSignature(signature_id, window.key, window.template_ids))
        window_counts[signature_id] = window_counts.get(signature_id, 0) + 1
        windows.append(NewWindow(window.source_id, signature_id, window.first_event_id, window.last_event_id,
                                 window.first_ts, window.last_ts, window.event_count))
    vector_repo.save_windows(session, new_signatures, windows, window_counts)
    return len(windows), len(new_signatures)


@dataclass(frozen=True)
class WindowsCut:
    """What an ingest saved of its events' windows (see :func:`save_ingested_windows`)."""

    events: int
    windows: int
    signatures: int


def start_window_cutter(store: Store, settings: Settings) -> WindowCutter | None:
    """A cutter for the events an ingest is about to add, to be fed the rows (in the order of
    logchat.vocabulary.EVENT_COLUMNS) of each batch it commits; None when the store holds events that are
    not windowed yet (a run killed before its windows were saved): their windows come first, and only
    reading them back gives them (the update after the ingest does).

    Call it holding the ingest lock, and keep holding it until :func:`save_ingested_windows`: then no event
    is added or deleted meanwhile but by the ingest itself."""
    with store.session() as session:
        watermark = vector_repo.windowed_upto(session)
        if vector_repo.newest_event_id(session) > watermark:
            return None
    positions = [EVENT_COLUMNS.index(name) for name in STAMP_COLUMNS]
    return WindowCutter(settings.retrieval.window_size, positions=positions, after=watermark)


def save_ingested_windows(store: Store, cutter: WindowCutter) -> WindowsCut | None:
    """Save the windows of the events an ingest fed ``cutter``, in one transaction, when the store's windows
    still end where they ended when the cutter was made and its newest event is the last one fed: then the
    events after that point are exactly those fed, and these are the windows an update reading them back
    would cut. None otherwise (another process windowed some of them meanwhile: the next update goes on
    from there) or when no event was fed."""
    if cutter.first_event_id is None or cutter.first_event_id <= cutter.after:
        return None
    with store.session() as session:
        vector_repo.lock_windows(session)
        if (vector_repo.windowed_upto(session) != cutter.after
                or vector_repo.newest_event_id(session) != cutter.last_event_id):
            return None
        windows, signatures = _save_cut(session, cutter.finish())
    return WindowsCut(cutter.events, windows, signatures)


# --- embeddings ---------------------------------------------------------------------------------------


def _text_hash(value: str) -> int:
    return zlib.crc32(value.encode("utf-8"))


def _signature_text(template_ids: str, texts: dict[int, str]) -> str:
    return "\n".join(texts.get(int(tid), "") for tid in template_ids.split())


def _as_bytes(vector: np.ndarray) -> bytes:
    import numpy as np

    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


class _LazyEmbedder:
    """The configured embedder, made on first use: an update with nothing to embed never reaches it."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._embedder: TextEmbedder | None = None

    def embed(self, texts: list[str]) -> np.ndarray:
        if self._embedder is None:
            self._embedder = make_embedder(self._settings.embeddings)
        return self._embedder.embed(texts)


def _embed_missing(store: Store, settings: Settings, identity: str, report: VectorUpdateReport) -> None:
    """Embed every template and window content that has no current vector of ``identity`` in the
    database, one batch per transaction under the vectors lock: what another process embedded
    meanwhile is seen as done, never embedded twice."""
    embedder = _LazyEmbedder(settings)
    batch_size = _EMBED_BATCH if settings.embeddings.provider == "hashing" else _MODEL_EMBED_BATCH
    while True:
        with store.session() as session:
            vector_repo.lock_embeddings(session)
            texts = vector_repo.all_template_texts(session)
            known = vector_repo.embedding_hashes(session, identity, TEMPLATE)
            changed = [tid for tid, body in texts.items() if known.get(tid) != _text_hash(body)]
            if changed:
                batch = changed[:batch_size]
                vectors = embedder.embed([texts[tid] for tid in batch])
                vector_repo.save_embeddings(session, identity, TEMPLATE, [
                    (tid, _text_hash(texts[tid]), _as_bytes(vector)) for tid, vector in zip(batch, vectors, strict=True)
                ])  # fmt: skip
                # A template whose text changed changes every window content that holds it.
                replaced = {tid for tid in batch if tid in known}
                if replaced:
                    holding = [sid for sid, ids in vector_repo.signature_contents(session)
                               if any(int(tid) in replaced for tid in ids.split())]
                    vector_repo.mark_windows_stale(session, identity, holding)
                report.templates_embedded += len(batch)
                continue
            pending = vector_repo.signatures_to_embed(session, identity, batch_size)
            if not pending:
                return
            contents = [_signature_text(ids, texts) for _, ids in pending]
            vectors = embedder.embed(contents)
            vector_repo.save_embeddings(session, identity, WINDOW, [
                (sid, _text_hash(content), _as_bytes(vector))
                for (sid, _), content, vector in zip(pending, contents, vectors, strict=True)
            ])  # fmt: skip
            report.signatures_embedded += len(pending)


def _adopt_legacy_files(store: Store, directory: Path, identity: str) -> int:
    """Copy the vectors of files written before the database held vectors into it, when they were
    made for this database and embedder and the database has none of that embedder yet: an existing
    store keeps its vectors without a model call. Returns the vectors adopted."""
    meta = _LegacyMeta.read(directory / META_FILE)
    if meta is None or meta.embedder != identity:
        return 0
    template_index = VectorIndex.load(directory / TEMPLATES_FILE)
    window_index = VectorIndex.load(directory / WINDOWS_FILE)
    if template_index is None or window_index is None:
        return 0
    with store.session() as session:
        vector_repo.lock_embeddings(session)
        if vector_repo.store_identity(session) != meta.store_id or vector_repo.has_any_embedding(session, identity):
            return 0
        texts = vector_repo.all_template_texts(session)
        signatures = dict(vector_repo.signature_contents(session))
        template_rows = []
        ids, matrix = template_index.items()
        for tid, vector in zip(ids.tolist(), matrix, strict=True):
            embedded_hash = meta.templates.get(str(tid))
            if tid in texts and embedded_hash is not None:
                # The hash of the text it was made from: a template changed since is embedded again.
                template_rows.append((tid, embedded_hash, _as_bytes(vector)))
        window_rows = []
        ids, matrix = window_index.items()
        for sid, vector in zip(ids.tolist(), matrix, strict=True):
            if sid in signatures and sid <= meta.signatures_upto:
                content = _signature_text(signatures[sid], texts)
                window_rows.append((sid, _text_hash(content), _as_bytes(vector)))
        vector_repo.save_embeddings(session, identity, TEMPLATE, template_rows)
        vector_repo.save_embeddings(session, identity, WINDOW, window_rows)
    return len(template_rows) + len(window_rows)


def _store_id(store: Store) -> str:
    with store.session() as session:
        return vector_repo.store_identity(session)


# --- the local cache of the database's vectors -----------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    """Every vector of ``identity`` in ``store_id`` up to ``seq_upto``; never changed once made, so a
    search running on it is never disturbed by a newer snapshot being built."""

    templates: VectorIndex
    windows: VectorIndex
    identity: str
    store_id: str
    seq_upto: int
    counts: dict[str, int]


@dataclass
class LoadedVectors:
    templates: VectorIndex
    windows: VectorIndex
    embedder: TextEmbedder
    events_upto: int  # every window up to this event id has a vector
    identity: str
    store_id: str


# The current snapshot by directory, and the query embedders by configuration. One lock per process:
# two threads never load the same rows twice.
_LOADED: dict[Path, _Snapshot] = {}
_EMBEDDERS: dict[str, TextEmbedder] = {}
_SYNC_LOCK = threading.Lock()


def _read_cache_files(directory: Path, identity: str, store_id: str) -> _Snapshot | None:
    meta = _Meta.read(directory / META_FILE)
    if meta is None or meta.embedder != identity or meta.store_id != store_id:
        return None
    try:
        templates = VectorIndex.load(directory / TEMPLATES_FILE)
        windows = VectorIndex.load(directory / WINDOWS_FILE)
    except (OSError, RuntimeError):  # an unreadable or damaged file is only a cache miss
        return None
    if templates is None or windows is None:
        return None
    return _Snapshot(templates, windows, identity, store_id, meta.seq_upto, dict(meta.counts))


def _write_cache_files(directory: Path, snapshot: _Snapshot) -> None:
    try:
        with _update_lock(directory):
            _remove_stale_temporaries(directory)
            snapshot.templates.save(directory / TEMPLATES_FILE)
            snapshot.windows.save(directory / WINDOWS_FILE)
            _Meta(embedder=snapshot.identity, store_id=snapshot.store_id, dimensions=snapshot.templates.dimensions,
                  seq_upto=snapshot.seq_upto, counts=snapshot.counts).write(directory / META_FILE)
    except OSError:
        pass  # a read-only or full data dir only costs the cache: the next process reads the database


def _counts(templates: VectorIndex | None, windows: VectorIndex | None) -> dict[str, int]:
    return {TEMPLATE: len(templates) if templates else 0, WINDOW: len(windows) if windows else 0}


def _load_rows(store: Store, identity: str, base: _Snapshot | None, high: int
               ) -> tuple[VectorIndex, VectorIndex, int]:
    """``base``'s indexes copied (or new ones) plus the rows after ``base.seq_upto`` up to ``high``."""
    import numpy as np

    low = base.seq_upto if base is not None else 0
    indexes: dict[str, VectorIndex | None] = {
        TEMPLATE: base.templates.copy() if base is not None else None,
        WINDOW: base.windows.copy() if base is not None else None,
    }
    loaded = 0
    with store.session() as session:
        for chunk in vector_repo.embeddings_between(session, identity, low, high):
            for kind in (TEMPLATE, WINDOW):
                rows = [(item_id, vector) for row_kind, item_id, vector in chunk if row_kind == kind]
                if not rows:
                    continue
                matrix = np.frombuffer(b"".join(vector for _, vector in rows), dtype="<f4").reshape(len(rows), -1)
                index = indexes[kind]
                if index is None:
                    index = indexes[kind] = VectorIndex(int(matrix.shape[1]))
                index.add([item_id for item_id, _ in rows], matrix)
                loaded += len(rows)
    dimensions = next((index.dimensions for index in indexes.values() if index is not None), 0)
    templates = indexes[TEMPLATE] or VectorIndex(dimensions)
    windows = indexes[WINDOW] or VectorIndex(dimensions)
    return templates, windows, loaded


@dataclass(frozen=True)
class _Recorded:
    """What the database says of the vectors of one embedder: read in one transaction."""

    identity: str
    store_id: str
    stats: dict[str, vector_repo.EmbeddingStats]
    events_upto: int  # every window up to this event id has a vector


def _recorded(store: Store, identity: str) -> _Recorded:
    with store.session() as session:
        store_id = vector_repo.store_identity(session)
        stats = vector_repo.embedding_stats(session, identity)
        events_upto = vector_repo.windowed_upto(session)
        windows_embedded = stats[WINDOW].count if WINDOW in stats else 0
        if windows_embedded < vector_repo.signature_count(session):
            # Windows cut but not embedded yet (an update in progress, or one that failed): the
            # vectors cover the events before the first of them.
            first = vector_repo.first_event_without_vector(session, identity)
            if first is not None:
                events_upto = min(events_upto, first - 1)
    return _Recorded(identity, store_id, stats, events_upto)


def _synced(
    store: Store, settings: Settings, *, keep_files: bool = True, recorded: _Recorded | None = None
) -> tuple[LoadedVectors | None, int]:
    """The vectors of the configured embedder in ``store``, with this process's cache brought up to date
    from the database first (loading only the rows it lacks). Returns (vectors or None when the
    database has none, rows loaded from the database). ``keep_files``: write the cache files again when
    rows were loaded (the updates do; a question only reads). ``recorded``: the database's account of
    the vectors, when the caller has just read it."""
    recorded = recorded or _recorded(store, embedder_identity(settings.embeddings))
    identity, store_id, stats = recorded.identity, recorded.store_id, recorded.stats
    directory = vector_dir(settings)
    if not stats:
        return None, 0
    top = max(entry.top_seq for entry in stats.values())
    counts = {TEMPLATE: 0, WINDOW: 0} | {kind: entry.count for kind, entry in stats.items()}
    loaded = 0
    with _SYNC_LOCK:
        base = _LOADED.get(directory)
        if base is None or base.store_id != store_id or base.identity != identity:
            base = _read_cache_files(directory, identity, store_id)
        if base is not None and base.seq_upto == top and base.counts == counts:
            snapshot = base
        else:
            if base is not None and base.seq_upto > top:
                base = None  # rows went away (a rebuild): start from nothing
            templates, windows, loaded = _load_rows(store, identity, base, top)
            if base is not None and _counts(templates, windows) != counts:
                # Vectors this cache holds are gone from the database (a rebuild elsewhere): load all.
                templates, windows, loaded = _load_rows(store, identity, None, top)
            snapshot = _Snapshot(templates, windows, identity, store_id, top, _counts(templates, windows))
            if keep_files:
                _write_cache_files(directory, snapshot)
        _LOADED[directory] = snapshot
        # By the whole configuration: two configurations can share an identity (another server URL).
        embedder_key = settings.embeddings.model_dump_json()
        embedder = _EMBEDDERS.get(embedder_key)
        if embedder is None:
            embedder = _EMBEDDERS[embedder_key] = make_embedder(settings.embeddings)
    vectors = LoadedVectors(snapshot.templates, snapshot.windows, embedder, recorded.events_upto, identity, store_id)
    return vectors, loaded


def _remove_stale_temporaries(directory: Path) -> None:
    # Left by a process killed while writing; under the update lock no one else is writing.
    for leftover in directory.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)


# --- use cases ------------------------------------------------------------------------------------------


def vector_index_current(store: Store, settings: Settings) -> bool:
    """Whether every event is in a window, every window content and template has a vector of the
    configured embedder in the database, and this process's cache holds them all.

    Checked on every `index`, new lines or not: a run killed during the vector step left them behind,
    and the next run must finish the work (as ingestion resumes from its checkpoint)."""
    identity = embedder_identity(settings.embeddings)
    with store.session() as session:
        store_id = vector_repo.store_identity(session)
        newest = vector_repo.newest_event_id(session)
        signatures = vector_repo.signature_count(session)
        if newest == 0 and signatures == 0:
            return True  # nothing to embed
        if vector_repo.windowed_upto(session) < newest:
            return False
        templates = vector_repo.template_count(session)
        stats = vector_repo.embedding_stats(session, identity)
    windows = stats.get(WINDOW, vector_repo.EmbeddingStats(0, 0, 0))
    template_vectors = stats.get(TEMPLATE, vector_repo.EmbeddingStats(0, 0, 0))
    if windows.count < signatures or windows.stale or template_vectors.count < templates:
        return False
    meta = _Meta.read(vector_dir(settings) / META_FILE)
    top = max(windows.top_seq, template_vectors.top_seq)
    return (
        meta is not None and meta.embedder == identity and meta.store_id == store_id and meta.seq_upto == top
        and meta.counts == {TEMPLATE: template_vectors.count, WINDOW: windows.count}
    )


def _finish(store: Store, settings: Settings, report: VectorUpdateReport, started: float) -> VectorUpdateReport:
    from logchat.services.question_vocabulary import refresh_known_values

    # Every path that brings new lines (index, reload, follow, the daemon's jobs) updates the vectors after
    # them: the names a question may name are listed again here too, so that `ask` only reads.
    refresh_known_values(store, settings)
    loaded, report.vectors_loaded = _synced(store, settings)
    if loaded is not None:
        report.template_vectors = len(loaded.templates)
        report.window_vectors = len(loaded.windows)
        report.index_bytes = loaded.templates.nbytes + loaded.windows.nbytes
    report.embedder = embedder_identity(settings.embeddings)
    report.elapsed_seconds = time.perf_counter() - started
    return report


def update_vector_index(store: Store, settings: Settings, *, cut: WindowsCut | None = None) -> VectorUpdateReport:
    """Window the events added since the last update and embed what has no vector yet (in this
    process or any other sharing the database). Safe to call often, and from several processes.
    ``cut``: the windows the ingest just before saved itself (counted in the report with the others)."""
    started = time.perf_counter()
    report = VectorUpdateReport()
    identity = embedder_identity(settings.embeddings)
    report.events_windowed, report.windows_added, report.signatures_added = _cut_windows(
        store, settings.retrieval.window_size
    )
    if cut is not None:
        report.events_windowed += cut.events
        report.windows_added += cut.windows
        report.signatures_added += cut.signatures
    with store.session() as session:
        had_vectors = vector_repo.has_any_embedding(session, identity)
    if not had_vectors:
        report.vectors_adopted = _adopt_legacy_files(store, vector_dir(settings), identity)
    _embed_missing(store, settings, identity, report)
    report.rebuilt = not had_vectors and not report.vectors_adopted and bool(
        report.templates_embedded or report.signatures_embedded
    )
    return _finish(store, settings, report, started)


def rebuild_vector_index(store: Store, settings: Settings) -> VectorUpdateReport:
    """Forget every window and vector and build them again (e.g. after changing the window size)."""
    started = time.perf_counter()
    report = VectorUpdateReport(rebuilt=True)
    report.events_windowed, report.windows_added, report.signatures_added = _cut_windows(
        store, settings.retrieval.window_size, forget=True
    )
    _embed_missing(store, settings, embedder_identity(settings.embeddings), report)
    return _finish(store, settings, report, started)


def forget_windows(store: Store, *, signature_ids: list[int], template_ids: list[int]) -> dict[str, int]:
    """Remove the vectors of window contents (signatures) left without any window and of templates left
    without any event, after retention deleted their events. Their rows stay, so their ids are never
    given to anything else; one that gets events again is embedded again by the next update. Each
    process's cache notices the vectors that went (fewer rows than it holds) and loads them again."""
    if not (signature_ids or template_ids):
        return {"signature_vectors": 0, "template_vectors": 0}
    with store.session() as session:
        vector_repo.lock_embeddings(session)
        removed = {
            "signature_vectors": vector_repo.forget_embeddings(session, WINDOW, signature_ids),
            "template_vectors": vector_repo.forget_embeddings(session, TEMPLATE, template_ids),
        }
    return removed


def load_vectors(settings: Settings, store: Store, *, keep_files: bool = True) -> LoadedVectors | None:
    """The current vectors of ``store`` for the configured embedder (this process's cache, brought up to
    date from the database), or None when the database has none. ``keep_files=False``: leave the cache
    files in the data dir as they are (the read path of a question writes nothing)."""
    return _synced(store, settings, keep_files=keep_files)[0]


@dataclass(frozen=True)
class PendingVectors:
    """The database's account of the vectors, read now; the vectors themselves on first :meth:`load`."""

    events_upto: int  # every window up to this event id has a vector (0: none has)
    _load: Callable[[], LoadedVectors | None] = field(repr=False)

    def load(self) -> LoadedVectors | None:
        return self._load()


def pending_vectors(settings: Settings, store: Store) -> PendingVectors:
    """What load_vectors(keep_files=False) gives, in two steps: how far the vectors reach is read from the
    database at once, and the vectors (FAISS, numpy, the index files) are loaded only when :meth:`load` is
    first called, so that a question answered without the vector stage never pays for them."""
    recorded = _recorded(store, embedder_identity(settings.embeddings))
    loaded: list[LoadedVectors | None] = []

    def load() -> LoadedVectors | None:
        if not loaded:
            loaded.append(_synced(store, settings, keep_files=False, recorded=recorded)[0])
        return loaded[0]

    return PendingVectors(recorded.events_upto if recorded.stats else 0, load)


def vector_status(settings: Settings) -> dict[str, Any]:
    meta = _Meta.read(vector_dir(settings) / META_FILE)
    if meta is None:
        return {"present": False}
    return {
        "present": True,
        "embedder": meta.embedder,
        "current_embedder": meta.embedder == embedder_identity(settings.embeddings),
        "dimensions": meta.dimensions,
        "seq_upto": meta.seq_upto,
        "templates": meta.counts.get(TEMPLATE, 0),
        "windows": meta.counts.get(WINDOW, 0),
    }
