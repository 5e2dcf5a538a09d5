"""Sources with their checkpoints, log events, templates and the template miner's saved state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from logchat.storage.models.base import Base, PortableJSON, UTCMicros


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A label (config name or file name) shared by files of one glob; not unique.
    name: Mapped[str] = mapped_column(String(255), index=True)
    # Identity of the source: absolute path, "stdin:<name>" or a URL.
    location: Mapped[str] = mapped_column(String(4096), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # file | gzip | stdin | ssh
    format: Mapped[str | None] = mapped_column(String(64))
    # Checkpoint: where the next run resumes. Updated in the same transaction as the events.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    device: Mapped[int | None] = mapped_column(BigInteger)
    inode: Mapped[int | None] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    line_count: Mapped[int] = mapped_column(BigInteger, default=0)
    head_checksum: Mapped[str | None] = mapped_column(String(64))
    head_length: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str | None] = mapped_column(String(80))  # "partial:" + sha256 while in progress
    event_count: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCMicros)
    last_indexed_at: Mapped[datetime | None] = mapped_column(UTCMicros)


class SourceGeneration(Base):
    """A finished generation of a plain file (before rotation or truncation): what was read of it.

    A file that turns up later with the same head (logrotate's app.log.1, or app.log.2.gz once
    compressed) holds those lines already stored; reading it resumes after them instead of storing
    them twice.
    """

    __tablename__ = "source_generations"

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    head_checksum: Mapped[str] = mapped_column(String(64))
    head_length: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(BigInteger)
    line_count: Mapped[int] = mapped_column(BigInteger)


class Template(Base):
    __tablename__ = "templates"

    # The template miner's cluster id; stable across runs because the miner state is persisted.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    template: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    first_seen: Mapped[datetime | None] = mapped_column(UTCMicros)
    last_seen: Mapped[datetime | None] = mapped_column(UTCMicros)


class Event(Base):
    __tablename__ = "events"
    # Few indexes on purpose: each one costs ingest speed. Counts by level/host/process/source come
    # from EventRollup; time ranges and per-template lookups use these two.
    __table_args__ = (
        Index("ix_events_ts", "ts"),
        Index("ix_events_template_ts", "template_id", "ts"),
    )

    # Ids are assigned by the ingester under the ingest lock, so a batch knows its ids before
    # insert (full-text and vector indexes key on them) on every backend. On SQLite the id is the
    # rowid (INTEGER PRIMARY KEY, migration 0013): a full-text hit finds its row in one B-tree search.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    line_no: Mapped[int] = mapped_column(BigInteger)
    line_end: Mapped[int] = mapped_column(BigInteger)
    byte_offset: Mapped[int] = mapped_column(BigInteger)
    ts: Mapped[datetime | None] = mapped_column(UTCMicros)
    level: Mapped[str | None] = mapped_column(String(8))
    host: Mapped[str | None] = mapped_column(String(255))
    process: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    template_id: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    # The named values of the event's variables as one JSON object ({"user": "root", "port": 22}),
    # written with the event (logchat.ingest.fields). One column instead of a row per value: a row per
    # value with its indexes made ingest several times slower. NULL: not read yet (events stored before
    # fields existed, until the backfill reaches them).
    fields: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON())


class TemplateMinerState(Base):
    __tablename__ = "template_miner_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCMicros)


class EventRollup(Base):
    """Event counts per hour and per (source, level, host, process, template), kept by the ingester
    in the same transaction as the events, so `stat` never scans millions of rows.

    Missing level/host/process are stored as '' (not NULL) so the unique key can be upserted.
    """

    __tablename__ = "event_rollup"
    __table_args__ = (
        UniqueConstraint("hour", "source_id", "level", "host", "process", "template_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    hour: Mapped[int] = mapped_column(BigInteger)  # epoch microseconds of the hour; -1 for untimed events
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(8))
    host: Mapped[str] = mapped_column(String(255))
    process: Mapped[str] = mapped_column(String(255))
    template_id: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(BigInteger)
    first_ts: Mapped[int | None] = mapped_column(BigInteger)
    last_ts: Mapped[int | None] = mapped_column(BigInteger)


class TemplateField(Base):
    """A field that events of a template carry: its type, kind and unit, how many events have it and a
    recent example. Kept by the ingester in the same transaction as the events, so the fields of the
    store are known without reading events, and a query on a field reads only the templates that have it."""

    __tablename__ = "template_fields"
    __table_args__ = (Index("ix_template_fields_name", "name"),)

    template_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(8))  # int, float, ip, id, string
    kind: Mapped[str] = mapped_column(String(16))  # measure, identifier, label
    unit: Mapped[str | None] = mapped_column(String(8))  # s, B, % (values are stored converted to it)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    example: Mapped[str | None] = mapped_column(String(256))


class ValueCount(Base):
    """How many events of a template carry each value of one of its fields, kept by the ingester in the
    same transaction as the events (logchat.storage.value_counts_repo): the most frequent values and the
    distinct count over every event of some templates are read from here, without reading the events.

    Values are the text the field's SQL reads (``fields_repo.field_text``): strings as they are, integers
    in decimal. Only (template, field) pairs whose ValueCountField says so are complete."""

    __tablename__ = "value_counts"
    # On SQLite one B-tree keyed by (template, field, value) (migration 0017): ingest adds to each count by its key.
    __table_args__ = ({"sqlite_with_rowid": False},)

    template_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class ValueCountField(Base):
    """Whether the values of a template's field are counted in ValueCount: ``values_bound`` >= 0 says every
    stored event of the template carrying the field is counted there (and bounds how many distinct values it
    has); -1 says they are not counted (too many values, or values whose text the table cannot hold exactly).
    No row: not counted either. A query uses the counts only when every pair it needs is counted."""

    __tablename__ = "value_count_fields"

    template_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    values_bound: Mapped[int] = mapped_column(Integer)
