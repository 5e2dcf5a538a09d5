"""Queries behind the vector index: the windows of events and their distinct contents (signatures).

The FAISS files hold vectors keyed by ``templates.id`` and ``vector_signatures.id``; these tables say
which events each window covers, so that a hit maps back to events. Cutting events into windows is
decided by :mod:`logchat.services.vectors`; this module only reads and writes the rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple

from sqlalchemy import BigInteger, bindparam, column, delete, func, insert, select, table, text, type_coerce
from sqlalchemy.orm import Session

from logchat.storage.models import Event, StoreIdentity, Template, VectorSignature, VectorWindow

# The advisory lock's key on PostgreSQL: one per schema (constant SQL, no input).
WINDOW_LOCK_KEY_SQL = "hashtext('logchat-windows:' || current_schema())"
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


# vector_windows with NewWindow's fields as plain integer columns: the stamps go in as the
# microseconds they are stored as, rather than through a datetime per stamp (a rebuild saves a
# window per few events).
_RAW_WINDOWS = table(VectorWindow.__tablename__, *(column(name, BigInteger) for name in NewWindow._fields))


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
    """Hold, until the transaction ends, the right to cut windows."""
    if session.get_bind().dialect.name == "postgresql":
        # Two machines sharing the database must not window the same events twice. The key names the
        # schema: stores in other schemas of the database (retention holds this lock a while) go on.
        session.execute(text(f"SELECT pg_advisory_xact_lock({WINDOW_LOCK_KEY_SQL})"))


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
    # Integer microseconds: cheaper than a datetime per event, and all windowing needs is min/max.
    raw_ts = type_coerce(Event.ts, BigInteger)
    while low < high:
        upper = low + chunk
        yield session.execute(
            select(Event.id, Event.source_id, Event.template_id, raw_ts)
            .where(Event.id > low, Event.id <= upper)
            .order_by(Event.id)
        ).all()
        low = upper


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
        connection.execute(insert(_RAW_WINDOWS), [w._asdict() for w in windows])
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
    """Delete every window and signature (before cutting them again)."""
    session.execute(delete(VectorWindow))
    session.execute(delete(VectorSignature))


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
