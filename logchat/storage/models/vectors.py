"""The vectors behind the vector index, kept in the database so that every process sharing it has them.

Each process's FAISS files are a cache of these rows: a process loads the rows it lacks instead of
embedding again what another process already embedded.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from logchat.storage.models.base import Base


class VectorEmbedding(Base):
    """One embedding: of a template (``kind`` "template", ``item_id`` = templates.id) or of a window
    content (``kind`` "window", ``item_id`` = vector_signatures.id), made by ``embedder`` (the
    embedder's identity, so that several configurations can share a database without mixing spaces).

    ``seq`` grows with every write (a new row, or a row whose vector was replaced): a cache that has
    loaded every row up to some ``seq`` only needs the rows above it. Writers hold a lock while they
    write, so rows become visible in ``seq`` order. ``text_hash`` is the CRC-32 of the text embedded;
    NULL marks a window vector whose text changed (one of its templates was re-embedded) and that is
    due to be embedded again. ``vector`` holds float32 little-endian values. One row of embedder ""
    may keep the highest ``seq`` across a rebuild that deleted the others (see
    ``storage.vector_repo.forget_windows``).
    """

    __tablename__ = "vector_embeddings"
    __table_args__ = (Index("ix_vector_embeddings_seq", "seq", unique=True),)

    embedder: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    item_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    text_hash: Mapped[int | None] = mapped_column(BigInteger)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
