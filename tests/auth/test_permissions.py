"""The role/permission table in docs/permissions.md is the reference; the code must agree with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from logchat.auth.permissions import PERMISSIONS, ROLE_PERMISSIONS, Role, has_permission, parse_role, roles_with
from logchat.errors import UsageError

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def documented_table() -> tuple[list[str], dict[str, dict[str, bool]], dict[str, str]]:
    """(role columns, permission -> role -> granted, permission -> description) from the doc."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"\|\s*Permission\s*\|", line))
    header = [cell.strip() for cell in lines[start].strip().strip("|").split("|")]
    roles = header[1:-1]
    grants: dict[str, dict[str, bool]] = {}
    descriptions: dict[str, str] = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        permission = cells[0].strip("`")
        values = cells[1:-1]
        assert all(value in {"yes", "no"} for value in values), line
        grants[permission] = {role: value == "yes" for role, value in zip(roles, values, strict=True)}
        descriptions[permission] = cells[-1].replace("`", "")
    return roles, grants, descriptions


def test_the_documented_roles_are_the_roles_in_code() -> None:
    roles, _, _ = documented_table()
    assert roles == [role.value for role in Role]


def test_the_documented_permissions_are_the_permissions_in_code_in_the_same_order() -> None:
    _, grants, descriptions = documented_table()
    assert list(grants) == list(PERMISSIONS)
    assert descriptions == PERMISSIONS


@pytest.mark.parametrize("role", list(Role))
def test_every_permission_of_every_role_matches_the_documented_table(role: Role) -> None:
    _, grants, _ = documented_table()
    for permission, by_role in grants.items():
        assert has_permission(role, permission) is by_role[role.value], (role, permission)
    assert ROLE_PERMISSIONS[role] == {p for p, by_role in grants.items() if by_role[role.value]}


def test_each_role_holds_everything_of_the_role_below() -> None:
    assert ROLE_PERMISSIONS[Role.VIEWER] < ROLE_PERMISSIONS[Role.ANALYST] < ROLE_PERMISSIONS[Role.ADMIN]
    assert ROLE_PERMISSIONS[Role.ADMIN] == set(PERMISSIONS)


def test_the_spec_examples() -> None:
    assert has_permission("viewer", "logs:read") and has_permission("viewer", "chat:use")
    assert not has_permission("viewer", "logs:reload")
    assert has_permission("analyst", "logs:reload") and has_permission("analyst", "analytics:read")
    assert not has_permission("analyst", "users:manage")
    assert has_permission("admin", "users:manage") and has_permission("admin", "audit:read")
    assert roles_with("logs:configure") == [Role.ADMIN]


def test_an_unknown_permission_is_a_programming_error_not_a_denial() -> None:
    with pytest.raises(ValueError, match="unknown permission 'logs:raed'"):
        has_permission(Role.ADMIN, "logs:raed")


@pytest.mark.parametrize(
    ("text", "role"), [("admin", Role.ADMIN), (" Analyst ", Role.ANALYST), ("VIEWER", Role.VIEWER)]
)
def test_parse_role_accepts_any_case(text: str, role: Role) -> None:
    assert parse_role(text) is role


def test_parse_role_names_the_choices() -> None:
    with pytest.raises(UsageError, match=r"unknown role 'root': choose one of viewer, analyst, admin") as info:
        parse_role("root")
    assert info.value.exit_code == 2
