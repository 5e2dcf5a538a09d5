"""`logchat stat`: what is in the store."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from logchat.cli.context import AppContext, print_json

_SPARK = " ▁▂▃▄▅▆▇█"


def stat(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", help="ISO time or phrase, e.g. '2 hours ago'.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO time or phrase.")] = None,
    level: Annotated[str | None, typer.Option("--level", "-l", help="This level and above, e.g. error.")] = None,
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Source name or path part.")] = None,
    host: Annotated[list[str] | None, typer.Option("--host", help="Host name.")] = None,
    top: Annotated[int, typer.Option("--top", min=1, max=1000, help="Rows per table.")] = 10,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    usage: Annotated[bool, typer.Option("--usage", help="How logchat is used: questions, users, latency.")] = False,
    user: Annotated[str | None, typer.Option("--user", help="With --usage: one user (account or os:NAME).")] = None,
    anomalies: Annotated[bool, typer.Option(
        "--anomalies", help="Patterns and levels whose rate changed against the baseline, and new patterns.")] = False,
    baseline: Annotated[str | None, typer.Option(
        "--baseline", help="With --anomalies: how much time before the window to compare with, e.g. 7d, 24h.")] = None,
    min_score: Annotated[float | None, typer.Option(
        "--min-score", min=0,
        help="With --anomalies: the smallest |score| listed (log2 of the sure change in rate; default 1).")] = None,
) -> None:
    """Show counts by level, source, host and process, a time histogram and the top patterns.

    With --usage: questions per day and per user, latency percentiles, model share, unanswered and
    most asked questions (docs/usage.md).

    With --anomalies: what changed in a window (default: the last hour of the logs) against the time before
    it (--baseline, default 7d): spikes, drops, new patterns and levels that jumped (docs/anomalies.md).

    Example: logchat stat --since "2 hours ago" --level error --source nginx --json

    Example: logchat stat --usage --since 7d --json

    Example: logchat stat --anomalies --since "2 hours ago" --baseline 3d
    """
    from logchat.errors import UsageError
    from logchat.services.stats import StatQuery, compute_stats, compute_stats_from_sqlite_file, resolve_level
    from logchat.services.timeparse import parse_cli_window

    app: AppContext = ctx.obj
    start, end = parse_cli_window(since, until, app.settings.ingest.default_timezone)
    if usage and anomalies:
        raise UsageError("--usage and --anomalies are two different reports: choose one")
    if usage or user is not None:
        from logchat.cli.usage_report import show_usage

        show_usage(app, start, end, user=user, top=top, json_output=json_output, usage=usage,
                   event_filters=bool(level or source or host))
        return
    if anomalies:
        from logchat.cli.stat_anomalies import show_anomalies

        show_anomalies(app, start, end, baseline=baseline, min_score=min_score, level=level, sources=source or [],
                       hosts=host or [], top=top, json_output=json_output)
        return
    for flag, value in (("--baseline", baseline), ("--min-score", min_score)):
        if value is not None:
            raise UsageError(f"{flag} applies only with --anomalies")
    query = StatQuery(
        since=start,
        until=end,
        level=resolve_level(level) if level else None,
        sources=source or [],
        hosts=host or [],
        top=top,
    )
    # A current SQLite store is read without SQLAlchemy: the imports would cost more than the queries.
    result = None
    if app.settings.is_sqlite:
        app.prepare_data_dir()
        result = compute_stats_from_sqlite_file(app.settings.database_url, query)
    if result is None:
        result = compute_stats(app.store, query)
    if json_output:
        print_json(result)
    else:
        _render(result)


def _fmt_time(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def _render(result: dict[str, Any]) -> None:
    from rich.table import Table

    from logchat.cli.context import stdout_console

    out = stdout_console()
    span = result["time_span"]
    out.print(f"[bold]{result['total']:,}[/bold] events, {_fmt_time(span['first'])} → {_fmt_time(span['last'])} UTC")
    if result["total"] == 0:
        return
    levels = Table(title="By level", title_justify="left", box=None)
    levels.add_column("level")
    levels.add_column("events", justify="right")
    for name, count in result["by_level"].items():
        levels.add_row(name, f"{count:,}")
    out.print(levels)
    for key, title, label in (
        ("by_source", "By source", "name"), ("by_host", "By host", "host"), ("by_process", "By process", "process"),
    ):
        if not result[key]:
            continue
        table = Table(title=title, title_justify="left", box=None)
        table.add_column(label, overflow="fold")
        table.add_column("events", justify="right")
        for row in result[key]:
            table.add_row(str(row[label]), f"{row['count']:,}")
        out.print(table)
    histogram = result["histogram"]
    if histogram["buckets"]:
        counts = [b["count"] for b in histogram["buckets"]]
        peak = max(counts) or 1
        bars = "".join(_SPARK[min(8, -(-c * 8 // peak))] if c else _SPARK[0] for c in counts)
        out.print(f"Events per {_interval(histogram['bucket_seconds'])} (peak {peak:,}):")
        out.print(f"  {bars}", markup=False)
        out.print(
            f"  {_fmt_time(histogram['buckets'][0]['start'])}  …  {_fmt_time(histogram['buckets'][-1]['start'])}",
            markup=False,
        )
    templates = Table(title="Top patterns (errors first)", title_justify="left", box=None, expand=True)
    templates.add_column("count", justify="right", no_wrap=True, min_width=7)
    templates.add_column("level", no_wrap=True, min_width=8)
    templates.add_column("first seen", no_wrap=True, min_width=11)
    templates.add_column("last seen", no_wrap=True, min_width=11)
    # One line per pattern keeps the table readable; --json has the full text.
    templates.add_column("pattern", no_wrap=True, overflow="ellipsis", ratio=1)
    for row in result["top_templates"]:
        templates.add_row(
            f"{row['count']:,}", row["level"] or "-", _short_time(row["first_seen"]), _short_time(row["last_seen"]),
            row["template"],
        )
    out.print(templates, markup=False)


def _short_time(value: Any) -> str:
    return value.strftime("%m-%d %H:%M") if value is not None else "-"


def _interval(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}s" if n > 1 else unit
    return f"{seconds} seconds"


def register(app: typer.Typer) -> None:
    app.command("stat")(stat)
