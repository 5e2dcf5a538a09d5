"""Queries behind the vector index: the windows of events, their distinct contents (signatures) and
the vectors of templates and signatures.

The vectors are keyed by ``templates.id`` and ``vector_signatures.id``; the window rows say which
events each window covers, so that a hit maps back to events. Cutting events into windows and what
to embed are decided by :mod:`logchat.services.vectors`; this module only reads and writes the rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple

from sqlalchemy import bindparam, delete, func, insert, select, text
from sqlalchemy.orm import Session

from logchat.storage.models import Event, StoreIdentity, Template, VectorEmbedding, VectorSignature, VectorWindow
from logchat.storage.transactions import begin_sqlite_write

# The advisory locks' keys on PostgreSQL: one per schema (constant SQL, no input), so that stores in
# other schemas of the database go on while one holds a lock a while (retention, a big update).
WINDOW_LOCK_KEY_SQL = "hashtext('logchat-windows:' || current_schema())"
EMBED_LOCK_KEY_SQL = "hashtext('logchat-embeddings:' || current_schema())"
TEMPLATE = "template"
WINDOW = "window"
_SEQ_MARKER = ""  # the embedder and kind of the row that keeps the highest seq across deletions
# Events read per query while windowing: bounded memory however many events are new.
_READ_CHUNK = 50_000

# (event id, source id, template id, timestamp in epoch microseconds)
EventStamp = tuple[int, int, int | None, int | None]


# Named tuples: cheap enough to make one per window, and a window's fields are the columns it is
# inserted as.
class NewSignature(NamedTuple):
    id: int
    key: str
    template_ids: str  # space-separated, ascending


class NewWindow(NamedTuple):
    source_id: int
    signature_id: int
    first_event_id: int
    last_event_id: int
    first_ts: int | None  # epoch microseconds, as read by :func:`events_after`
    last_ts: int | None
    event_count: int



def store_identity(session: Session) -> str:
    """The random id this database was given when its schema was created (see migration 0004)."""
    row = session.get(StoreIdentity, 1)
    if row is None:  # a schema built without the migrations
        import uuid
        from datetime import UTC, datetime

        row = StoreIdentity(id=1, store_id=uuid.uuid4().hex, created_at=datetime.now(UTC))
        session.add(row)
        session.flush()
    return row.store_id


def lock_windows(session: Session) -> None:
    """Hold, until the transaction ends, the right to cut windows; call it before the transaction reads."""
    if session.get_bind().dialect.name == "postgresql":
        # Two machines sharing the database must not window the same events twice.
        session.execute(text(f"SELECT pg_advisory_xact_lock({WINDOW_LOCK_KEY_SQL})"))
    else:
        # Two processes sharing the file must not either: the write lock, taken before the
        # watermark is read, keeps what is read true until the commit.
        begin_sqlite_write(session)


def lock_embeddings(session: Session) -> None:
    """Hold, until the transaction ends, the right to write vectors; call it before the transaction reads.

    Writers of vectors take turns, so that no two embed the same item and rows become visible in
    ``seq`` order: a reader that has every row up to some ``seq`` never misses one below it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({EMBED_LOCK_KEY_SQL})"))
    else:
        begin_sqlite_write(session)


def windowed_upto(session: Session) -> int:
    """The last event id that is part of a window (0 when there are none)."""
    return int(session.scalar(select(func.max(VectorWindow.last_event_id))) or 0)


def newest_event_id(session: Session) -> int:
    return int(session.scalar(select(func.max(Event.id))) or 0)


def signature_ids_by_key(session: Session) -> dict[str, int]:
    return {key: signature_id for key, signature_id in session.execute(select(VectorSignature.key, VectorSignature.id))}


def max_signature_id(session: Session) -> int:
    return int(session.scalar(select(func.max(VectorSignature.id))) or 0)


def events_after(
    session: Session, low: int, high: int, *, chunk: int = _READ_CHUNK
) -> Iterator[Sequence[EventStamp]]:
    """The events after id ``low`` in id order, read ``chunk`` consecutive ids at a time until ``high`` is
    covered; the last chunk also holds any events above ``high`` in its id range."""
    # The driver's own cursor: plain tuples with the stamps as the integer microseconds they are stored
    # as. A result row object and a datetime per event cost more than the windowing itself (a million
    # events are read after every large `index`).
    connection = session.connection()
    # Only the driver's placeholder is interpolated; the ids are parameters.
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    statement = f"SELECT id, source_id, template_id, ts FROM events WHERE id > {mark} AND id <= {mark} ORDER BY id"  # nosec B608
    cursor = connection.connection.cursor()
    try:
        while low < high:
            upper = low + chunk
            cursor.execute(statement, (low, upper))
            yield cursor.fetchall()
            low = upper
    finally:
        cursor.close()


def save_windows(
    session: Session,
    signatures: Sequence[NewSignature],
    windows: Sequence[NewWindow],
    window_counts: Mapping[int, int],
) -> None:
    """Insert new signatures and windows; ``window_counts`` (signature id -> windows added) sets the
    count of a new signature and is added to that of an existing one."""
    connection = session.connection()
    created = {signature.id for signature in signatures}
    if signatures:
        connection.execute(VectorSignature.__table__.insert(), [
            {"id": s.id, "key": s.key, "template_ids": s.template_ids, "window_count": window_counts[s.id]}
            for s in signatures
        ])  # fmt: skip
    if windows:
        # The driver's executemany over the tuples as they are, the stamps as the microseconds they are stored
        # as: a dict per window and SQLAlchemy's binding of it cost several times the insert (an index of a
        # million events saves about 50,000 windows).
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        connection.exec_driver_sql(
            # Constant column names; values are bound.
            f"INSERT INTO {VectorWindow.__tablename__} ({', '.join(NewWindow._fields)}) "  # nosec B608
            f"VALUES ({', '.join([mark] * len(NewWindow._fields))})",
            list(windows),
        )
    signatures_table = VectorSignature.__table__
    increments = [{"sid": sid, "n": n} for sid, n in window_counts.items() if sid not in created]
    if increments:
        statement = (
            signatures_table.update()
            .where(signatures_table.c.id == bindparam("sid"))
            .values(window_count=signatures_table.c.window_count + bindparam("n"))
        )
        connection.execute(statement, increments)


def forget_windows(session: Session) -> None:
    """Delete every window, signature and vector (before cutting and embedding them again).

    Signature ids start again from 1, so the window vectors of every embedder go too: kept, they
    would describe other contents under the same ids. Call it holding both locks (windows first).

    The highest ``seq`` survives as a marker row (of no embedder), so that the vectors made next get
    higher ones: a cache that loaded rows up to some ``seq`` then finds every new row above it."""
    top = int(session.scalar(select(func.max(VectorEmbedding.seq))) or 0)
    session.execute(delete(VectorEmbedding))
    if top:
        session.execute(insert(VectorEmbedding).values(
            embedder=_SEQ_MARKER, kind=_SEQ_MARKER, item_id=0, seq=top, text_hash=None, vector=b""))
    session.execute(delete(VectorWindow))
    session.execute(delete(VectorSignature))


def forget_embeddings(session: Session, kind: str, item_ids: Sequence[int]) -> int:
    """Delete the vectors, of every embedder, of these items (retention left them without events).
    Call it holding :func:`lock_embeddings`. The highest ``seq`` survives as the marker row, so that
    the vectors made next get higher ones than any cache has seen."""
    if not item_ids:
        return 0
    top = int(session.scalar(select(func.max(VectorEmbedding.seq))) or 0)
    removed = 0
    for start in range(0, len(item_ids), 10_000):
        chunk = list(item_ids[start : start + 10_000])
        result = session.execute(delete(VectorEmbedding).where(
            VectorEmbedding.embedder != _SEQ_MARKER, VectorEmbedding.kind == kind, VectorEmbedding.item_id.in_(chunk)))
        removed += int(getattr(result, "rowcount", 0) or 0)
    if top and int(session.scalar(select(func.max(VectorEmbedding.seq))) or 0) < top:
        session.execute(delete(VectorEmbedding).where(VectorEmbedding.embedder == _SEQ_MARKER))
        session.execute(insert(VectorEmbedding).values(
            embedder=_SEQ_MARKER, kind=_SEQ_MARKER, item_id=0, seq=top, text_hash=None, vector=b""))
    return removed


def all_template_texts(session: Session) -> dict[int, str]:
    """The templates that have events (retention can leave a template with none: it has no vector)."""
    rows = session.execute(select(Template.id, Template.template).where(Template.count > 0))
    return {template_id: body for template_id, body in rows}


def signature_contents(session: Session) -> list[tuple[int, str]]:
    """(signature id, its template ids space-separated), by id, of the signatures that have windows
    (retention can leave one without any: it has no vector)."""
    rows = session.execute(select(VectorSignature.id, VectorSignature.template_ids)
                           .where(VectorSignature.window_count > 0).order_by(VectorSignature.id))
    return [(signature_id, template_ids) for signature_id, template_ids in rows]


def signature_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(VectorSignature)) or 0)


def template_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Template)) or 0)


# --- vectors ----------------------------------------------------------------------------------------------


class EmbeddingStats(NamedTuple):
    count: int
    stale: int  # window vectors due to be embedded again
    top_seq: int


def embedding_stats(session: Session, embedder: str) -> dict[str, EmbeddingStats]:
    """Per kind: how many vectors ``embedder`` has, how many are stale, and the highest ``seq``."""
    rows = session.execute(
        select(
            VectorEmbedding.kind,
            func.count(),
            func.count().filter(VectorEmbedding.text_hash.is_(None)),
            func.max(VectorEmbedding.seq),
        )
        .where(VectorEmbedding.embedder == embedder)
        .group_by(VectorEmbedding.kind)
    )
    return {kind: EmbeddingStats(int(count), int(stale), int(top or 0)) for kind, count, stale, top in rows}


def has_any_embedding(session: Session, embedder: str) -> bool:
    return session.scalar(select(VectorEmbedding.seq).where(VectorEmbedding.embedder == embedder).limit(1)) is not None


def embedding_hashes(session: Session, embedder: str, kind: str) -> dict[int, int | None]:
    """item id -> the hash of the text its vector was made from (None: due again)."""
    rows = session.execute(
        select(VectorEmbedding.item_id, VectorEmbedding.text_hash).where(
            VectorEmbedding.embedder == embedder, VectorEmbedding.kind == kind
        )
    )
    return {int(item_id): text_hash for item_id, text_hash in rows}


def signatures_to_embed(session: Session, embedder: str, limit: int) -> list[tuple[int, str]]:
    """Up to ``limit`` (signature id, template ids) without a current vector of ``embedder``, by id."""
    vectors = (
        select(VectorEmbedding.item_id, VectorEmbedding.text_hash)
        .where(VectorEmbedding.embedder == embedder, VectorEmbedding.kind == WINDOW)
        .subquery()
    )
    rows = session.execute(
        select(VectorSignature.id, VectorSignature.template_ids)
        .outerjoin(vectors, vectors.c.item_id == VectorSignature.id)
        .where(vectors.c.text_hash.is_(None), VectorSignature.window_count > 0)  # no row, or a stale one
        .order_by(VectorSignature.id)
        .limit(limit)
    )
    return [(int(signature_id), template_ids) for signature_id, template_ids in rows]


def first_event_without_vector(session: Session, embedder: str) -> int | None:
    """The first event id of a window whose content has no vector of ``embedder`` yet, if any."""
    vectors = (
        select(VectorEmbedding.item_id)
        .where(VectorEmbedding.embedder == embedder, VectorEmbedding.kind == WINDOW)
        .subquery()
    )
    missing = (
        select(VectorSignature.id)
        .outerjoin(vectors, vectors.c.item_id == VectorSignature.id)
        .where(vectors.c.item_id.is_(None))
    )
    first = session.scalar(select(func.min(VectorWindow.first_event_id)).where(VectorWindow.signature_id.in_(missing)))
    return None if first is None else int(first)


def save_embeddings(
    session: Session, embedder: str, kind: str, rows: Sequence[tuple[int, int, bytes]]
) -> None:
    """Write (item id, text hash, vector bytes) rows of ``embedder``, replacing any of the same items,
    each under a new ``seq``. Call it holding :func:`lock_embeddings`."""
    if not rows:
        return
    ids = [item_id for item_id, _, _ in rows]
    table_ = VectorEmbedding.__table__
    session.execute(
        delete(VectorEmbedding).where(
            VectorEmbedding.embedder == embedder, VectorEmbedding.kind == kind, VectorEmbedding.item_id.in_(ids)
        )
    )
    seq = int(session.scalar(select(func.max(VectorEmbedding.seq))) or 0)
    session.connection().execute(table_.insert(), [
        {"embedder": embedder, "kind": kind, "item_id": item_id, "seq": seq + offset, "text_hash": text_hash,
         "vector": vector}
        for offset, (item_id, text_hash, vector) in enumerate(rows, start=1)
    ])  # fmt: skip


def mark_windows_stale(session: Session, embedder: str, signature_ids: Sequence[int]) -> int:
    """Mark the window vectors of these signatures as due to be embedded again."""
    marked = 0
    for start in range(0, len(signature_ids), 10_000):
        chunk = list(signature_ids[start : start + 10_000])
        result = session.execute(
            VectorEmbedding.__table__.update()
            .where(
                VectorEmbedding.embedder == embedder,
                VectorEmbedding.kind == WINDOW,
                VectorEmbedding.item_id.in_(chunk),
            )
            .values(text_hash=None)
        )
        marked += int(getattr(result, "rowcount", 0) or 0)
    return marked


def embeddings_between(
    session: Session, embedder: str, low: int, high: int, *, chunk: int = 20_000
) -> Iterator[Sequence[tuple[str, int, bytes]]]:
    """(kind, item id, vector bytes) of ``embedder`` with ``low < seq <= high``, in ``seq`` order, a
    chunk at a time."""
    while True:
        rows = session.execute(
            select(VectorEmbedding.kind, VectorEmbedding.item_id, VectorEmbedding.vector, VectorEmbedding.seq)
            .where(VectorEmbedding.embedder == embedder, VectorEmbedding.seq > low, VectorEmbedding.seq <= high)
            .order_by(VectorEmbedding.seq)
            .limit(chunk)
        ).all()
        if not rows:
            return
        yield [(kind, int(item_id), bytes(vector)) for kind, item_id, vector, _ in rows]
        if len(rows) < chunk:
            return
        low = int(rows[-1][3])
