"""The chat socket as a browser uses it: sign in by frame or subprotocol, ask, watch tokens stream,
slash commands by role, errors that leave the socket usable, dead tokens and shutdown closing it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType

WS = "/api/v1/ws"


async def frames_until(ws: Any, kind: str, frame_id: str | None = None) -> list[dict[str, Any]]:
    """Frames received up to and including the first of ``kind`` (for ``frame_id`` when given)."""
    seen = []
    while True:
        message = await ws.receive(timeout=60)
        assert message.type == WSMsgType.TEXT, (message.type, message.data, seen)
        frame = message.json()
        seen.append(frame)
        if frame["type"] in (kind, "error") and (frame_id is None or frame.get("id") == frame_id):
            return seen


async def signed_in(client: Any, token: str) -> Any:
    ws = await client.ws_connect(WS)
    await ws.send_json({"type": "auth", "token": token})
    ready = (await frames_until(ws, "ready"))[-1]
    assert ready["type"] == "ready"
    return ws


async def test_ask_and_get_the_answer_contract(client: Any, small_store: Any, tokens: dict[str, str]) -> None:
    ws = await signed_in(client, tokens["viewer"])
    await ws.send_json({"type": "ask", "id": "q1", "question": "failed password", "no_llm": True})
    answer = (await frames_until(ws, "answer", "q1"))[-1]
    assert answer["type"] == "answer" and answer["id"] == "q1"
    assert answer["matched"] == 3 and answer["mode"] == "extractive"
    await ws.close()


async def test_the_token_may_come_in_the_subprotocol(client: Any, tokens: dict[str, str]) -> None:
    ws = await client.ws_connect(WS, protocols=("logchat", f"bearer.{tokens['analyst']}"))
    assert ws.protocol == "logchat"
    ready = (await frames_until(ws, "ready"))[-1]
    assert ready["username"] == "analyst" and ready["role"] == "analyst"
    await ws.close()


async def test_tokens_stream_then_the_answer_with_a_model(client: Any, small_store: Any, services: Any,
                                                          tokens: dict[str, str], fake_ollama: Any) -> None:
    fake_ollama.reply = "Three failed sign-ins from two addresses [E1]."
    services.settings = services.settings.model_copy(update={"llm": services.settings.llm.model_copy(update={
        "provider": "ollama", "base_url": fake_ollama.url, "timeout_seconds": 10.0})})
    ws = await signed_in(client, tokens["viewer"])
    await ws.send_json({"type": "ask", "id": "q7", "question": "why did logins fail?"})
    frames = await frames_until(ws, "answer", "q7")
    streamed = "".join(frame["text"] for frame in frames if frame["type"] == "token")
    assert streamed.startswith("Three failed sign-ins")
    assert frames[-1]["type"] == "answer" and frames[-1]["mode"] == "llm"
    assert [frame["type"] for frame in frames].index("token") < len(frames) - 1
    await ws.close()


async def test_a_model_calling_a_tool_still_streams_its_answer(
    client: Any, small_store: Any, services: Any, tokens: dict[str, str], fake_ollama: Any, tmp_path: Path
) -> None:
    import json
    import re

    from fake_ollama import tool_call

    def answer(messages: list[dict[str, Any]]) -> str:
        result = [m for m in messages if m["role"] == "tool"][-1]["content"]
        matched = json.loads(result.removeprefix("<logs>\n").removesuffix("\n</logs>"))["matched"]
        return f"{matched} lines mention 10.0.0.1 [E1]; about 40 more were blocked."

    fake_ollama.turns = [tool_call("count_events", text="10.0.0.1"), answer]
    services.settings = services.settings.model_copy(update={"llm": services.settings.llm.model_copy(update={
        "provider": "ollama", "base_url": fake_ollama.url, "timeout_seconds": 10.0})})
    ws = await signed_in(client, tokens["viewer"])
    await ws.send_json({"type": "ask", "id": "t1", "question": "why did logins fail?"})
    frames = await frames_until(ws, "answer", "t1")
    expected = len(re.findall(r"(?<![\d.])10\.0\.0\.1(?!\.?\d)", (tmp_path / "auth.log").read_text()))
    final = frames[-1]
    assert final["type"] == "answer" and final["mode"] == "llm"
    assert final["answer"] == f"{expected} lines mention 10.0.0.1 [E1]; about 40 more were blocked."
    assert "".join(frame["text"] for frame in frames if frame["type"] == "token") == final["answer"]
    assert final["tool_calls"] == [{"tool": "count_events", "arguments": {"text": "10.0.0.1"}, "ok": True,
                                    "error": None}]
    assert final["unverified_numbers"] == ["40"]
    await ws.close()


async def test_two_questions_at_once_are_answered_by_id(client: Any, small_store: Any, tokens: dict[str, str]) -> None:
    ws = await signed_in(client, tokens["viewer"])
    await ws.send_json({"type": "ask", "id": "a", "question": "failed password", "no_llm": True})
    await ws.send_json({"type": "ask", "id": "b", "question": "connection rejected", "no_llm": True})
    answers: dict[str, dict[str, Any]] = {}
    while len(answers) < 2:
        frame = (await ws.receive(timeout=60)).json()
        if frame["type"] == "answer":
            answers[frame["id"]] = frame
    assert answers["a"]["matched"] == 3 and answers["b"]["matched"] == 1
    await ws.close()


async def test_slash_commands_follow_the_role(client: Any, small_store: Any, tokens: dict[str, str]) -> None:
    ws = await signed_in(client, tokens["viewer"])
    await ws.send_json({"type": "ask", "id": "h", "question": "/help"})
    helped = (await frames_until(ws, "command", "h"))[-1]
    assert {item["command"].split()[0] for item in helped["commands"]} == {
        "/help", "/whoami", "/stat", "/sessions", "/session", "/clear"}
    await ws.send_json({"type": "ask", "id": "s", "question": "/stat --level error"})
    stat = (await frames_until(ws, "command", "s"))[-1]
    assert stat["stats"]["total"] >= 0 and stat["command"] == "/stat"
    await ws.send_json({"type": "ask", "id": "w", "question": "/whoami"})
    assert (await frames_until(ws, "command", "w"))[-1]["role"] == "viewer"
    await ws.close()


async def test_errors_name_the_question_and_leave_the_socket_usable(client: Any, small_store: Any,
                                                                    tokens: dict[str, str]) -> None:
    ws = await signed_in(client, tokens["viewer"])
    await ws.send_json({"type": "ask", "id": "x", "question": "/frobnicate"})
    error = (await frames_until(ws, "error", "x"))[-1]
    assert error["code"] == "bad_request" and "/help" in error["message"]
    await ws.send_str("not json")
    assert (await frames_until(ws, "error"))[-1]["code"] == "bad_frame"
    await ws.send_json({"type": "ask", "id": "", "question": "x"})
    assert "id" in (await frames_until(ws, "error"))[-1]["message"]
    await ws.send_json({"type": "ask", "id": "ok", "question": "failed password", "no_llm": True})
    assert (await frames_until(ws, "answer", "ok"))[-1]["matched"] == 3
    await ws.close()


async def test_a_bad_or_missing_token_closes_the_socket(client: Any, tokens: dict[str, str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from logchat.daemon import ws as chat_socket

    bad = await client.ws_connect(WS)
    await bad.send_json({"type": "auth", "token": tokens["viewer"] + "x"})
    closed = await bad.receive(timeout=30)
    assert closed.type == WSMsgType.CLOSE and closed.data == chat_socket.CLOSE_UNAUTHENTICATED
    monkeypatch.setattr(chat_socket, "AUTH_TIMEOUT_SECONDS", 0.2)
    silent = await client.ws_connect(WS)
    closed = await silent.receive(timeout=30)
    assert closed.type == WSMsgType.CLOSE and closed.data == chat_socket.CLOSE_UNAUTHENTICATED


async def test_a_token_revoked_while_open_closes_it_at_the_next_frame(client: Any, services: Any,
                                                                      tokens: dict[str, str]) -> None:
    from logchat.daemon import ws as chat_socket

    ws = await signed_in(client, tokens["analyst"])
    services.auth.revoke(access_token=tokens["analyst"])
    await ws.send_json({"type": "ask", "id": "q", "question": "/whoami"})
    closed = await ws.receive(timeout=30)
    assert closed.type == WSMsgType.CLOSE and closed.data == chat_socket.CLOSE_UNAUTHENTICATED


async def test_shutdown_closes_sockets_as_going_away(client: Any, tokens: dict[str, str]) -> None:
    import asyncio

    ws = await signed_in(client, tokens["viewer"])
    stopping = asyncio.create_task(client.server.close())  # the client reads meanwhile, as a browser does
    closed = await ws.receive(timeout=30)
    assert closed.type == WSMsgType.CLOSE and closed.data == 1001
    await stopping


async def test_an_answer_in_flight_at_shutdown_is_finished_first(client: Any, small_store: Any, services: Any,
                                                                 tokens: dict[str, str], fake_ollama: Any) -> None:
    import asyncio

    fake_ollama.reply = "Slowly: three failed sign-ins [E1]."
    fake_ollama.chunk_delay = 0.2
    services.settings = services.settings.model_copy(update={"llm": services.settings.llm.model_copy(update={
        "provider": "ollama", "base_url": fake_ollama.url, "timeout_seconds": 30.0})})
    ws = await signed_in(client, tokens["viewer"])
    await ws.send_json({"type": "ask", "id": "slow", "question": "why did logins fail?"})
    first = (await frames_until(ws, "token", "slow"))[-1]
    assert first["type"] == "token"  # the answer is being written
    stopping = asyncio.create_task(client.server.close())
    frames = await frames_until(ws, "answer", "slow")
    assert frames[-1]["type"] == "answer" and frames[-1]["mode"] == "llm"
    closed = await ws.receive(timeout=30)
    assert closed.type == WSMsgType.CLOSE and closed.data == 1001
    await stopping


async def test_a_session_keeps_its_turns_across_reconnects(client: Any, small_store: Any,
                                                           tokens: dict[str, str]) -> None:
    ws = await signed_in(client, tokens["viewer"])
    await ws.send_json({"type": "ask", "id": "s", "question": "/session incident-7"})
    switched = (await frames_until(ws, "command", "s"))[-1]
    assert switched["session"] == "incident-7" and switched["messages"] == []
    await ws.send_json({"type": "ask", "id": "q", "question": "failed password", "no_llm": True})
    answer = (await frames_until(ws, "answer", "q"))[-1]
    assert answer["session"] == "incident-7"
    await ws.close()
    again = await signed_in(client, tokens["viewer"])
    await again.send_json({"type": "ask", "id": "l", "question": "/sessions"})
    listed = (await frames_until(again, "command", "l"))[-1]
    assert [item["name"] for item in listed["sessions"]] == ["incident-7"]
    await again.send_json({"type": "ask", "id": "r", "question": "/session incident-7"})
    reopened = (await frames_until(again, "command", "r"))[-1]
    assert [turn["question"] for turn in reopened["messages"]] == ["failed password"]
    await again.send_json({"type": "ask", "id": "c", "question": "/clear"})
    cleared = (await frames_until(again, "command", "c"))[-1]
    assert cleared["session"].startswith("chat-") and cleared["session"] != "incident-7"
    await again.close()
    other = await signed_in(client, tokens["analyst"])
    await other.send_json({"type": "ask", "id": "l", "question": "/sessions"})
    assert (await frames_until(other, "command", "l"))[-1]["sessions"] == []  # sessions are per user
    await other.close()


async def test_reload_streams_progress_then_the_summary(client: Any, services: Any, tokens: dict[str, str],
                                                        tmp_path: Any) -> None:
    from logchat.config import SourceSettings

    log = tmp_path / "app.log"
    log.write_text("".join(f"2026-01-05T10:00:{i % 60:02d}+00:00 web-01 app[1]: job {i} done\n" for i in range(500)))
    services.settings = services.settings.model_copy(update={"sources": [SourceSettings(path=str(log))]})
    viewer = await signed_in(client, tokens["viewer"])
    await viewer.send_json({"type": "ask", "id": "r", "question": "/reload"})
    refused = (await frames_until(viewer, "command", "r"))[-1]
    assert refused["type"] == "error" and refused["code"] == "forbidden"
    await viewer.close()
    ws = await signed_in(client, tokens["analyst"])
    await ws.send_json({"type": "ask", "id": "r", "question": "/reload"})
    frames = await frames_until(ws, "command", "r")
    done = frames[-1]
    assert done["type"] == "command" and done["job"]["state"] == "succeeded", done
    assert done["job"]["summary"]["new_events"] == 500
    assert all(frame["type"] in ("progress", "command") for frame in frames)
    await ws.close()


async def test_a_reload_reports_to_the_users_other_sockets_not_to_others(
        client: Any, services: Any, tokens: dict[str, str], tmp_path: Any) -> None:
    from logchat.config import SourceSettings

    log = tmp_path / "app.log"
    log.write_text("".join(f"2026-01-05T10:00:{i % 60:02d}+00:00 web-01 app[1]: job {i} done\n" for i in range(300)))
    services.settings = services.settings.model_copy(update={"sources": [SourceSettings(path=str(log))]})
    asking = await signed_in(client, tokens["analyst"])
    watching = await signed_in(client, tokens["analyst"])
    admin = await signed_in(client, tokens["admin"])
    await asking.send_json({"type": "ask", "id": "r", "question": "/reload"})
    own = await frames_until(asking, "command", "r")
    job_id = own[-1]["job"]["id"]
    assert not [frame for frame in own if frame["type"] == "job"], "the asking socket has its own frames"
    reports = []
    while not reports or reports[-1]["state"] == "running":
        reports.append((await frames_until(watching, "job"))[-1]["job"])
    assert {report["id"] for report in reports} == {job_id}
    assert reports[-1]["state"] == "succeeded" and reports[-1]["summary"]["new_events"] == 300
    # Another account's socket hears nothing of it.
    await admin.send_json({"type": "ask", "id": "w", "question": "/whoami"})
    assert [frame["type"] for frame in await frames_until(admin, "command", "w")] == ["command"]
    for ws in (asking, watching, admin):
        await ws.close()
