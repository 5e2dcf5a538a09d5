"""The offline hashing embedder and the LangChain-facing factory."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from logchat.config import EmbeddingSettings
from logchat.retrieval.embeddings import HashingEmbedder, embedder_identity, make_embedder, make_embeddings


def test_vectors_are_unit_length_deterministic_and_of_the_configured_size() -> None:
    embedder = HashingEmbedder(64)
    texts = ["Failed password for root from 10.0.0.1 port 22 ssh2", "", "Connection closed by 10.0.0.2"]
    first = embedder.embed(texts)
    again = HashingEmbedder(64).embed(texts)
    assert first.shape == (3, 64) and first.dtype == np.float32
    assert np.allclose(np.linalg.norm(first[[0, 2]], axis=1), 1.0, atol=1e-5)
    assert not first[1].any()  # nothing to embed: the zero vector, not NaN
    assert np.array_equal(first, again)


def test_similar_log_lines_are_closer_than_unrelated_ones() -> None:
    embedder = HashingEmbedder(384)
    query = embedder.embed_query("failed password for root")
    near, other_ip, far = embedder.embed([
        "Failed password for root from 183.62.140.253 port 36300 ssh2",
        "Failed password for root from 5.36.59.76 port 42393 ssh2",
        "PacketResponder 1 for block blk_38865049064139660 terminating",
    ])
    assert float(near @ query) > 0.4
    assert float(near @ query) > float(far @ query) + 0.3
    # Variable parts are masked before hashing: two IPs make the same vector.
    assert float(near @ other_ip) > 0.99


def test_word_forms_share_character_trigrams() -> None:
    embedder = HashingEmbedder(384)
    rejected, rejecting, unrelated = embedder.embed(["rejected", "rejecting", "terminating"])
    assert float(rejected @ rejecting) > float(rejected @ unrelated)


def test_many_texts_are_embedded_in_chunks() -> None:
    embedder = HashingEmbedder(32)
    texts = [f"event {i} on host web-{i % 7}" for i in range(3000)]
    matrix = embedder.embed(texts)
    assert matrix.shape == (3000, 32)
    assert np.array_equal(matrix[2500], embedder.embed([texts[2500]])[0])


def test_factory_gives_a_langchain_embeddings_object() -> None:
    from langchain_core.embeddings import Embeddings

    embeddings = make_embeddings(EmbeddingSettings(provider="hashing", dimensions=48))
    assert isinstance(embeddings, Embeddings)
    vector = embeddings.embed_query("disk full on /var")
    documents = embeddings.embed_documents(["disk full on /var", "all good"])
    assert len(vector) == 48 and len(documents) == 2
    assert documents[0] == pytest.approx(vector)
    assert embedder_identity(EmbeddingSettings(dimensions=48)) == "hashing-v1:48"


def test_ollama_embeddings_go_through_langchain_to_the_server() -> None:
    from fake_ollama import FakeOllama

    with FakeOllama(embedding_dims=24) as server:
        settings = EmbeddingSettings(provider="ollama", model="nomic-embed-text", base_url=server.url)
        embedder = make_embedder(settings)
        matrix = embedder.embed(["one line", "another line"])
        assert matrix.shape == (2, 24)
        assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)
        assert embedder.embed_query("one line").shape == (24,)
        assert any(request.path == "/api/embed" for request in server.requests)
    assert embedder_identity(settings) == "ollama:nomic-embed-text"


def test_the_hashing_path_does_not_import_langchain() -> None:
    code = (
        "import sys\n"
        "from logchat.retrieval.embeddings import make_embedder\n"
        "from logchat.config import EmbeddingSettings\n"
        "make_embedder(EmbeddingSettings()).embed(['x'])\n"
        "print(any(name.startswith('langchain') for name in sys.modules))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "False"
