"""Text -> vectors, pluggable through LangChain's ``Embeddings`` interface.

Two providers, chosen by ``[embeddings] provider`` in logchat.toml:

- ``hashing`` (default): word tokens, word pairs and character trigrams hashed into ``dimensions``
  buckets with a sign bit (the "hashing trick"), L2-normalised. Deterministic, no download, no server,
  and fast enough to embed every template and window of a large store in seconds. It finds lexical and
  near-lexical neighbours ("rejected" ~ "reject", "authentication failure" ~ "auth failed"); it knows
  no synonyms.
- ``ollama``: a model served by Ollama (e.g. ``nomic-embed-text``) through langchain-ollama.

Variable parts (IPs, numbers, ids, paths) are masked before hashing with the same rules the template
miner uses, so a raw line, its template and a question naming an IP land near each other.

LangChain is imported only when a LangChain object is asked for: the vector index and ``ask`` use
:class:`HashingEmbedder` directly through :func:`make_embedder`, which keeps ``logchat ask --no-llm``
free of the LangChain import cost.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from functools import cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Protocol

from logchat.ingest.templates import mask_message

if TYPE_CHECKING:
    import numpy as np
    from langchain_core.embeddings import Embeddings

    from logchat.config import EmbeddingSettings

__all__ = [
    "HashingEmbedder",
    "LangChainEmbedder",
    "TextEmbedder",
    "embedder_identity",
    "make_embedder",
    "make_embeddings",
]

HASHING_VERSION = 1
_TOKEN_RX = re.compile(r"<[a-z*]+>|[a-z0-9]+")
_WORD_WEIGHT = 1.0
_PAIR_WEIGHT = 0.5
_TRIGRAM_WEIGHT = 0.35
_PLACEHOLDER_WEIGHT = 0.3
_WORD_CACHE_LIMIT = 200_000
_CHUNK = 1024


class TextEmbedder(Protocol):
    """What the vector index needs: a batch of texts -> an (n, d) float32 array of unit rows."""

    dimensions: int | None

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _bucket(feature: str, dimensions: int) -> tuple[int, float]:
    value = zlib.crc32(feature.encode("utf-8"))
    return value % dimensions, (1.0 if value & 0x80000000 else -1.0)


class HashingEmbedder:
    """The offline embedder: numpy only, same output for the same text on every machine."""

    def __init__(self, dimensions: int = 384) -> None:
        if dimensions < 16:
            raise ValueError("dimensions must be at least 16")
        self.dimensions: int | None = dimensions
        self._dims = dimensions
        # Log text repeats its words endlessly; each word's buckets are computed once.
        self._word_features: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {}
        self._pair_features: dict[str, tuple[int, float]] = {}

    def _features_of_word(self, word: str) -> tuple[tuple[int, ...], tuple[float, ...]]:
        cached = self._word_features.get(word)
        if cached is not None:
            return cached
        dims = self._dims
        index, sign = _bucket("w:" + word, dims)
        if word.startswith("<"):
            features: tuple[tuple[int, ...], tuple[float, ...]] = ((index,), (sign * _PLACEHOLDER_WEIGHT,))
        else:
            indexes, weights = [index], [sign * _WORD_WEIGHT]
            padded = f"^{word}$"
            if len(padded) > 3:
                for start in range(len(padded) - 2):
                    index, sign = _bucket("c:" + padded[start : start + 3], dims)
                    indexes.append(index)
                    weights.append(sign * _TRIGRAM_WEIGHT)
            features = (tuple(indexes), tuple(weights))
        if len(self._word_features) >= _WORD_CACHE_LIMIT:
            self._word_features.clear()
        self._word_features[word] = features
        return features

    def tokens(self, text: str) -> list[str]:
        return _TOKEN_RX.findall(mask_message(text).lower())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if len(texts) <= _CHUNK:
            return self._embed_chunk(texts)
        # Chunks keep the dense intermediate small enough to stay in cache.
        chunks = [self._embed_chunk(texts[start : start + _CHUNK]) for start in range(0, len(texts), _CHUNK)]
        return np.concatenate(chunks)

    def _pair_feature(self, first: str, second: str) -> tuple[int, float]:
        key = f"{first} {second}"
        cached = self._pair_features.get(key)
        if cached is None:
            index, sign = _bucket("p:" + key, self._dims)
            cached = (index, sign * _PAIR_WEIGHT)
            if len(self._pair_features) >= _WORD_CACHE_LIMIT:
                self._pair_features.clear()
            self._pair_features[key] = cached
        return cached

    def _embed_chunk(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        dims = self._dims
        columns: list[int] = []
        weights: list[float] = []
        per_text: list[int] = []
        features_of = self._features_of_word
        pair_of = self._pair_feature
        for text in texts:
            before = len(columns)
            words = self.tokens(text)
            for word in words:
                indexes, values = features_of(word)
                columns.extend(indexes)
                weights.extend(values)
            for first, second in pairwise(words):
                index, weight = pair_of(first, second)
                columns.append(index)
                weights.append(weight)
            per_text.append(len(columns) - before)
        size = len(texts) * dims
        if columns:
            rows = np.repeat(np.arange(len(texts), dtype=np.int64), per_text)
            positions = rows * dims + np.asarray(columns, dtype=np.int64)
            flat = np.bincount(positions, weights=np.asarray(weights, dtype=np.float64), minlength=size)
        else:
            flat = np.zeros(size, dtype=np.float64)
        return _normalise(flat.reshape(len(texts), dims))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


class LangChainEmbedder:
    """Any LangChain ``Embeddings`` as a :class:`TextEmbedder`."""

    def __init__(self, embeddings: Embeddings, *, batch_size: int = 256) -> None:
        self.embeddings = embeddings
        self.batch_size = batch_size
        self.dimensions: int | None = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            vectors.extend(self.embeddings.embed_documents(list(texts[start : start + self.batch_size])))
        if not vectors:
            return np.zeros((0, self.dimensions or 0), dtype=np.float32)
        matrix = _normalise(np.asarray(vectors, dtype=np.float64))
        self.dimensions = matrix.shape[1]
        return matrix

    def embed_query(self, text: str) -> np.ndarray:
        import numpy as np

        vector = _normalise(np.asarray([self.embeddings.embed_query(text)], dtype=np.float64))[0]
        self.dimensions = vector.shape[0]
        return vector


def _normalise(matrix: Any) -> np.ndarray:
    import numpy as np

    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32)


@cache
def hashing_embeddings_class() -> type[Embeddings]:
    """The LangChain ``Embeddings`` subclass over :class:`HashingEmbedder`, created on first use so that
    importing this module does not import LangChain."""
    from langchain_core.embeddings import Embeddings

    class HashingEmbeddings(Embeddings):
        """Offline hashed n-gram embeddings (see :mod:`logchat.retrieval.embeddings`)."""

        def __init__(self, dimensions: int = 384) -> None:
            self.embedder = HashingEmbedder(dimensions)

        @property
        def dimensions(self) -> int:
            return self.embedder._dims

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.embedder.embed(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return self.embedder.embed_query(text).tolist()

    HashingEmbeddings.__module__ = __name__
    return HashingEmbeddings


def __getattr__(name: str) -> Any:
    if name == "HashingEmbeddings":
        return hashing_embeddings_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_embeddings(settings: EmbeddingSettings) -> Embeddings:
    """The configured embeddings as a LangChain ``Embeddings`` object."""
    if settings.provider == "hashing":
        return hashing_embeddings_class()(settings.dimensions)
    if settings.provider == "ollama":
        from langchain_ollama import OllamaEmbeddings

        kwargs: dict[str, Any] = {"model": settings.model}
        if settings.base_url:
            kwargs["base_url"] = settings.base_url
        return OllamaEmbeddings(**kwargs)
    from logchat.errors import ConfigError

    raise ConfigError(f"config key 'embeddings.provider': unknown provider {settings.provider!r}")


def make_embedder(settings: EmbeddingSettings) -> TextEmbedder:
    """The configured embeddings as a :class:`TextEmbedder`; the hashing one without LangChain."""
    if settings.provider == "hashing":
        return HashingEmbedder(settings.dimensions)
    return LangChainEmbedder(make_embeddings(settings))


def embedder_identity(settings: EmbeddingSettings) -> str:
    """Names the vector space: vectors made under one identity are useless under another."""
    if settings.provider == "hashing":
        return f"hashing-v{HASHING_VERSION}:{settings.dimensions}"
    return f"{settings.provider}:{settings.model}"
