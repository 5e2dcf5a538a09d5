"""The answer object: the same chunks read with ``for`` and ``async for``, notices on lines of their own, and a
read path that writes nothing. A real store of loghub's OpenSSH sample (SQLite, and PostgreSQL when configured),
the fake Ollama server through the real client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_ollama import FakeOllama
from sqlalchemy import func, select

from logchat.services.ask import Answer, AskRequest, Chunk, ask
from logchat.services.ingest import index_inputs
from logchat.storage.models.base import Base

QUESTION = "how many failed password attempts for root from 183.62.140.253?"


@pytest.fixture
def openssh_store(store: Any, settings: Any, loghub: Path) -> Any:
    assert not index_inputs(store, settings, [str(loghub / "OpenSSH" / "OpenSSH_2k.log")]).failed
    return store


@pytest.fixture
def server() -> Iterator[FakeOllama]:
    with FakeOllama(reply="Most failures come from 183.62.140.253 [E1]") as running:
        yield running


def _with_llm(settings: Any, url: str) -> Any:
    values = {"provider": "ollama", "model": "llama3.2", "base_url": url, "timeout_seconds": 10.0,
              "connect_timeout_seconds": 2.0}  # fmt: skip
    return settings.model_copy(update={"llm": settings.llm.model_copy(update=values)})


def _comparable(chunks: list[Chunk]) -> list[tuple[str, str]]:
    # The summary line carries milliseconds, which differ from one run to the next.
    return [(chunk.kind, chunk.text if chunk.kind != "summary" else "") for chunk in chunks]


async def _read_async(answer: Answer) -> list[Chunk]:
    return [chunk async for chunk in answer]


def test_for_and_async_for_give_the_same_chunks(openssh_store: Any, settings: Any, server: FakeOllama) -> None:
    llm = _with_llm(settings, server.url)
    synchronous = list(ask(openssh_store, llm, AskRequest(QUESTION)))
    asynchronous = asyncio.run(_read_async(ask(openssh_store, llm, AskRequest(QUESTION))))
    assert _comparable(synchronous) == _comparable(asynchronous)
    kinds = [chunk.kind for chunk in synchronous]
    assert kinds[0] == "token" and kinds.count("token") > 3 and kinds[-1] == "summary"
    assert "".join(chunk.text for chunk in synchronous if chunk.kind == "token") == (
        "There were 276 matching events.\n" + server.reply
    )


def test_a_complete_answer_replays_its_chunks(openssh_store: Any, settings: Any) -> None:
    answer = ask(openssh_store, settings, AskRequest(QUESTION, use_llm=False))
    data = answer.to_json()  # produced here, with nobody reading the chunks
    chunks = list(answer)
    assert chunks == asyncio.run(_read_async(answer))
    # The question's "attempts" is in no line: a notice says it was left out.
    assert [chunk.kind for chunk in chunks] == ["notice", "answer", "summary"]
    assert chunks[0].text == data["notices"][0] and "attempts" in chunks[0].text
    assert chunks[1].text == data["answer"] and answer.to_json() is data


def test_async_reading_leaves_the_loop_free_while_the_model_is_slow(
    openssh_store: Any, settings: Any, server: FakeOllama
) -> None:
    server.first_byte_delay = 1.0

    async def read() -> tuple[list[Chunk], int]:
        ticks = 0
        first: list[Chunk] = []

        async def tick() -> None:
            nonlocal ticks
            while not first:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        chunks = []
        async for chunk in ask(openssh_store, _with_llm(settings, server.url), AskRequest(QUESTION)):
            if not first:
                first.append(chunk)
                seen_ticks = ticks
            chunks.append(chunk)
        await ticker
        return chunks, seen_ticks

    chunks, ticks_before_first = asyncio.run(read())
    # The loop ran other work while the answer's first chunk was being produced in a worker thread.
    assert ticks_before_first > 0 and chunks[0].kind == "token"


def test_a_notice_after_a_streamed_answer_starts_a_line_of_its_own(
    openssh_store: Any, settings: Any, server: FakeOllama
) -> None:
    server.reply = "There were 251 such events, see [E1] and [E99]"  # no line end, an unknown id, a new number
    answer = ask(openssh_store, _with_llm(settings, server.url), AskRequest(QUESTION))
    chunks = list(answer)
    first_other = next(n for n, chunk in enumerate(chunks) if chunk.kind != "token")
    assert chunks[first_other] == Chunk("break", "\n")
    shown = "".join(chunk.text for chunk in chunks[: first_other + 1])
    assert shown.endswith(server.reply + "\n")
    kinds = [chunk.kind for chunk in chunks[first_other:]]
    assert kinds == ["break", "notice", "notice", "unverified", "sources", "summary"]
    left_out, cites, unverified, sources = chunks[first_other + 1 : first_other + 5]
    assert "attempts" in left_out.text and "E99" in cites.text
    assert "251" in unverified.text and sources.text.startswith("Sources:\n  [E1] ")
    data = answer.to_json()
    assert data["unverified_numbers"] == ["251"] and data["answer"].endswith(server.reply)
    assert data["notices"] == [left_out.text, cites.text]


def test_a_model_failing_mid_answer_hands_over_to_the_extractive_answer(
    openssh_store: Any, settings: Any, server: FakeOllama
) -> None:
    server.die_after_chunks = 2
    chunks = list(ask(openssh_store, _with_llm(settings, server.url), AskRequest(QUESTION)))
    kinds = [chunk.kind for chunk in chunks]
    after = kinds[kinds.index("break") :]
    assert after[0] == "break" and after[-3:] == ["fallback", "answer", "summary"] and "notice" in after
    assert chunks[kinds.index("answer")].text.startswith("There were 276 matching events.")


def test_a_reader_that_stops_early_abandons_the_answer(openssh_store: Any, settings: Any, server: FakeOllama) -> None:
    server.reply = " ".join(["word"] * 400)
    server.chunk_delay = 0.05
    answer = ask(openssh_store, _with_llm(settings, server.url), AskRequest(QUESTION))
    for chunk in answer:
        assert chunk.kind == "token"
        break
    assert answer.abandoned
    with pytest.raises(Exception, match="not completed"):
        answer.to_json()


def test_a_bad_question_is_raised_where_the_answer_is_read(openssh_store: Any, settings: Any) -> None:
    from logchat.errors import UsageError

    answer = ask(openssh_store, settings, AskRequest("   ", use_llm=False))
    with pytest.raises(UsageError, match="the question is empty"):
        list(answer)
    with pytest.raises(UsageError):
        answer.to_json()


def _row_counts(store: Any) -> dict[str, int]:
    with store.session() as session:
        return {table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
                for table in Base.metadata.sorted_tables}  # fmt: skip


def _files(directory: Path) -> dict[str, tuple[int, int]]:
    return {str(path.relative_to(directory)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in directory.rglob("*") if path.is_file()}  # fmt: skip


def test_answering_writes_no_row_and_no_file(openssh_store: Any, settings: Any) -> None:
    from logchat.services.sessions import list_sessions, record_turn

    (settings.data_dir / "ask-vocabulary.json").unlink(missing_ok=True)  # stale or missing: still not written
    rows, files = _row_counts(openssh_store), _files(settings.data_dir)
    assert rows["events"] == 2_000
    questions = [QUESTION, "which IPs failed most often?", "failed passwords per hour", "errors last night",
                 "how many lines mention nothing-like-this-at-all?"]  # fmt: skip
    for question in questions:
        answer = ask(openssh_store, settings, AskRequest(question, use_llm=False, session="incident"))
        assert answer.to_json()["session"] == "incident"
        list(answer)
    assert _row_counts(openssh_store) == rows
    assert _files(settings.data_dir) == files
    assert list_sessions(openssh_store) == []
    # Keeping the turn is the session layer's one call, after the answer.
    record_turn(openssh_store, answer)
    assert [(item["name"], item["turns"]) for item in list_sessions(openssh_store)] == [("incident", 1)]
