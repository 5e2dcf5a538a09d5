"""`logchat sources list|add|set|remove`: the sources `logchat reload` reads beside the config file's `[[sources]]`.

The same rules as the daemon's /api/v1/logs/configured-sources (services/configured_sources.py). Whoever can
open the store can change them, as with `logchat users`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from logchat.cli.context import AppContext, print_json

sources_app = typer.Typer(
    help="Sources kept in the store, read by `reload` after the config file's [[sources]]: list, add, set, remove.",
    no_args_is_help=True,
)

NAME_HELP = "Source name: 1-64 letters, digits, '.', '_' or '-'."
PATH_HELP = "Absolute path, glob (quote it) or directory."
FORMAT_HELP = "Log format: auto (detected per file) or a name as `logchat index --format` takes it."


def _actor() -> str:
    """Who made a change from the command line: the system account, as the audit trail names it."""
    from logchat.observability.audit import local_user

    return local_user().name


def _time(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


@sources_app.command("list")
def list_command(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List the sources reload reads: the config file's first (origin config), then the store's.

    Example: logchat sources list --json
    """
    from logchat.services.configured_sources import list_sources

    app: AppContext = ctx.obj
    entries = list_sources(app.store, app.settings)
    if json_output:
        print_json([entry.to_dict() for entry in entries])
        return
    if not entries:
        typer.echo("no sources; add one with: logchat sources add NAME PATH (or [[sources]] in logchat.toml)")
        return
    rows = [("NAME", "ORIGIN", "STATUS", "FORMAT", "PATH", "UPDATED (UTC)", "BY")]
    for entry in entries:
        rows.append((entry.name or "-", entry.origin, "enabled" if entry.enabled else "disabled", entry.format,
                     entry.path, _time(entry.updated_at), entry.updated_by or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@sources_app.command("add")
def add_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=NAME_HELP)],
    path: Annotated[str, typer.Argument(help=PATH_HELP)],
    fmt: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)] = "auto",
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it switched off.")] = False,
) -> None:
    """Add a source; the next `logchat reload` (or the daemon's) reads it.

    Example: logchat sources add nginx '/var/log/nginx/*.log' --format access
    """
    from logchat.services.configured_sources import add_source

    app: AppContext = ctx.obj
    entry = add_source(app.store, app.settings, name=name, path=path, fmt=fmt, enabled=not disabled,
                       actor=_actor())
    typer.echo(f"added source {entry.name} ({entry.path}){'' if entry.enabled else ', disabled'}")


@sources_app.command("set")
def set_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The source to change.")],
    new_name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    path: Annotated[str | None, typer.Option("--path", help=PATH_HELP)] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help=FORMAT_HELP)] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Switch it on or off (off: reload passes over it).")
    ] = None,
) -> None:
    """Change a source kept in the store (a [[sources]] entry is changed in its file).

    Example: logchat sources set nginx --path '/srv/nginx/logs/*.log' --disable
    """
    from logchat.services.configured_sources import update_source

    app: AppContext = ctx.obj
    entry = update_source(app.store, app.settings, name, new_name=new_name, path=path, fmt=fmt, enabled=enabled,
                          actor=_actor())
    typer.echo(f"source {entry.name}: {entry.path}, format {entry.format}, "
               f"{'enabled' if entry.enabled else 'disabled'}")


@sources_app.command("remove")
def remove_command(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The source to remove.")]) -> None:
    """Remove a source kept in the store: reload stops reading it; its events stay in the store.

    Example: logchat sources remove nginx
    """
    from logchat.services.configured_sources import remove_source

    app: AppContext = ctx.obj
    entry = remove_source(app.store, app.settings, name)
    typer.echo(f"removed source {entry.name}; the events read from it stay in the store")


def register(app: typer.Typer) -> None:
    app.add_typer(sources_app, name="sources")
