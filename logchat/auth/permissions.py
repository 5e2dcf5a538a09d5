"""Roles and what each may do: one table, read by both front ends and documented in docs/permissions.md.

A test parses the table in docs/permissions.md and compares it with ROLE_PERMISSIONS, so the
documentation and the code cannot drift apart.
"""

from __future__ import annotations

from enum import StrEnum

from logchat.errors import UsageError


class Role(StrEnum):
    VIEWER = "viewer"
    ANALYST = "analyst"
    ADMIN = "admin"


# Every permission and what it allows; the order is the order of the documented table.
PERMISSIONS: dict[str, str] = {
    "logs:read": "see what is in the store: counts, sources, patterns (stat)",
    "chat:use": "ask questions and keep one's own chat sessions",
    "logs:search": "search raw log lines",
    "logs:reload": "trigger ingestion of new lines from the configured sources",
    "analytics:read": "see usage analytics",
    "chat:read_all": "read every user's chat sessions",
    "logs:configure": "add, change and remove sources; set retention",
    "users:manage": "add, change, disable and remove accounts",
    "audit:read": "read the audit trail (sign-ins, failed logins, changes)",
}

_VIEWER = frozenset({"logs:read", "chat:use"})
_ANALYST = _VIEWER | {"logs:search", "logs:reload", "analytics:read"}
_ADMIN = _ANALYST | {"chat:read_all", "logs:configure", "users:manage", "audit:read"}

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.VIEWER: _VIEWER,
    Role.ANALYST: frozenset(_ANALYST),
    Role.ADMIN: frozenset(_ADMIN),
}


def parse_role(name: str) -> Role:
    """'Admin' -> Role.ADMIN; an unknown name is a usage error that lists the choices."""
    try:
        return Role(name.strip().lower())
    except ValueError:
        choices = ", ".join(role.value for role in Role)
        raise UsageError(f"unknown role {name!r}: choose one of {choices}") from None


def has_permission(role: Role | str, permission: str) -> bool:
    if permission not in PERMISSIONS:
        # A typo in a route's permission must fail loudly, not deny (or allow) silently.
        raise ValueError(f"unknown permission {permission!r}")
    return permission in ROLE_PERMISSIONS[Role(role)]


def roles_with(permission: str) -> list[Role]:
    """The roles that hold ``permission``, least privileged first."""
    return [role for role in Role if has_permission(role, permission)]
