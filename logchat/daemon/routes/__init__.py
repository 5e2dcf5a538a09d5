"""Every module of routes; importing this package registers their endpoints."""

from logchat.daemon.routes import auth, health, users  # noqa: F401
