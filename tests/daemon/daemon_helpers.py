"""Names the daemon tests share (a module of its own: `conftest` is ambiguous across test folders)."""

from __future__ import annotations

PASSWORD = "correct horse battery staple"
ROLES = ("admin", "analyst", "viewer")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
