"""`logchat sessions list|show|delete`: conversations kept by `ask --session`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from logchat.cli.context import AppContext, print_json

sessions_app = typer.Typer(
    help="Conversations kept by `logchat ask --session NAME`: list, show, delete.", no_args_is_help=True
)


def _time(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


@sessions_app.command("list")
def list_command(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List sessions, most recently used first.

    Example: logchat sessions list
    """
    from logchat.services.sessions import list_sessions

    app: AppContext = ctx.obj
    sessions = list_sessions(app.store)
    if json_output:
        print_json(sessions)
        return
    if not sessions:
        typer.echo("no sessions yet; start one with: logchat ask --session NAME \"...\"")
        return
    for item in sessions:
        typer.echo(f"{item['name']}\t{item['turns']} turn(s)\tlast used {_time(item['updated_at'])} UTC")


@sessions_app.command("show")
def show_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Session name.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show every question and answer of a session.

    Example: logchat sessions show incident-42
    """
    from logchat.services.sessions import show_session

    app: AppContext = ctx.obj
    session = show_session(app.store, name)
    if json_output:
        print_json(session)
        return
    typer.echo(f"session {session['name']} (started {_time(session['created_at'])} UTC)")
    for turn in session["turns"]:
        typer.echo(f"\n[{turn['position']}] Q: {turn['question']}")
        typer.echo(f"    ({turn['mode']}, {turn['matched']:,} matching events, {_time(turn['created_at'])} UTC)")
        for line in turn["answer"].splitlines():
            typer.echo(f"    {line}")


@sessions_app.command("delete")
def delete_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Session name.")],
) -> None:
    """Delete a session and all its turns.

    Example: logchat sessions delete incident-42
    """
    from logchat.services.sessions import delete_session

    app: AppContext = ctx.obj
    delete_session(app.store, name)
    if not app.quiet:
        typer.echo(f"deleted session {name}")


def register(app: typer.Typer) -> None:
    app.add_typer(sessions_app, name="sessions")
