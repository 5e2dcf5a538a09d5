"""A FAISS index of unit vectors keyed by store row ids, saved atomically.

``IndexIDMap2`` over ``IndexFlatIP``: inner product of unit vectors is cosine similarity, search is
exact, and the ids are the rows the vectors describe (templates.id, vector_signatures.id), so results
map straight back to SQL. Adding an id that is already present replaces its vector, which makes an
interrupted update safe to repeat. Files are written with ``faiss.write_index`` (no pickle) to a
temporary name in the same directory and renamed over the old file, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = ["VectorIndex", "write_atomically"]


def _faiss() -> Any:
    import faiss

    return faiss


class VectorIndex:
    """Unit vectors of one dimension, each under a 64-bit id."""

    def __init__(self, dimensions: int, index: Any = None) -> None:
        faiss = _faiss()
        if index is None:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimensions))
        elif index.d != dimensions:
            raise ValueError(f"index has {index.d} dimensions, expected {dimensions}")
        self.dimensions = dimensions
        self._index = index

    # -- persistence -------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path) -> VectorIndex | None:
        """The index saved at ``path``, or None when there is none."""
        if not path.is_file():
            return None
        faiss = _faiss()
        index = faiss.read_index(str(path))
        return cls(index.d, index)

    def save(self, path: Path) -> None:
        faiss = _faiss()
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(handle)
        try:
            faiss.write_index(self._index, temporary)
            _fsync_file(temporary)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    # -- contents ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def nbytes(self) -> int:
        return len(self) * self.dimensions * 4

    def ids(self) -> np.ndarray:
        import numpy as np

        faiss = _faiss()
        if len(self) == 0:
            return np.zeros(0, dtype=np.int64)
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def add(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Add (or replace) one vector per id."""
        import numpy as np

        id_array = np.ascontiguousarray(np.asarray(ids, dtype=np.int64))
        matrix = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
        if matrix.ndim != 2 or matrix.shape[0] != id_array.shape[0]:
            raise ValueError("one vector per id is needed")
        if id_array.size == 0:
            return
        if matrix.shape[1] != self.dimensions:
            raise ValueError(f"vectors have {matrix.shape[1]} dimensions, the index {self.dimensions}")
        self.remove(id_array)
        self._index.add_with_ids(matrix, id_array)

    def copy(self) -> VectorIndex:
        """An independent copy: a reader searching this index is never disturbed by changes to the copy."""
        return VectorIndex(self.dimensions, _faiss().clone_index(self._index))

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (id, vector), as an id array and an (n, d) float32 matrix in the same order."""
        import numpy as np

        if len(self) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.dimensions), dtype=np.float32)
        return self.ids(), self._index.index.reconstruct_n(0, len(self))

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        import numpy as np

        id_array = np.ascontiguousarray(np.fromiter((int(i) for i in ids), dtype=np.int64))
        if id_array.size == 0 or len(self) == 0:
            return 0
        faiss = _faiss()
        return int(self._index.remove_ids(faiss.IDSelectorBatch(id_array)))

    def reconstruct(self, vector_id: int) -> np.ndarray | None:
        try:
            return self._index.reconstruct(int(vector_id))
        except RuntimeError:
            return None

    # -- search ------------------------------------------------------------------------------

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest ids to one query vector, best first, as (id, cosine similarity)."""
        import numpy as np

        if len(self) == 0 or k <= 0:
            return []
        faiss = _faiss()
        # One query gains nothing from threads, and on a busy small machine they cost a lot.
        faiss.omp_set_num_threads(1)
        matrix = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, -1))
        scores, ids = self._index.search(matrix, min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]


def _fsync_file(path: str) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
