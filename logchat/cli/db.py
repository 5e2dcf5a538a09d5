"""`logchat db upgrade|current`: the store's schema."""

from __future__ import annotations

import typer

from logchat.cli.context import AppContext

db_app = typer.Typer(help="Database schema: apply migrations, show the current revision.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Apply pending migrations (they are also applied automatically on first use), then read the fields
    of events stored before fields existed, with a progress bar.

    Example: logchat db upgrade
    """
    from logchat.cli.fields import read_stored_events
    from logchat.services.database import upgrade_database

    app: AppContext = ctx.obj
    ran, revision = upgrade_database(app.settings)
    typer.echo(f"{'upgraded to' if ran else 'already at'} {revision}")
    read = read_stored_events(app.open_store(for_writing=True), app.quiet)
    if read:
        typer.echo(f"read the fields of {read:,} stored events")


@db_app.command("current")
def current(ctx: typer.Context) -> None:
    """Show the schema revision of the store and the newest one this version ships.

    Example: logchat db current
    """
    from logchat.services.database import describe_database

    app: AppContext = ctx.obj
    info = describe_database(app.settings)
    typer.echo(f"database: {info['url']}")
    typer.echo(f"current:  {info['current'] or '(empty)'}")
    typer.echo(f"head:     {info['head']}")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
