"""/api/v1/chat: each account keeps its own sessions; another's session is a 404 (its existence is
not revealed); `chat:read_all` reads anyone's, read only. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from daemon_helpers import bearer

SESSIONS = "/api/v1/chat/sessions"


async def _create(client: Any, token: str, name: str) -> Any:
    return await client.post(SESSIONS, json={"name": name}, headers=bearer(token))


async def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    return (await response.json())["error"]


def _user_id(services: Any, name: str) -> int:
    from logchat.services.sessions import find_account

    return find_account(services.store, name)[0]


def _ask(services: Any, owner: int, session: str, times: int) -> None:
    from logchat.services.ask import AskRequest
    from logchat.services.sessions import ask_in_session

    for n in range(times):
        ask_in_session(services.store, services.settings, AskRequest(f"failed password {n}", use_llm=False),
                       session=session, owner=owner)


async def test_two_accounts_may_each_have_a_session_of_the_same_name(client: Any, tokens: dict[str, str]) -> None:
    for role in ("viewer", "analyst"):
        created = await _create(client, tokens[role], "incident-42")
        assert created.status == 201
        body = await created.json()
        assert body["name"] == "incident-42" and body["user"] == role and body["turns"] == 0
    again = await _create(client, tokens["viewer"], " incident-42 ")
    assert (await _error(again, 409))["code"] == "session_exists"
    for role in ("viewer", "analyst"):
        listed = await (await client.get(SESSIONS, headers=bearer(tokens[role]))).json()
        assert [(s["name"], s["user"]) for s in listed["sessions"]] == [("incident-42", role)]


async def test_another_accounts_session_is_a_404_and_stays_untouched(client: Any, tokens: dict[str, str]) -> None:
    assert (await _create(client, tokens["viewer"], "private")).status == 201
    intruder = bearer(tokens["analyst"])
    attempts = [
        client.get(f"{SESSIONS}/private/messages", headers=intruder),
        client.patch(f"{SESSIONS}/private", json={"name": "taken"}, headers=intruder),
        client.delete(f"{SESSIONS}/private", headers=intruder),
    ]
    for attempt in attempts:
        error = await _error(await attempt, 404)
        assert error["message"] == "no session named 'private'"  # the same answer as for a name nobody has
    # Without chat:read_all, the read-only routes for others' sessions are refused outright.
    await _error(await client.get("/api/v1/chat/users/viewer/sessions", headers=intruder), 403)
    await _error(await client.get("/api/v1/chat/users/viewer/sessions/private/messages", headers=intruder), 403)
    mine = await (await client.get(SESSIONS, headers=bearer(tokens["viewer"]))).json()
    assert [s["name"] for s in mine["sessions"]] == ["private"]


async def test_an_admin_reads_anyones_sessions_read_only(
    client: Any, services: Any, tokens: dict[str, str]
) -> None:
    _ask(services, _user_id(services, "viewer"), "incident-42", 2)
    admin = bearer(tokens["admin"])
    listed = await (await client.get("/api/v1/chat/users/Viewer/sessions", headers=admin)).json()
    assert [(s["name"], s["user"], s["turns"]) for s in listed["sessions"]] == [("incident-42", "viewer", 2)]
    page = await (await client.get("/api/v1/chat/users/viewer/sessions/incident-42/messages", headers=admin)).json()
    assert page["user"] == "viewer" and [m["question"] for m in page["messages"]] == [
        "failed password 1", "failed password 0"]
    # Reading is all: the admin's own namespace does not hold the viewer's session.
    await _error(await client.delete(f"{SESSIONS}/incident-42", headers=admin), 404)
    own = await (await client.get(SESSIONS, headers=admin)).json()
    assert own["sessions"] == []
    assert (await _error(await client.get("/api/v1/chat/users/nobody/sessions", headers=admin), 404))["message"] \
        == "no user named 'nobody'"
    await _error(await client.get("/api/v1/chat/users/viewer/sessions/other/messages", headers=admin), 404)


async def test_messages_are_paged_newest_first(client: Any, services: Any, tokens: dict[str, str]) -> None:
    _ask(services, _user_id(services, "viewer"), "paged", 5)
    viewer = bearer(tokens["viewer"])
    positions: list[int] = []
    before: int | None = None
    pages = 0
    while True:
        query = {"limit": "2", **({"before": str(before)} if before is not None else {})}
        page = await (await client.get(f"{SESSIONS}/paged/messages", params=query, headers=viewer)).json()
        positions += [m["position"] for m in page["messages"]]
        pages += 1
        before = page["next_before"]
        if before is None:
            break
    assert positions == [5, 4, 3, 2, 1] and pages == 3
    first = await (await client.get(f"{SESSIONS}/paged/messages", headers=viewer)).json()
    assert first["turns"] == 5 and first["messages"][0]["mode"] == "extractive"
    for query, field in (({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"), ({"limit": "many"}, "limit"),
                         ({"before": "0"}, "before"), ({"user": "analyst"}, "user")):
        response = await client.get(f"{SESSIONS}/paged/messages", params=query, headers=viewer)
        assert (await _error(response, 422))["field"] == field


async def test_rename_refuses_a_name_already_used(client: Any, tokens: dict[str, str]) -> None:
    viewer = bearer(tokens["viewer"])
    for name in ("a", "b"):
        assert (await _create(client, tokens["viewer"], name)).status == 201
    assert (await _create(client, tokens["analyst"], "c")).status == 201
    conflict = await client.patch(f"{SESSIONS}/a", json={"name": "b"}, headers=viewer)
    assert (await _error(conflict, 409))["code"] == "session_exists"
    renamed = await client.patch(f"{SESSIONS}/a", json={"name": "c"}, headers=viewer)  # the analyst's "c" is theirs
    assert renamed.status == 200 and (await renamed.json())["name"] == "c"
    await _error(await client.patch(f"{SESSIONS}/a", json={"name": "d"}, headers=viewer), 404)
    bad = await client.patch(f"{SESSIONS}/b", json={"name": "x" * 201}, headers=viewer)
    assert (await _error(bad, 422))["field"] == "name"
    listed = await (await client.get(SESSIONS, headers=viewer)).json()
    assert sorted(s["name"] for s in listed["sessions"]) == ["b", "c"]


async def test_delete_removes_the_session_and_its_turns(client: Any, services: Any, tokens: dict[str, str]) -> None:
    _ask(services, _user_id(services, "viewer"), "gone", 2)
    viewer = bearer(tokens["viewer"])
    deleted = await client.delete(f"{SESSIONS}/gone", headers=viewer)
    assert deleted.status == 204 and await deleted.read() == b""
    await _error(await client.get(f"{SESSIONS}/gone/messages", headers=viewer), 404)
    await _error(await client.delete(f"{SESSIONS}/gone", headers=viewer), 404)
    assert (await (await client.get(SESSIONS, headers=viewer)).json())["sessions"] == []


async def test_session_names_are_validated_naming_the_field(client: Any, tokens: dict[str, str]) -> None:
    viewer = bearer(tokens["viewer"])
    for body in ({"name": ""}, {"name": "   "}, {"name": "x" * 201}, {"name": "line\nbreak"}, {"name": 42}, {},
                 {"name": "ok", "owner": 1}):
        error = await _error(await client.post(SESSIONS, json=body, headers=viewer), 422)
        assert error["field"] in ("name", "owner"), (body, error)
    too_long = await client.get(f"{SESSIONS}/{'x' * 201}/messages", headers=viewer)
    assert (await _error(too_long, 422))["field"] == "name"
    # Any printable name works in a path once percent-encoded, slashes included.
    name = "team/incident 42?"
    assert (await _create(client, tokens["viewer"], name)).status == 201
    page = await client.get(f"{SESSIONS}/{quote(name, safe='')}/messages", headers=viewer)
    assert page.status == 200 and (await page.json())["name"] == name


async def test_the_open_demo_visitor_keeps_no_sessions(settings: Any, store: Any) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from logchat.daemon.app import Services, create_app
    from logchat.services.auth import AccessMode, AuthService
    from logchat.services.sessions import create_session

    create_session(store, "cli-only")  # the command line's: never served by the daemon
    services = Services(settings=settings, store=store, auth=AuthService(settings, store),
                        access_mode=AccessMode.OPEN_DEMO)
    try:
        async with TestClient(TestServer(create_app(settings, services))) as client:
            for response in (await client.get(SESSIONS), await client.post(SESSIONS, json={"name": "x"}),
                             await client.delete(f"{SESSIONS}/cli-only")):
                assert "need an account" in (await _error(response, 403))["message"]
    finally:
        services.auth.close()
