"""Who is acting, for the audit trail: the account behind a request, or the person at the shell.

The daemon binds the signed-in account and the client's address for each request (and each chat
question); a command run on the store directly acts as the local OS user (`os:<name>`), since
whoever can open the store may change it. The request id comes from the log context (logs.py).
"""

from __future__ import annotations

import contextvars
import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    name: str
    account_id: int | None = None
    client: str | None = None


def local_user() -> Actor:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container running as an arbitrary uid)
        import os

        name = f"uid-{os.getuid()}"
    return Actor(f"os:{name}")


_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("logchat_actor", default=None)


def current_actor() -> Actor:
    return _actor.get() or local_user()


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def act_as(actor: Actor) -> None:
    """For the rest of the current context (a request's task, once its token is checked)."""
    _actor.set(actor)
