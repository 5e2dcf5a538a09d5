"""`logchat users`: accounts and roles.

Anyone who can open the store can manage its accounts from here, which is how the first admin is
created on a fresh store. Imports stay light: hashing and the database load inside the commands.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from logchat.cli.context import AppContext, print_json
from logchat.errors import UsageError

users_app = typer.Typer(
    help="Accounts and roles (admin, analyst, viewer): add, list, set-role, passwd, disable, enable, remove.",
    no_args_is_help=True,
)

ROLE_HELP = "admin, analyst or viewer (see docs/permissions.md)."
PASSWORD_STDIN_HELP = "Read the password from the first line of standard input (for scripts)."  # nosec B105


def _read_password(username: str, *, from_stdin: bool, new: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UsageError("--password-stdin: nothing on standard input")
        return line.rstrip("\r\n")
    label = f"New password for {username}" if new else f"Password for {username}"
    return str(typer.prompt(label, hide_input=True, confirmation_prompt=True, err=True))


def _accounts(app: AppContext) -> Any:
    from logchat.services.accounts import AccountService

    return AccountService(app.store, app.settings)


@users_app.command("add")
def add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="User name: letters, digits, '.', '_', '-', '@'; case-insensitive.")],
    role: Annotated[str, typer.Option("--role", "-r", help=ROLE_HELP)] = "viewer",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help=PASSWORD_STDIN_HELP)] = False,
) -> None:
    """Add an account; asks for the password twice (or reads it with --password-stdin).

    Example: logchat users add ops-admin --role admin

    Example: printf '%s\\n' "$PASSWORD" | logchat users add ci-bot --role analyst --password-stdin
    """
    from logchat.auth.permissions import parse_role
    from logchat.errors import Conflict, NotFound
    from logchat.services.accounts import normalize_username

    app: AppContext = ctx.obj
    accounts = _accounts(app)
    name = normalize_username(username)
    parsed_role = parse_role(role)
    # Fail before asking for a password that could not be used anyway.
    try:
        accounts.get_user(name)
    except NotFound:
        pass
    else:
        raise Conflict(f"user {name!r} already exists", hint=f"change its password with: logchat users passwd {name}")
    password = _read_password(name, from_stdin=password_stdin, new=False)
    user = accounts.add_user(name, password, parsed_role)
    typer.echo(f"added user {user.username} ({user.role.value})")
    if not accounts.has_enabled_admin():
        typer.echo(
            "note: there is no enabled admin yet; nobody can manage accounts by signing in until one exists "
            "(logchat users add NAME --role admin)",
            err=True,
        )


@users_app.command("list")
def list_users(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List accounts with their role, status and last sign-in.

    Example: logchat users list --json
    """
    app: AppContext = ctx.obj
    users = _accounts(app).list_users()
    if json_output:
        print_json([user.to_dict() for user in users])
        return
    if not users:
        typer.echo("no users; add the first admin with: logchat users add NAME --role admin")
        return
    rows = [("USER", "ROLE", "STATUS", "LAST SIGN-IN (UTC)", "CREATED (UTC)")]
    for user in users:
        rows.append((
            user.username,
            user.role.value,
            "enabled" if user.enabled else "disabled",
            _fmt_time(user.last_login_at),
            _fmt_time(user.created_at),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _fmt_time(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


@users_app.command("set-role")
def set_role(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Argument(help=ROLE_HELP)],
) -> None:
    """Change an account's role; it applies to the user's next request.

    Example: logchat users set-role jdoe analyst
    """
    app: AppContext = ctx.obj
    user = _accounts(app).set_role(username, role)
    typer.echo(f"{user.username} is now {user.role.value}")


@users_app.command("passwd")
def passwd(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="User name.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help=PASSWORD_STDIN_HELP)] = False,
) -> None:
    """Set a new password (asked twice); the user is signed out everywhere.

    Example: logchat users passwd ops-admin
    """
    app: AppContext = ctx.obj
    accounts = _accounts(app)
    user = accounts.get_user(username)
    password = _read_password(user.username, from_stdin=password_stdin, new=True)
    accounts.change_password(user.username, password)
    typer.echo(f"password changed for {user.username}; existing sign-ins were ended")


@users_app.command("disable")
def disable(ctx: typer.Context, username: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Disable an account: sign-in refused and its tokens stop working on the next request.

    Example: logchat users disable jdoe
    """
    app: AppContext = ctx.obj
    user = _accounts(app).disable_user(username)
    typer.echo(f"disabled {user.username}")


@users_app.command("enable")
def enable(ctx: typer.Context, username: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Enable a disabled account again (it signs in anew; old tokens stay invalid).

    Example: logchat users enable jdoe
    """
    app: AppContext = ctx.obj
    user = _accounts(app).enable_user(username)
    typer.echo(f"enabled {user.username}")


@users_app.command("remove")
def remove(ctx: typer.Context, username: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Remove an account. The last enabled admin cannot be removed, disabled or demoted.

    Example: logchat users remove jdoe
    """
    app: AppContext = ctx.obj
    accounts = _accounts(app)
    user = accounts.get_user(username)
    accounts.remove_user(user.username)
    typer.echo(f"removed {user.username}")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
