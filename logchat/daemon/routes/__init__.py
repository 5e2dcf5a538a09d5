"""Every module of routes; importing this package registers their endpoints."""

from logchat.daemon import metrics, ws  # noqa: F401  (/metrics, the chat socket)
from logchat.daemon.routes import ask, auth, chat, health, jobs, logs, meta, search, users  # noqa: F401
