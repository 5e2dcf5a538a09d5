"""Signing in over HTTP: login, throttling, refresh rotation and reuse, logout, expiry, own password.

Every test runs against the real application on SQLite and on PostgreSQL; one runs with Redis holding
the revocation and throttle state.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from daemon_helpers import PASSWORD, bearer

from logchat.services.auth import BAD_CREDENTIALS

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"
NEW_PASSWORD = "a completely different passphrase"


class ManualClock:
    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def make_client(settings: Any, store: Any, seed_users: Any) -> AsyncIterator[Callable[..., Any]]:
    """A client on the real app whose settings differ from the defaults (small throttle limits, Redis)."""
    from aiohttp.test_utils import TestClient, TestServer

    from logchat.config import RedisSettings
    from logchat.daemon.app import Services, create_app
    from logchat.services.auth import AccessMode, AuthService

    seed_users(admin="admin", viewer="viewer")
    opened: list[tuple[Any, Any]] = []

    async def make(
        *, auth: dict[str, Any] | None = None, redis: tuple[str, str] | None = None,
        access_mode: AccessMode = AccessMode.ACCOUNTS,
    ) -> Any:
        custom = settings.model_copy(update={"auth": settings.auth.model_copy(update=auth or {})})
        if redis is not None:
            custom = custom.model_copy(update={"redis": RedisSettings(url=redis[0], key_prefix=redis[1])})
        service = AuthService(custom, store)
        services = Services(settings=custom, store=store, auth=service, access_mode=access_mode)
        client = TestClient(TestServer(create_app(custom, services)))
        await client.start_server()
        opened.append((client, service))
        return client

    yield make
    for client, service in opened:
        await client.close()
        service.close()


async def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    return await client.post(LOGIN, json={"username": username, "password": password})


async def signed_in(client: Any, username: str) -> dict[str, Any]:
    response = await login(client, username)
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def error_of(response: Any, status: int) -> dict[str, Any]:
    body = await response.json()
    assert response.status == status, body
    return dict(body["error"])


# --- signing in -----------------------------------------------------------------------------------


async def test_login_returns_a_pair_and_me_names_the_user(client: Any) -> None:
    response = await login(client, "  Analyst ")
    pair = await response.json()
    assert response.status == 200, pair
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in", "refresh_expires_in",
                         "username", "role"}
    assert (pair["username"], pair["role"], pair["token_type"], pair["expires_in"]) == (
        "analyst", "analyst", "Bearer", 900)
    me = await client.get(ME, headers=bearer(pair["access_token"]))
    body = await me.json()
    assert me.status == 200, body
    assert (body["username"], body["role"]) == ("analyst", "analyst")
    assert body["permissions"] == sorted(["logs:read", "chat:use", "logs:search", "logs:reload", "analytics:read"])
    assert body["expires_at"]


async def test_wrong_password_and_unknown_user_get_the_same_answer(client: Any) -> None:
    wrong = await error_of(await login(client, "viewer", "not the password"), 401)
    unknown = await error_of(await login(client, "nobody", PASSWORD), 401)
    assert wrong == unknown == {"code": "invalid_credentials", "message": BAD_CREDENTIALS}


async def test_me_needs_a_token(client: Any) -> None:
    error = await error_of(await client.get(ME), 401)
    assert error["code"] == "token_invalid" and "Authorization: Bearer" in error["message"]


async def test_login_is_throttled_per_user_name_with_retry_after(make_client: Any) -> None:
    client = await make_client(auth={"max_failed_logins": 2, "lockout_seconds": 60})
    for _ in range(2):
        await error_of(await login(client, "viewer", "not the password"), 401)
    locked = await login(client, "viewer")  # even the right password waits out the lock
    error = await error_of(locked, 429)
    assert error["code"] == "too_many_attempts"
    assert 1 <= int(locked.headers["Retry-After"]) <= 60
    # Another account from the same address is not locked by this one's failures.
    await signed_in(client, "admin")


async def test_login_is_throttled_per_client_address(make_client: Any) -> None:
    client = await make_client(auth={"max_failed_logins": 10, "max_failed_logins_per_address": 3})
    for name in ("ghost-1", "ghost-2", "ghost-3"):
        await error_of(await login(client, name), 401)
    # A name that never failed, with the right password: the address itself is locked.
    locked = await login(client, "admin")
    assert (await error_of(locked, 429))["code"] == "too_many_attempts"
    assert int(locked.headers["Retry-After"]) >= 1


async def test_login_body_errors_name_the_field(client: Any) -> None:
    missing = await error_of(await client.post(LOGIN, json={"username": "viewer"}), 422)
    assert (missing["code"], missing["field"]) == ("invalid_field", "password")
    extra = await error_of(await client.post(LOGIN, json={"username": "viewer", "password": "x", "pw": "x"}), 422)
    assert extra["field"] == "pw"
    wrong_type = await error_of(await client.post(LOGIN, json={"username": 7, "password": PASSWORD}), 422)
    assert wrong_type["field"] == "username"
    not_json = await error_of(await client.post(LOGIN, data=b"username=viewer"), 400)
    assert not_json["code"] == "bad_request"


async def test_an_oversized_body_is_413_json(client: Any) -> None:
    from logchat.daemon.app import MAX_BODY_BYTES

    response = await client.post(LOGIN, json={"username": "viewer", "password": "x" * (MAX_BODY_BYTES + 1)})
    assert (await error_of(response, 413))["code"] == "body_too_large"


# --- tokens -----------------------------------------------------------------------------------------


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_sign_in(client: Any) -> None:
    first = await signed_in(client, "viewer")
    response = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    second = await response.json()
    assert response.status == 200, second
    assert second["refresh_token"] != first["refresh_token"] and second["username"] == "viewer"
    assert (await client.get(ME, headers=bearer(second["access_token"]))).status == 200

    # The first refresh token again: somebody copied it. The whole sign-in ends.
    reused = await error_of(await client.post(REFRESH, json={"refresh_token": first["refresh_token"]}), 401)
    assert reused["code"] == "token_revoked" and "already used" in reused["message"]
    assert (await error_of(await client.post(REFRESH, json={"refresh_token": second["refresh_token"]}), 401))[
        "code"] == "token_revoked"
    for token in (first["access_token"], second["access_token"]):
        assert (await error_of(await client.get(ME, headers=bearer(token)), 401))["code"] == "token_revoked"
    # Other sign-ins of the same user are untouched.
    await signed_in(client, "viewer")


async def test_an_access_token_is_not_a_refresh_token(client: Any) -> None:
    pair = await signed_in(client, "viewer")
    error = await error_of(await client.post(REFRESH, json={"refresh_token": pair["access_token"]}), 401)
    assert error["code"] == "token_invalid"
    assert (await error_of(await client.get(ME, headers=bearer(pair["refresh_token"])), 401))["code"] == "token_invalid"


async def test_logout_revokes_the_access_and_the_refresh_token(client: Any) -> None:
    pair = await signed_in(client, "viewer")
    response = await client.post(LOGOUT, headers=bearer(pair["access_token"]),
                                 json={"refresh_token": pair["refresh_token"]})
    assert response.status == 204 and await response.read() == b""
    assert (await error_of(await client.get(ME, headers=bearer(pair["access_token"])), 401))["code"] == "token_revoked"
    refresh = await error_of(await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]}), 401)
    assert refresh["code"] == "token_revoked"


async def test_logout_with_the_access_token_alone_ends_its_sign_in(client: Any) -> None:
    pair = await signed_in(client, "viewer")
    assert (await client.post(LOGOUT, headers=bearer(pair["access_token"]))).status == 204
    refresh = await error_of(await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]}), 401)
    assert refresh["code"] == "token_revoked"


async def test_logout_needs_a_token(client: Any) -> None:
    assert (await error_of(await client.post(LOGOUT), 401))["code"] == "token_invalid"
    assert (await error_of(await client.post(LOGOUT, headers=bearer("not.a.token")), 401))["code"] == "token_invalid"


async def test_an_expired_token_is_refused_but_still_signs_out(client: Any, services: Any, settings: Any) -> None:
    from logchat.services.auth import AuthService

    # The same signing key, a clock an hour back: the access token expired 45 minutes ago.
    past = AuthService(settings, services.store, clock=ManualClock(time.time() - 3600))
    try:
        pair = past.issue(services.auth.accounts.get_user("viewer")).to_dict()
    finally:
        past.close()
    assert (await error_of(await client.get(ME, headers=bearer(pair["access_token"])), 401))["code"] == "token_expired"
    response = await client.post(LOGOUT, headers=bearer(pair["access_token"]),
                                 json={"refresh_token": pair["refresh_token"]})
    assert response.status == 204
    # The refresh token (still within its lifetime) died with the sign-in.
    refresh = await error_of(await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]}), 401)
    assert refresh["code"] == "token_revoked"


# --- one's own password -----------------------------------------------------------------------------


async def test_changing_ones_password_ends_every_other_sign_in_and_returns_a_new_pair(client: Any) -> None:
    here = await signed_in(client, "viewer")
    elsewhere = await signed_in(client, "viewer")
    url = "/api/v1/auth/password"
    headers = bearer(here["access_token"])

    wrong = await error_of(await client.post(url, headers=headers, json={
        "current_password": "not the password", "new_password": NEW_PASSWORD}), 401)
    assert wrong == {"code": "invalid_credentials", "message": "the current password is wrong",
                     "field": "current_password"}
    weak = await error_of(await client.post(url, headers=headers, json={
        "current_password": PASSWORD, "new_password": "tiny"}), 400)
    assert (weak["code"], weak["field"]) == ("invalid_password", "new_password")
    assert "too short" in weak["message"] and "tiny" not in weak["message"]

    response = await client.post(url, headers=headers, json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD})
    fresh = await response.json()
    assert response.status == 200, fresh
    assert PASSWORD not in await response.text() and NEW_PASSWORD not in await response.text()
    assert (await client.get(ME, headers=bearer(fresh["access_token"]))).status == 200
    for old in (here, elsewhere):
        assert (await error_of(await client.get(ME, headers=bearer(old["access_token"])), 401))[
            "code"] == "token_revoked"
        assert (await client.post(REFRESH, json={"refresh_token": old["refresh_token"]})).status == 401
    await error_of(await login(client, "viewer", PASSWORD), 401)
    assert (await login(client, "viewer", NEW_PASSWORD)).status == 200


async def test_an_open_demo_visitor_is_anonymous_and_has_no_password(make_client: Any) -> None:
    from logchat.services.auth import AccessMode

    client = await make_client(access_mode=AccessMode.OPEN_DEMO)
    me = await (await client.get(ME)).json()
    assert (me["username"], me["role"], me["expires_at"]) == ("anonymous", "viewer", None)
    change = await client.post("/api/v1/auth/password", json={"current_password": PASSWORD,
                                                               "new_password": NEW_PASSWORD})
    assert (await error_of(change, 401))["code"] == "token_invalid"


# --- the account behind the token ---------------------------------------------------------------


async def test_a_disabled_account_is_refused_at_its_next_request(client: Any, tokens: dict[str, str]) -> None:
    assert (await client.get(ME, headers=bearer(tokens["viewer"]))).status == 200
    disabled = await client.patch("/api/v1/users/viewer", headers=bearer(tokens["admin"]), json={"enabled": False})
    assert disabled.status == 200, await disabled.text()
    # The token is dead (401, like an expired one); signing in again says why (403).
    error = await error_of(await client.get(ME, headers=bearer(tokens["viewer"])), 401)
    assert error["code"] == "account_disabled"
    assert (await error_of(await login(client, "viewer"), 403))["code"] == "account_disabled"


async def test_a_role_change_applies_at_the_next_request(client: Any, tokens: dict[str, str]) -> None:
    headers = bearer(tokens["analyst"])
    assert (await error_of(await client.get("/api/v1/users", headers=headers), 403))["code"] == "forbidden"
    promoted = await client.patch("/api/v1/users/analyst", headers=bearer(tokens["admin"]), json={"role": "admin"})
    assert promoted.status == 200, await promoted.text()
    assert (await client.get("/api/v1/users", headers=headers)).status == 200
    assert (await (await client.get(ME, headers=headers)).json())["role"] == "admin"


# --- shared state in Redis ------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_with_redis_sign_out_and_throttling_hold(
    make_client: Any, redis_url: str, redis_prefix: str
) -> None:
    import redis

    client = await make_client(auth={"max_failed_logins": 1}, redis=(redis_url, redis_prefix))
    # A second daemon on the same store and Redis, as behind a load balancer.
    other = await make_client(auth={"max_failed_logins": 1}, redis=(redis_url, redis_prefix))
    pair = await signed_in(client, "admin")
    assert (await client.post(LOGOUT, headers=bearer(pair["access_token"]))).status == 204
    assert (await error_of(await other.get(ME, headers=bearer(pair["access_token"])), 401))["code"] == "token_revoked"
    assert redis.Redis.from_url(redis_url).keys(f"{redis_prefix}*"), "the revocation is not in Redis"
    await error_of(await login(client, "viewer", "not the password"), 401)
    assert (await error_of(await login(other, "viewer"), 429))["code"] == "too_many_attempts"
