"""`logchat formats` and `logchat detect`: which formats exist, and why a file parses the way it does."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from logchat.cli.context import print_json


def formats(
    ctx: typer.Context, json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """List every log format with an example line: those of logchat.toml first, then the built-in ones,
    in the order detection tries them.

    Example: logchat formats --json
    """
    from logchat.ingest.explain import format_catalogue

    ctx.obj.settings  # noqa: B018 - loading the settings installs the [[formats]] of logchat.toml
    catalogue = format_catalogue()
    if json_output:
        print_json({"formats": catalogue})
        return
    for entry in catalogue:
        origin = " (logchat.toml)" if entry["user_defined"] else ""
        typer.echo(f"{entry['name']:<16} {entry['example']}{origin}")


def detect(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Log files to look at (nothing is stored).")],
    lines: Annotated[int, typer.Option("--lines", "-n", min=1, max=10_000_000, help="Lines to parse per file.")] = 1000,
    fmt: Annotated[str, typer.Option("--format", "-f", help="Parse as this format instead of detecting.")] = "auto",
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the format each file gets, how many of its first lines parse with a timestamp and a level,
    and the first events that got no timestamp. Nothing is stored.

    Example: logchat detect /var/log/mysql/error.log /var/log/nats-server.log --lines 500
    """
    from logchat.cli.index import _check_format
    from logchat.ingest.explain import detect_file

    ctx.obj.settings  # noqa: B018 - loading the settings installs the [[formats]] of logchat.toml
    _check_format(fmt)
    results = [detect_file(path, max_lines=lines, fmt=fmt) for path in paths]
    if json_output:
        print_json({"files": [result.to_dict() for result in results]})
    else:
        for result in results:
            if result.error is not None:
                typer.echo(f"logchat: error: {result.error}", err=True)
                continue
            data = result.to_dict()
            level_share = result.with_level / result.events if result.events else 0.0
            typer.echo(f"{result.path}: {result.format}, {result.events:,} events from {result.lines:,} lines; "
                       f"{data['timestamp_share']:.0%} with a timestamp, {level_share:.0%} with a level")
            for item in result.without_timestamp:
                typer.echo(f"  no timestamp, line {item['line']}: {item['text']}")
    if any(result.error is not None for result in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("formats")(formats)
    app.command("detect")(detect)
