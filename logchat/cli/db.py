"""`logchat db upgrade|current|copy`: the store's schema, and moving the store to another database."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from logchat.cli.context import AppContext, interactive, print_json

if TYPE_CHECKING:
    from rich.progress import Progress

db_app = typer.Typer(help="Database schema: apply migrations, show the current revision, copy the store.",
                     no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Apply pending migrations (they are also applied automatically on first use), then, when field
    extraction is on (`[ingest] fields = true`), read the fields of events stored without them, with a
    progress bar.

    Example: logchat db upgrade
    """
    from logchat.cli.fields import read_stored_events
    from logchat.services.database import upgrade_database

    app: AppContext = ctx.obj
    ran, revision = upgrade_database(app.settings)
    typer.echo(f"{'upgraded to' if ran else 'already at'} {revision}")
    if not app.settings.ingest.fields:
        return  # no fields to read: ingest stores none either
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


@db_app.command("backup")
def backup(
    ctx: typer.Context,
    destination: Annotated[Path, typer.Argument(metavar="PATH", help="The backup file to create (must not exist).")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Back up the SQLite store into one new file, consistent even while logchat runs (VACUUM INTO).
    To restore: stop logchat, put the file in place of logchat.db and delete logchat.db-wal and -shm.
    On PostgreSQL use pg_dump.

    Example: logchat db backup /var/backups/logchat-$(date +%F).db
    """
    from logchat.services.database import backup_database

    app: AppContext = ctx.obj
    # Not migrated first: a backup taken before an upgrade must hold the schema the old version reads.
    result = backup_database(app.settings, destination)
    if json_output:
        print_json(result)
    else:
        typer.echo(f"backed up {result['from']} to {result['to']} ({result['bytes']:,} bytes, "
                   f"schema {result['revision']})")


@db_app.command("copy")
def copy(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", metavar="URL", help="The empty database to copy into.")],
    source: Annotated[str | None, typer.Option(
        "--from", metavar="URL", help="The database to copy (default: the configured database.url).")] = None,
    batch_rows: Annotated[int, typer.Option("--batch-rows", min=1, help="Rows read and written at a time.")] = 5000,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Copy the whole store (logs, full-text index, checkpoints, accounts, sessions, audit trail, usage)
    into an empty database, for instance to move from SQLite to PostgreSQL. The target's schema is
    created first; a target that holds data is refused. The copy is one transaction: if it is
    interrupted, the target stays empty and the command can be run again.

    Example: logchat db copy --to postgresql://logchat@db.internal/logchat
    """
    from logchat.services.database import copy_database

    app: AppContext = ctx.obj
    show_progress = interactive(app.quiet or json_output)
    bar = _CopyBar() if show_progress else None
    try:
        summary = copy_database(app.settings, to, source_url=source, batch_rows=batch_rows,
                                progress=bar.update if bar else None)
    finally:
        if bar is not None:
            bar.stop()
    if json_output:
        print_json(summary)
        return
    _print_summary(summary)


class _CopyBar:
    """One bar per table, rows copied out of the table's rows."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        from logchat.cli.context import stderr_console

        self._bar: Progress = RichProgress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
                                           TimeRemainingColumn(), console=stderr_console())
        self._tasks: dict[str, Any] = {}
        self._bar.start()

    def update(self, table: str, done: int, total: int) -> None:
        if table not in self._tasks:
            self._tasks[table] = self._bar.add_task(table, total=max(total, 1))
        self._bar.update(self._tasks[table], completed=done if total else 1)

    def stop(self) -> None:
        self._bar.stop()


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.table import Table

    from logchat.cli.context import stdout_console

    table = Table(title=f"{summary['from']} -> {summary['to']} (schema {summary['revision']})", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in summary["tables"].items():
        table.add_row(name, f"{rows:,}")
    table.add_row("total", f"{summary['total_rows']:,}", style="bold")
    stdout_console().print(table)
    typer.echo(f"copied {summary['total_rows']:,} rows in {summary['seconds']:.1f} s")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
