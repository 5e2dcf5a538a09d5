"""Every module of routes; importing this package registers their endpoints."""

from logchat.daemon import metrics, ws  # noqa: F401  (/metrics, the chat socket)
from logchat.daemon.routes import (  # noqa: F401
    analytics,
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
