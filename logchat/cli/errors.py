"""The one place where domain errors become a line on stderr and an exit code.

Every command is wrapped when it is registered (see app._register), so a command run by the
console script and one run through a test runner behave the same.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import typer

from logchat.errors import LogchatError

_F = TypeVar("_F", bound=Callable[..., Any])


def exit_with_error(exc: LogchatError) -> NoReturn:
    """Print a domain error as one line (and its hint) on stderr and exit with its exit code."""
    typer.echo(f"logchat: error: {exc}", err=True)
    if exc.hint:
        typer.echo(f"  hint: {exc.hint}", err=True)
    raise typer.Exit(exc.exit_code)


def domain_errors(command: _F) -> _F:
    """Translate LogchatError raised by a command, unless --debug asks for the traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = next((a for a in (*args, *kwargs.values()) if hasattr(a, "find_root")), None)
        app = ctx.find_root().obj if ctx is not None else None
        try:
            return command(*args, **kwargs)
        except LogchatError as exc:
            if getattr(app, "debug", False):
                raise
            exit_with_error(exc)
        except Exception as exc:
            # The last line of defence for a damaged or full store met outside a store session
            # (a query on a raw connection, a migration): one line naming the file, not a traceback.
            problem = store_problem(exc, app)
            if problem is None or getattr(app, "debug", False):
                raise
            exit_with_error(problem)

    return wrapper  # type: ignore[return-value]


def store_problem(exc: BaseException, app: Any) -> LogchatError | None:
    """A LogchatError for a database failure that is the store's (damage, full disk, another process
    holding a lock for too long), else None."""
    import sqlite3

    from sqlalchemy.exc import DBAPIError, OperationalError

    settings = getattr(app, "_settings", None)
    if settings is None or not isinstance(exc, DBAPIError | sqlite3.Error):
        return None
    from logchat.storage.transactions import busy_error, is_lock_timeout

    if isinstance(exc, OperationalError) and is_lock_timeout(exc):
        return busy_error("use the store")
    from logchat.storage.db import translate_database_error

    return translate_database_error(exc, settings.database_url)


def wrap_commands(app: typer.Typer) -> None:
    """Apply domain_errors to every command of ``app`` and of its sub-apps."""
    for command in app.registered_commands:
        if command.callback is not None and not getattr(command.callback, "__wrapped__", None):
            command.callback = domain_errors(command.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            wrap_commands(group.typer_instance)
