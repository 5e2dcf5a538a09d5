"""Account administration over HTTP: the rules of `logchat users` (names normalised, the last enabled
admin kept, the password policy) behind the ``users:manage`` permission, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from daemon_helpers import PASSWORD, bearer

USERS = "/api/v1/users"
NEW_PASSWORD = "a completely different passphrase"
USER_FIELDS = {"username", "role", "enabled", "created_at", "updated_at", "password_changed_at", "last_login_at"}


async def error_of(response: Any, status: int) -> dict[str, Any]:
    body = await response.json()
    assert response.status == status, body
    return dict(body["error"])


async def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    return await client.post("/api/v1/auth/login", json={"username": username, "password": password})


async def test_only_admins_manage_users(client: Any, tokens: dict[str, str]) -> None:
    calls = [("GET", USERS, None), ("POST", USERS, {"username": "x1", "password": NEW_PASSWORD}),
             ("PATCH", f"{USERS}/viewer", {"role": "admin"}), ("POST", f"{USERS}/viewer/password",
                                                                 {"password": NEW_PASSWORD}),
             ("DELETE", f"{USERS}/viewer", None)]
    for method, path, body in calls:
        assert (await error_of(await client.request(method, path, json=body), 401))["code"] == "token_invalid"
        for role in ("viewer", "analyst"):
            error = await error_of(await client.request(method, path, json=body, headers=bearer(tokens[role])), 403)
            assert error["code"] == "forbidden" and "users:manage" in error["message"], (method, path)
    # Nothing was changed by the refused calls.
    listed = await (await client.get(USERS, headers=bearer(tokens["admin"]))).json()
    assert [(u["username"], u["role"]) for u in listed["users"]] == [
        ("admin", "admin"), ("analyst", "analyst"), ("viewer", "viewer")]


async def test_list_shows_accounts_without_secrets(client: Any, tokens: dict[str, str]) -> None:
    response = await client.get(USERS, headers=bearer(tokens["admin"]))
    body = await response.json()
    assert response.status == 200, body
    assert {user["username"] for user in body["users"]} == {"admin", "analyst", "viewer"}
    assert all(set(user) == USER_FIELDS and user["enabled"] for user in body["users"])
    text = await response.text()
    assert "argon2" not in text and "password_hash" not in text


async def test_add_a_user_with_a_normalised_name_and_role(client: Any, tokens: dict[str, str]) -> None:
    admin = bearer(tokens["admin"])
    response = await client.post(USERS, headers=admin,
                                 json={"username": " JDoe ", "password": NEW_PASSWORD, "role": "Analyst"})
    body = await response.json()
    assert response.status == 201, body
    assert set(body) == USER_FIELDS
    assert (body["username"], body["role"], body["enabled"], body["last_login_at"]) == ("jdoe", "analyst", True, None)
    assert NEW_PASSWORD not in await response.text()
    signed_in = await (await login(client, "jdoe", NEW_PASSWORD)).json()
    assert signed_in["role"] == "analyst"
    # A role left out is viewer, as on the command line.
    viewer = await client.post(USERS, headers=admin, json={"username": "kim", "password": NEW_PASSWORD})
    assert (await viewer.json())["role"] == "viewer"

    again = await error_of(await client.post(USERS, headers=admin,
                                             json={"username": "JDOE", "password": NEW_PASSWORD}), 409)
    assert again["code"] == "conflict" and "'jdoe' already exists" in again["message"]


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    ({"username": "bad name!", "password": NEW_PASSWORD}, 422, "invalid_field", "username"),
    ({"username": "", "password": NEW_PASSWORD}, 422, "invalid_field", "username"),
    ({"username": "jdoe", "password": "tiny"}, 400, "invalid_password", "password"),
    ({"username": "jdoe-the-admin", "password": "JDoe-The-Admin"}, 400, "invalid_password", "password"),
    ({"username": "jdoe", "password": " " * 12, "role": "viewer"}, 400, "invalid_password", "password"),
    ({"username": "jdoe", "password": NEW_PASSWORD, "role": "root"}, 422, "invalid_field", "role"),
    ({"username": "jdoe"}, 422, "invalid_field", "password"),
    ({"username": "jdoe", "password": NEW_PASSWORD, "admin": True}, 422, "invalid_field", "admin"),
])
async def test_a_bad_new_user_names_the_field(
    client: Any, tokens: dict[str, str], body: dict[str, Any], status: int, code: str, field: str
) -> None:
    error = await error_of(await client.post(USERS, headers=bearer(tokens["admin"]), json=body), status)
    assert (error["code"], error["field"]) == (code, field)
    if body.get("password", "").strip():
        assert body["password"] not in error["message"]
    listed = await (await client.get(USERS, headers=bearer(tokens["admin"]))).json()
    assert len(listed["users"]) == 3


async def test_change_role_and_enabled(client: Any, tokens: dict[str, str]) -> None:
    admin = bearer(tokens["admin"])
    response = await client.patch(f"{USERS}/VIEWER", headers=admin, json={"role": "analyst"})
    body = await response.json()
    assert response.status == 200, body
    assert (body["username"], body["role"], body["enabled"]) == ("viewer", "analyst", True)

    disabled = await (await client.patch(f"{USERS}/viewer", headers=admin, json={"enabled": False})).json()
    assert disabled["enabled"] is False
    assert (await error_of(await client.get("/api/v1/auth/me", headers=bearer(tokens["viewer"])), 401))[
        "code"] == "account_disabled"
    enabled = await (await client.patch(f"{USERS}/viewer", headers=admin, json={"enabled": True})).json()
    assert enabled["enabled"] is True
    # Tokens from before the account was disabled stay dead; signing in again works.
    assert (await error_of(await client.get("/api/v1/auth/me", headers=bearer(tokens["viewer"])), 401))[
        "code"] == "token_revoked"
    assert (await login(client, "viewer")).status == 200

    both = await (await client.patch(f"{USERS}/analyst", headers=admin,
                                     json={"role": "viewer", "enabled": False})).json()
    assert (both["role"], both["enabled"]) == ("viewer", False)


@pytest.mark.parametrize(("body", "field"), [({}, None), ({"role": "root"}, "role"), ({"enabled": "maybe"}, "enabled"),
                                             ({"name": "x"}, "name")])
async def test_a_bad_change_names_the_field(
    client: Any, tokens: dict[str, str], body: dict[str, Any], field: str | None
) -> None:
    error = await error_of(await client.patch(f"{USERS}/viewer", headers=bearer(tokens["admin"]), json=body), 422)
    assert error["code"] == "invalid_field" and error.get("field") == field


async def test_unknown_users_are_404(client: Any, tokens: dict[str, str]) -> None:
    admin = bearer(tokens["admin"])
    for method, path, body in [("PATCH", f"{USERS}/ghost", {"role": "viewer"}),
                               ("POST", f"{USERS}/ghost/password", {"password": NEW_PASSWORD}),
                               ("DELETE", f"{USERS}/ghost", None),
                               ("DELETE", f"{USERS}/no%20such%00name", None)]:
        error = await error_of(await client.request(method, path, json=body, headers=admin), 404)
        assert error["code"] == "not_found" and "no such user" in error["message"], (method, path)


async def test_the_last_enabled_admin_is_kept(client: Any, tokens: dict[str, str]) -> None:
    admin = bearer(tokens["admin"])
    for method, path, body in [("PATCH", f"{USERS}/admin", {"role": "analyst"}),
                               ("PATCH", f"{USERS}/admin", {"enabled": False}),
                               ("PATCH", f"{USERS}/admin", {"role": "viewer", "enabled": False}),
                               ("DELETE", f"{USERS}/admin", None)]:
        error = await error_of(await client.request(method, path, json=body, headers=admin), 409)
        assert error["code"] == "conflict" and "last enabled admin" in error["message"], (method, body)
    me = await (await client.get("/api/v1/auth/me", headers=admin)).json()
    assert me["role"] == "admin"
    # Changes that keep an admin are fine, also in one request (promote and keep enabled).
    assert (await client.patch(f"{USERS}/admin", headers=admin, json={"role": "admin", "enabled": True})).status == 200

    # With a second admin the first may go.
    promoted = await client.patch(f"{USERS}/analyst", headers=admin, json={"role": "admin"})
    assert promoted.status == 200
    removed = await client.delete(f"{USERS}/admin", headers=bearer(tokens["analyst"]))
    assert removed.status == 204 and await removed.read() == b""
    assert (await error_of(await client.get(USERS, headers=admin), 401))["code"] == "token_invalid"


async def test_an_admin_resets_a_password(client: Any, tokens: dict[str, str]) -> None:
    admin = bearer(tokens["admin"])
    weak = await error_of(await client.post(f"{USERS}/viewer/password", headers=admin, json={"password": "tiny"}), 400)
    assert (weak["code"], weak["field"]) == ("invalid_password", "password")
    missing = await error_of(await client.post(f"{USERS}/viewer/password", headers=admin, json={}), 422)
    assert missing["field"] == "password"

    response = await client.post(f"{USERS}/Viewer/password", headers=admin, json={"password": NEW_PASSWORD})
    body = await response.json()
    assert response.status == 200, body
    assert body["username"] == "viewer" and NEW_PASSWORD not in await response.text()
    assert (await error_of(await client.get("/api/v1/auth/me", headers=bearer(tokens["viewer"])), 401))[
        "code"] == "token_revoked"
    assert (await login(client, "viewer", PASSWORD)).status == 401
    assert (await login(client, "viewer", NEW_PASSWORD)).status == 200


async def test_a_removed_users_token_stops_working(client: Any, tokens: dict[str, str]) -> None:
    admin = bearer(tokens["admin"])
    assert (await client.delete(f"{USERS}/viewer", headers=admin)).status == 204
    assert (await error_of(await client.get("/api/v1/auth/me", headers=bearer(tokens["viewer"])), 401))[
        "code"] == "token_invalid"
    assert (await error_of(await client.delete(f"{USERS}/viewer", headers=admin), 404))["code"] == "not_found"


async def test_no_password_reaches_a_response_or_a_log_line(
    client: Any, tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    admin = bearer(tokens["admin"])
    texts = []
    with caplog.at_level(logging.DEBUG):
        for response in [
            await client.post(USERS, headers=admin, json={"username": "jdoe", "password": NEW_PASSWORD}),
            await client.post(USERS, headers=admin, json={"username": "kim", "password": "tiny-secret"}),
            await client.post(f"{USERS}/jdoe/password", headers=admin, json={"password": NEW_PASSWORD + "!"}),
            await login(client, "jdoe", "wrong-secret-password"),
            await login(client, "jdoe", NEW_PASSWORD + "!"),
            await client.post("/api/v1/auth/password", headers=bearer(tokens["viewer"]),
                              json={"current_password": PASSWORD, "new_password": "tiny-secret"}),
        ]:
            texts.append(await response.text())
    assert "POST /api/v1/users" in caplog.text  # the access log did record the requests
    for secret in (NEW_PASSWORD, "tiny-secret", "wrong-secret-password", PASSWORD):
        assert secret not in caplog.text
        assert not any(secret in text for text in texts), secret
