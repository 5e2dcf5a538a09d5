"""The fake Ollama server speaks the wire protocol the real clients expect."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import httpx
import ollama
import pytest
from fake_ollama import FakeOllama, evidence_ids_in, hash_embedding, split_into_tokens


@pytest.fixture
def server() -> Iterator[FakeOllama]:
    with FakeOllama(reply="Disk full on node-7 [E2], then a restart [E1].") as running:
        yield running


@pytest.fixture
def client(server: FakeOllama) -> ollama.Client:
    return ollama.Client(host=server.url, timeout=10)


def test_tags_version_and_show(server: FakeOllama, client: ollama.Client) -> None:
    names = [model.model for model in client.list().models]
    assert names == ["llama3.2:latest", "nomic-embed-text:latest"]
    assert httpx.get(f"{server.url}/api/version").json()["version"]
    assert client.show("llama3.2").details.family == "llama"
    with pytest.raises(ollama.ResponseError) as caught:
        client.show("no-such-model")
    assert caught.value.status_code == 404
    assert "no-such-model" in caught.value.error


def test_streaming_chat_sends_ndjson_chunks_then_done(server: FakeOllama, client: ollama.Client) -> None:
    parts = list(client.chat(model="llama3.2", messages=[{"role": "user", "content": "why?"}], stream=True))
    assert [part.done for part in parts] == [False] * (len(parts) - 1) + [True]
    assert "".join(part.message.content for part in parts) == server.reply
    final = parts[-1]
    assert final.done_reason == "stop"
    assert final.eval_count == len(split_into_tokens(server.reply))
    assert final.prompt_eval_count is not None and final.total_duration is not None


def test_non_streaming_chat_returns_one_object(server: FakeOllama, client: ollama.Client) -> None:
    response = client.chat(model="llama3.2", messages=[{"role": "user", "content": "why?"}], stream=False)
    assert response.done is True
    assert response.message.content == server.reply
    assert server.last_chat_request["stream"] is False


def test_unknown_model_is_a_404_error_object(server: FakeOllama) -> None:
    response = httpx.post(f"{server.url}/api/chat", json={"model": "ghost", "messages": []})
    assert response.status_code == 404
    assert response.json() == {"error": "model 'ghost' not found"}


def test_reply_function_sees_the_request_messages(server: FakeOllama, client: ollama.Client) -> None:
    seen: list[list[dict]] = []

    def reply(messages: list[dict]) -> str:
        seen.append(messages)
        return " ".join(f"[{evidence_id}]" for evidence_id in evidence_ids_in(messages))

    server.reply = reply
    messages = [{"role": "system", "content": "rules"}, {"role": "user", "content": "[E1] a\n[E7] b"}]
    response = client.chat(model="llama3.2", messages=messages, stream=False)
    assert response.message.content == "[E1] [E7]"
    assert [m["content"] for m in seen[0]] == ["rules", "[E1] a\n[E7] b"]


def test_every_request_body_is_recorded(server: FakeOllama, client: ollama.Client) -> None:
    client.list()
    client.chat(model="llama3.2", messages=[{"role": "user", "content": "hello"}], stream=False)
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/api/tags"), ("POST", "/api/chat")]
    assert server.chat_requests[0]["messages"][0]["content"] == "hello"
    server.reset()
    assert server.requests == []


def test_embed_vectors_are_deterministic_unit_vectors() -> None:
    with FakeOllama(embedding_dims=64) as server:
        client = ollama.Client(host=server.url, timeout=10)
        first = client.embed(model="nomic-embed-text", input=["sshd failed", "kernel panic"]).embeddings
        again = client.embed(model="nomic-embed-text", input="sshd failed").embeddings
        legacy = client.embeddings(model="nomic-embed-text", prompt="sshd failed").embedding
    assert len(first) == 2 and all(len(vector) == 64 for vector in first)
    assert list(again[0]) == list(first[0]) == list(legacy)
    assert list(first[0]) != list(first[1])
    assert math.isclose(sum(v * v for v in first[0]), 1.0, rel_tol=1e-6)
    assert list(first[1]) == hash_embedding("kernel panic", 64)


def test_langchain_embeddings_client_works_against_it(server: FakeOllama) -> None:
    from langchain_ollama import OllamaEmbeddings

    embeddings = OllamaEmbeddings(model="nomic-embed-text", base_url=server.url)
    vectors = embeddings.embed_documents(["a", "b"])
    assert len(vectors) == 2 and len(vectors[0]) == 384
    assert embeddings.embed_query("a") == vectors[0]


def test_die_mid_stream_breaks_the_connection(server: FakeOllama, client: ollama.Client) -> None:
    server.die_after_chunks = 3
    received: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        for part in client.chat(model="llama3.2", messages=[], stream=True):
            received.append(part.message.content)
    assert "".join(received) == "".join(split_into_tokens(server.reply)[:3])


def test_error_line_mid_stream_raises_response_error(server: FakeOllama, client: ollama.Client) -> None:
    server.error_after_chunks = 2
    server.error_message = "out of memory"
    with pytest.raises(ollama.ResponseError, match="out of memory"):
        list(client.chat(model="llama3.2", messages=[], stream=True))


def test_slow_server_outlasts_a_short_client_timeout_and_still_stops(server: FakeOllama) -> None:
    server.first_byte_delay = 30
    impatient = ollama.Client(host=server.url, timeout=0.2)
    with pytest.raises(httpx.ReadTimeout):
        impatient.chat(model="llama3.2", messages=[], stream=False)
    server.stop()  # must not wait for the sleeping handler
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/api/tags")


def test_end_early_closes_cleanly_without_done(server: FakeOllama, client: ollama.Client) -> None:
    server.end_early_after_chunks = 2
    parts = list(client.chat(model="llama3.2", messages=[], stream=True))
    assert len(parts) == 2 and not any(part.done for part in parts)


def test_scripted_turns_emit_tool_calls_in_ollamas_wire_format(server: FakeOllama) -> None:
    from fake_ollama import Turn, tool_call, tool_messages

    server.turns = [tool_call("count_events", text="sshd"), Turn(content="Counted.")]
    first = httpx.post(f"{server.url}/api/chat", json={"model": "llama3.2", "messages": [
        {"role": "user", "content": "how many?"}]})
    objects = [json.loads(line) for line in first.text.splitlines()]
    assert objects[-1]["done"] is True
    assert objects[0]["message"]["tool_calls"] == [{"function": {"name": "count_events",
                                                                 "arguments": {"text": "sshd"}}}]
    client = ollama.Client(host=server.url, timeout=10)
    reply = client.chat(model="llama3.2", messages=[
        {"role": "user", "content": "how many?"},
        {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "count_events",
                                                                          "arguments": {"text": "sshd"}}}]},
        {"role": "tool", "content": '{"matched": 3}', "tool_name": "count_events"},
    ])
    assert reply.message.content == "Counted."
    assert tool_messages(server.last_chat_request) == [
        {"role": "tool", "content": '{"matched": 3}', "tool_name": "count_events"}]
    assert client.chat(model="llama3.2", messages=[{"role": "user", "content": "again"}]).message.content == \
        server.reply  # the script is used up: back to ``reply``


def test_a_message_role_ollama_does_not_know_is_a_400(server: FakeOllama) -> None:
    response = httpx.post(f"{server.url}/api/chat", json={"model": "llama3.2", "messages": [
        {"role": "narrator", "content": "once upon a time"}]})
    assert response.status_code == 400 and "narrator" in response.json()["error"]
