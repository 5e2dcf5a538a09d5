"""`GET /api/v1/admin/audit` on the real app: what a request leaves in the trail (who, from where,
under which request id), denials recorded, questions kept as text with secrets masked, filters and
keyset pages, and refusals naming the field."""

from __future__ import annotations

from typing import Any

from daemon_helpers import PASSWORD, bearer

AUDIT = "/api/v1/admin/audit"


async def _audit(client: Any, token: str, **params: Any) -> dict[str, Any]:
    response = await client.get(AUDIT, params=params, headers=bearer(token))
    assert response.status == 200, await response.text()
    return await response.json()  # type: ignore[no-any-return]


async def test_requests_leave_entries_with_actor_client_and_request_id(
    client: Any, tokens: dict[str, str], small_store: Any
) -> None:
    signed_in = await client.post("/api/v1/auth/login", json={"username": "analyst", "password": PASSWORD},
                                  headers={"X-Request-ID": "login-7"})
    assert signed_in.status == 200
    refused = await client.post("/api/v1/auth/login", json={"username": "analyst", "password": "not it at all"})
    assert refused.status == 401
    denied = await client.get(AUDIT, headers=bearer(tokens["viewer"]))
    assert denied.status == 403
    asked = await client.post("/api/v1/ask", headers=bearer(tokens["viewer"]),
                              json={"question": "who used password=hunter2 on web-01?", "no_llm": True})
    assert asked.status == 200

    page = await _audit(client, tokens["admin"])
    newest_first = [(e["action"], e["actor"], e["outcome"]) for e in page["entries"]]
    assert newest_first == [
        ("ask", "viewer", "ok"), ("access.denied", "viewer", "denied"), ("auth.login", "analyst", "failed"),
        ("auth.login", "analyst", "ok"),
    ]
    ask, denial, failure, login = page["entries"]
    assert login["request_id"] == "login-7" and login["client"] == "127.0.0.1" and login["actor_id"] is not None
    assert failure["detail"] == {"reason": "wrong_password"}
    assert denial["target"] == f"GET {AUDIT}" and denial["detail"] == {"permission": "audit:read"}
    assert ask["detail"] == {"question": "who used password=*** on web-01?"}
    assert ask["request_id"] == asked.headers["X-Request-ID"]
    assert "hunter2" not in await (await client.get(AUDIT, headers=bearer(tokens["admin"]))).text()


async def test_filters_pages_and_refusals(client: Any, tokens: dict[str, str]) -> None:
    for _ in range(3):
        assert (await client.get(AUDIT, headers=bearer(tokens["analyst"]))).status == 403
    first = await _audit(client, tokens["admin"], action="access.", actor="ANALYST", limit=2)
    assert [e["action"] for e in first["entries"]] == ["access.denied"] * 2 and first["next"] is not None
    rest = await _audit(client, tokens["admin"], action="access.", limit=2, before=first["next"])
    assert len(rest["entries"]) == 1 and rest["next"] is None
    assert (await _audit(client, tokens["admin"], outcome="ok", action="access.denied"))["entries"] == []
    for params, status, field in [({"outcome": "maybe"}, 422, "outcome"), ({"since": "the day after never"}, 400,
                                  "since"), ({"limit": 0}, 422, "limit"), ({"action": "DROP TABLE"}, 422, "action")]:
        response = await client.get(AUDIT, params=params, headers=bearer(tokens["admin"]))
        body = await response.json()
        assert (response.status, body["error"].get("field")) == (status, field), (params, body)
