"""Every module of routes; importing this package registers their endpoints."""

from logchat.daemon import ws  # noqa: F401  (the chat socket)
from logchat.daemon.routes import ask, audit, auth, chat, health, jobs, logs, meta, search, sources, users  # noqa: F401  # noqa: F401
