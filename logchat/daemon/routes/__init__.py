"""Every module of routes; importing this package registers their endpoints."""

from logchat.daemon import ws  # noqa: F401  (the chat socket)
from logchat.daemon.routes import (  # noqa: F401
    anomalies,
    ask,
    audit,
    auth,
    chat,
    context,
    health,
    jobs,
    logs,
    meta,
    search,
    sources,
    users,
)
