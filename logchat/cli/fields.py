"""`logchat fields`: the named values events carry, which questions can filter, group and add up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from logchat.cli.context import AppContext, interactive, print_json, stdout_console

if TYPE_CHECKING:
    from logchat.config import Settings
    from logchat.storage.db import Store


def fields(
    ctx: typer.Context,
    template: Annotated[int | None, typer.Option("--template", "-t", help="Only the fields of this template id.")]
    = None,
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Only events of this source (name or "
                                                     "location); repeatable.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the fields of the stored events: name, type (int, float, ip, id, string), kind (measure,
    identifier, label), unit, how many events carry it, distinct values and the most frequent ones.
    Needs `[ingest] fields = true` (off by default: reading fields costs ingest time); the first run
    after turning it on reads the events stored before.

    Example: logchat fields --source auth.log
    """
    from logchat.services.fields import FieldsQuery, list_fields, require_fields_enabled

    app: AppContext = ctx.obj
    require_fields_enabled(app.settings)
    store = app.open_store(for_writing=True)
    read_stored_events(store, app.quiet)
    found = list_fields(store, FieldsQuery(template=template, sources=list(source or [])))
    if json_output:
        print_json({"fields": found})
        return
    if not found:
        typer.echo("no fields yet (index some logs first: logchat index PATH)")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column, justify in (("field", "left"), ("type", "left"), ("kind", "left"), ("unit", "left"),
                            ("events", "right"), ("distinct", "right"), ("examples", "left")):
        table.add_column(column, justify=justify, no_wrap=column != "examples")  # type: ignore[arg-type]
    for item in found:
        distinct = f"{item['distinct']:,}" + ("" if item["distinct_exact"] else "+")
        examples = ", ".join(f"{_short(e['value'])} ({e['events']:,})" for e in item["examples"])
        table.add_row(item["name"], item["type"], item["kind"], item["unit"] or "", f"{item['events']:,}", distinct,
                      examples)
    stdout_console().print(table)


def _short(value: str, width: int = 28) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def holds_events_stored_while_off(store: Store, settings: Settings) -> bool:
    """With field extraction on: whether the store holds events from runs made while it was off. Asked by
    `index` and `reload` before they store anything, since their new events have fields and would hide the
    ones at the newest end."""
    from logchat.storage import fields_repo

    if not settings.ingest.fields:
        return False
    with store.session() as session:
        return fields_repo.unread_events_at_either_end(session)


def read_stored_events(store: Store, quiet: bool) -> int:
    """Read the fields of events stored before fields existed, with a progress bar at a terminal."""
    from logchat.services.fields import backfill_fields, pending_backfill

    pending = pending_backfill(store)
    if not pending:
        return 0
    with _progress(pending, quiet) as advance:
        return backfill_fields(store, advance)


@contextmanager
def _progress(total: int, quiet: bool) -> Iterator[Any]:
    if not interactive(quiet):
        if not quiet:
            typer.echo(f"logchat: reading the fields of {total:,} stored events", err=True)
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from logchat.cli.context import stderr_console

    with Progress(TextColumn("reading fields of stored events"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=stderr_console()) as bar:
        task = bar.add_task("fields", total=total)
        yield lambda done, _total: bar.update(task, completed=done)


def register(app: typer.Typer) -> None:
    app.command("fields")(fields)
