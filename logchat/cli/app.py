"""The `logchat` command. Sub-commands live in one module each and import their work lazily."""

from __future__ import annotations

import gc
import importlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from logchat import __version__
from logchat.cli.context import AppContext

# The module of each top-level command or group. Typer builds the click command of every registered
# command each time it runs, reading each one's signature (about 50 ms for all of them), so `main` registers
# only the module of the command it is given.
COMMAND_MODULES = {
    "index": "index", "reload": "index", "stat": "stat", "ask": "ask", "fields": "fields",
    "sessions": "sessions", "sources": "sources", "users": "users", "audit": "audit",
    "maintenance": "maintenance", "db": "db", "serve": "serve", "formats": "formats", "detect": "formats",
}  # fmt: skip
# The options of the callback below that take a value: what to step over to find the command's name.
_OPTIONS_WITH_VALUE = frozenset({"--config", "-c", "--data-dir", "--database-url"})


def _version(value: bool) -> None:
    if value:
        typer.echo(f"logchat {__version__}")
        raise typer.Exit()


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


def build_app(command: str | None = None) -> typer.Typer:
    """The `logchat` app with every command, or only with the module of ``command`` when it names one."""
    from logchat.cli.errors import wrap_commands

    built = typer.Typer(
        name="logchat",
        help="Ask questions about your logs in plain language; answers cite the actual lines.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        rich_markup_mode=None,
    )
    built.callback()(main_callback)
    modules = [COMMAND_MODULES[command]] if command in COMMAND_MODULES else dict.fromkeys(COMMAND_MODULES.values())
    for module in modules:
        importlib.import_module(f"logchat.cli.{module}").register(built)
    wrap_commands(built)
    return built


def command_named(args: list[str]) -> str | None:
    """The command that ``args`` (the arguments after `logchat`) run: the first one that is neither an option
    of `logchat` itself nor that option's value. None when there is none (`logchat --help`)."""
    after_option = False
    for arg in args:
        if after_option:
            after_option = False
        elif arg == "--":
            return None
        elif arg in _OPTIONS_WITH_VALUE:
            after_option = True
        elif not arg.startswith("-"):
            return arg
    return None


def __getattr__(name: str) -> typer.Typer:
    # `app`, with every command, is built when first asked for (by tests and other callers that invoke
    # commands through it); the console script builds its own, smaller one.
    if name == "app":
        globals()["app"] = built = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Entry point: run the app and translate domain errors into one line and an exit code."""
    from logchat.cli.errors import exit_with_error
    from logchat.errors import LogchatError

    # A command imports a few hundred modules on its way and the collector's full passes over them find
    # nothing to free (two of them took 60-80 ms of a 1 s `ask`): collect the oldest generation ten
    # times less often. Young objects are still collected as often as before.
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 100)
    try:
        build_app(command_named(sys.argv[1:]))(standalone_mode=True)
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
    finally:
        # The command is done and the process ends: at shutdown the collector would go over every object
        # still alive (a million-line `index` leaves about 0.16 s of that) only to find nothing it must free
        # before the interpreter does. Frozen, they are out of its sight; exit handlers still run.
        gc.freeze()
