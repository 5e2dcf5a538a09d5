"""The `logchat` command. Sub-commands live in one module each and import their work lazily."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from logchat import __version__
from logchat.cli.context import AppContext

app = typer.Typer(
    name="logchat",
    help="Ask questions about your logs in plain language; answers cite the actual lines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"logchat {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config file (default: $LOGCHAT_CONFIG, ./logchat.toml).")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Where the store lives.")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL of the store.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or notices.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    overrides: dict[str, object] = {"data_dir": data_dir}
    if database_url:
        overrides["database"] = {"url": database_url}
    ctx.obj = AppContext(config_file=config, overrides=overrides, quiet=quiet, debug=debug)
    ctx.call_on_close(ctx.obj.close)
    from logchat.observability import tracing

    if tracing.wanted():  # the OTEL_* variables ask for traces (docs/operations.md); else nothing is loaded
        tracing.setup()
        ctx.call_on_close(tracing.shutdown)


def _register() -> None:
    from logchat.cli import ask, audit, db, fields, formats, index, maintenance, serve, sessions, sources, stat, users
    from logchat.cli.errors import wrap_commands

    for module in (index, stat, ask, fields, sessions, sources, users, audit, maintenance, db, serve, formats):
        module.register(app)
    wrap_commands(app)


_register()


def main() -> None:
    """Entry point: run the app and translate domain errors into one line and an exit code."""
    from logchat.cli.errors import exit_with_error
    from logchat.errors import LogchatError

    try:
        app(standalone_mode=True)
    except LogchatError as exc:  # raised outside a command, e.g. by the callback
        if "--debug" in sys.argv:
            raise
        try:
            exit_with_error(exc)
        except typer.Exit as done:
            sys.exit(done.exit_code)
    except KeyboardInterrupt:
        typer.echo("logchat: interrupted", err=True)
        sys.exit(130)
