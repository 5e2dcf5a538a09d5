"""Every module of routes; importing this package registers their endpoints."""

from logchat.daemon.routes import health, meta  # noqa: F401
