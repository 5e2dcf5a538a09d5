"""`logchat maintenance`: retention (`prune`) and giving space back (`vacuum`), for cron and operators."""

from __future__ import annotations

from typing import Annotated

import typer

from logchat.cli.context import AppContext, print_json

KIND_NAMES = {"events": "log events", "chat": "chat turns", "audit": "audit entries", "usage": "usage records"}

maintenance_app = typer.Typer(help="Housekeeping: prune what is past its retention period, vacuum.",
                              no_args_is_help=True)


@maintenance_app.command("prune")
def prune(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be deleted.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Delete log events, chat turns, audit entries and usage records older than their retention
    periods (retention.events_days, serve.chat_retention_days, retention.audit_days,
    retention.usage_days; 0 keeps forever). Log events go with their full-text rows, and counts,
    patterns and vectors follow; events without a timestamp are kept.

    Example: logchat maintenance prune --dry-run
    """
    from logchat.services.maintenance import prune as prune_store

    app: AppContext = ctx.obj
    result = prune_store(app.open_store(for_writing=True), app.settings, dry_run=dry_run)
    if json_output:
        print_json(result)
        return
    verb = "would delete" if dry_run else "deleted"
    for kind, facts in result["kinds"].items():
        what = KIND_NAMES[kind]
        if not facts["days"]:
            typer.echo(f"{what}: kept forever (no retention period set)")
            continue
        extra = f" and {facts['sessions_deleted']} empty sessions" if kind == "chat" else ""
        if kind == "events" and not dry_run:
            extra = f" in {facts['batches']} batches ({facts['windows_deleted']} vector windows)"
        typer.echo(f"{what}: {verb} {facts['deleted']}{extra} older than {facts['days']:g} days "
                   f"(before {facts['cutoff']:%Y-%m-%d %H:%M} UTC)")


@maintenance_app.command("vacuum")
def vacuum(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Give the space of deleted rows back: SQLite rewrites its file; PostgreSQL runs VACUUM ANALYZE on
    logchat's tables. Run it after a large prune, when nothing else writes.

    Example: logchat maintenance vacuum
    """
    from logchat.services.maintenance import vacuum as vacuum_store

    app: AppContext = ctx.obj
    result = vacuum_store(app.open_store(for_writing=True))
    if json_output:
        print_json(result)
    elif result["backend"] == "sqlite":
        typer.echo(f"database file: {result['bytes_before']:,} bytes before, {result['bytes_after']:,} after")
    else:
        typer.echo(f"VACUUM ANALYZE done on {result['tables']} tables")


def register(app: typer.Typer) -> None:
    app.add_typer(maintenance_app, name="maintenance")
