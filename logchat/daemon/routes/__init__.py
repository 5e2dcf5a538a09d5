"""Every module of routes; importing this package registers their endpoints."""

from logchat.daemon.routes import (
    ask,  # noqa: F401
    health,  # noqa: F401
    logs,  # noqa: F401
)
