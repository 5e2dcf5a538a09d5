"""`logchat audit`: read, export and verify the audit trail (docs/audit.md).

Whoever can open the store can read its trail from here, as they can manage its accounts; the
daemon's `GET /api/v1/admin/audit` needs `audit:read`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from logchat.cli.context import AppContext, print_json

if TYPE_CHECKING:
    from logchat.services.audit import AuditQuery

audit_app = typer.Typer(help="The audit trail: list, export and verify who did what.", no_args_is_help=True)

SINCE_HELP = "Only entries at or after this time ('2h', 'yesterday', ISO)."
UNTIL_HELP = "Only entries before this time."
ACTOR_HELP = "Only this actor: an account name, os:NAME for the command line, or scheduler."
ACTION_HELP = "Only this action (auth.login), or every action under a prefix ending in '.' (user.)."
OUTCOME_HELP = "Only this outcome: ok, failed or denied."


def _query(app: AppContext, since: str | None, until: str | None, actor: str | None, action: str | None,
           outcome: str | None) -> AuditQuery:
    from logchat.errors import UsageError
    from logchat.services.audit import OUTCOMES, AuditQuery
    from logchat.services.timeparse import parse_cli_window

    if outcome is not None and outcome not in OUTCOMES:
        raise UsageError(f"--outcome {outcome!r}: choose one of {', '.join(OUTCOMES)}")
    start, end = parse_cli_window(since, until, app.settings.ingest.default_timezone)
    return AuditQuery(since=start, until=end, actor=actor.strip().lower() if actor else None, action=action,
                      outcome=outcome)


@audit_app.command("list")
def list_entries(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", help=SINCE_HELP)] = None,
    until: Annotated[str | None, typer.Option("--until", help=UNTIL_HELP)] = None,
    actor: Annotated[str | None, typer.Option("--actor", help=ACTOR_HELP)] = None,
    action: Annotated[str | None, typer.Option("--action", help=ACTION_HELP)] = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help=OUTCOME_HELP)] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000, help="At most this many, newest first.")] = 50,
    json_output: Annotated[bool, typer.Option("--json", help="JSON: {entries: [...], next: cursor}.")] = False,
) -> None:
    """The newest entries first.

    Example: logchat audit list --since 24h --action auth.login --outcome failed
    """
    from logchat.services.audit import list_entries as page

    app: AppContext = ctx.obj
    entries, cursor = page(app.store, _query(app, since, until, actor, action, outcome), limit=limit)
    if json_output:
        print_json({"entries": entries, "next": cursor})
        return
    from rich.table import Table

    from logchat.cli.context import stdout_console

    table = Table(box=None, header_style="bold")
    for column in ("id", "time", "actor", "action", "target", "outcome", "client", "detail"):
        table.add_column(column)
    for entry in entries:
        detail = ", ".join(f"{k}={v}" for k, v in (entry["detail"] or {}).items())
        table.add_row(str(entry["id"]), entry["at"][:19].replace("T", " "), entry["actor"], entry["action"],
                      entry["target"] or "", entry["outcome"], entry["client"] or "", detail)
    console = stdout_console()
    console.print(table) if entries else console.print("no audit entries match")


@audit_app.command("export")
def export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="jsonl (one JSON object a line) or csv.")] = "jsonl",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    since: Annotated[str | None, typer.Option("--since", help=SINCE_HELP)] = None,
    until: Annotated[str | None, typer.Option("--until", help=UNTIL_HELP)] = None,
    actor: Annotated[str | None, typer.Option("--actor", help=ACTOR_HELP)] = None,
    action: Annotated[str | None, typer.Option("--action", help=ACTION_HELP)] = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help=OUTCOME_HELP)] = None,
) -> None:
    """Every matching entry, oldest first, with its hashes (the export itself is recorded).

    Example: logchat audit export --format csv --since 2026-11-01 -o audit-november.csv
    """
    import sys

    from logchat.errors import UsageError
    from logchat.services.audit import export as write_entries

    if fmt not in ("jsonl", "csv"):
        raise UsageError(f"--format {fmt!r}: choose jsonl or csv")
    app: AppContext = ctx.obj
    query = _query(app, since, until, actor, action, outcome)
    if output is None:
        write_entries(app.store, query, fmt, sys.stdout)
        return
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            count = write_entries(app.store, query, fmt, out)
        partial.replace(output)  # a failed export never leaves a half-written file under the name asked for
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UsageError(f"--output {output}: {exc.strerror or exc}") from exc
    typer.echo(f"{count} entries written to {output}", err=True)


@audit_app.command("verify")
def verify(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check the chain of hashes: exit 0 when intact, 1 when an entry was changed or removed.

    Example: logchat audit verify
    """
    from logchat.services.audit import verify as check
    from logchat.services.audit import write_summary

    app: AppContext = ctx.obj
    result = check(app.store)
    if json_output:
        print_json(result.to_dict())
    else:
        typer.echo(write_summary(result), err=not result.ok)
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
