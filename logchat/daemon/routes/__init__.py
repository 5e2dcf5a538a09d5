"""Every module of routes; importing this package registers their endpoints."""

from logchat.daemon.routes import (  # noqa: F401
    health,
    jobs,
    meta,
    search,
)
