"""Every route against every kind of caller: no token, each role, and dead tokens (expired, revoked,
a disabled account's). The expected answer comes from the permission table in logchat/auth and the
route table in docs/permissions.md, which must agree with the routes the daemon serves."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from daemon_helpers import ROLES, bearer

DOCS = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
_DOC_ROW = re.compile(r"^\|\s*`(GET|POST|PUT|PATCH|DELETE) ([^`]+)`\s*\|\s*([^|]+?)\s*\|")
_PARAM = re.compile(r"{\w+}")


def documented_routes() -> dict[tuple[str, str], str]:
    """(method, path) -> who may call it, from the "Routes" table of docs/permissions.md."""
    routes = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        row = _DOC_ROW.match(line)
        if row:
            routes[(row.group(1), row.group(2))] = row.group(3).strip("` ")
    return routes


def test_the_documented_route_table_is_the_served_one() -> None:
    import logchat.daemon.routes  # noqa: F401  (registers every endpoint)
    from logchat.daemon.endpoints import ENDPOINTS

    served = {(spec.method, spec.path): spec.access for spec in ENDPOINTS}
    assert documented_routes() == served


def _dead_tokens(services: Any, seed_users: Any) -> dict[str, str]:
    from logchat.services.auth import AuthService

    users = seed_users(departed="admin", expired="admin", revoked="admin")
    past = AuthService(services.settings, services.store, clock=lambda: time.time() - 24 * 3600)
    expired = past.issue(users["expired"]).access_token
    revoked = services.auth.issue(users["revoked"]).access_token
    services.auth.revoke(access_token=revoked)
    departed = services.auth.issue(users["departed"]).access_token
    services.auth.accounts.disable_user("departed")
    return {"expired": expired, "revoked": revoked, "disabled": departed}


async def test_every_route_answers_each_caller_as_the_permission_table_says(
    client: Any, services: Any, seed_users: Any
) -> None:
    from logchat.auth.permissions import has_permission
    from logchat.daemon.endpoints import ENDPOINTS, PUBLIC, SIGNED_IN, TOKEN_HOLDER
    from logchat.services.accounts import UserInfo
    from logchat.storage import auth_repo

    dead = _dead_tokens(services, seed_users)
    with services.store.session() as session:
        people = {role: UserInfo.from_row(auth_repo.get_user_by_name(session, role)) for role in ROLES}
    wrong: list[str] = []
    # Signing out uses up the tokens it is given: those routes go last.
    for spec in sorted(ENDPOINTS, key=lambda spec: spec.access == TOKEN_HOLDER):
        path = _PARAM.sub("nobody", spec.path)
        callers: dict[str, str | None] = {"no token": None, **dead}
        for role in ROLES:
            # A fresh token per call: a route may use it up (logout).
            callers[role] = services.auth.issue(people[role]).access_token
        for who, token in callers.items():
            headers = bearer(token) if token else {}
            kwargs: dict[str, Any] = {"headers": headers}
            if spec.body is not None:
                kwargs["json"] = {}  # past the access check, an empty body is a 422, never a change
            response = await client.request(spec.method, path, **kwargs)
            status = response.status
            if spec.access == PUBLIC or (spec.access == TOKEN_HOLDER and token is not None):
                expected_ok = True
            elif who in ROLES:
                expected_ok = spec.access == SIGNED_IN or has_permission(who, spec.access)
            else:
                expected_ok = False
            if expected_ok and status in (401, 403):
                wrong.append(f"{spec.method} {spec.path} as {who}: {status}, expected access")
            elif not expected_ok:
                expected = 403 if who in ROLES else 401
                if status != expected:
                    wrong.append(f"{spec.method} {spec.path} as {who}: {status}, expected {expected}")
            body = await response.read()
            if status >= 400 and response.content_type == "application/json":
                assert b'"error"' in body, (spec.path, who, body)
            assert status < 500, (spec.method, spec.path, who, body)
    assert not wrong, "\n".join(wrong)
