"""`logchat stat --usage`: how logchat is used (docs/usage.md), as tables or as the JSON the REST
endpoint `GET /api/v1/analytics/usage` returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from logchat.cli.context import AppContext, print_json


def show_usage(app: AppContext, since: datetime | None, until: datetime | None, *, user: str | None, top: int,
               json_output: bool, usage: bool, event_filters: bool) -> None:
    from logchat.errors import UsageError
    from logchat.services.usage import UsageQuery, summary

    if not usage:
        raise UsageError("--user goes with --usage", hint="e.g. logchat stat --usage --user alice")
    if event_filters:
        raise UsageError("--level, --source and --host filter events, not questions: leave them out with --usage")
    result = summary(app.store, UsageQuery(since=since, until=until, user=user.strip() if user else None, top=top))
    if json_output:
        print_json(result)
    else:
        _render(result)


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _share(value: float | None) -> str:
    return f"{value * 100:.0f}%" if value is not None else "-"


def _ms(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "-"


def _render(result: dict[str, Any]) -> None:
    from rich.table import Table

    from logchat.cli.context import stdout_console

    out = stdout_console()
    totals = result["totals"]
    out.print(f"[bold]{totals['questions']:,}[/bold] questions from {totals['users']:,} users, "
              f"{_time(totals['first'])} → {_time(totals['last'])} UTC")
    if totals["questions"] == 0:
        return
    front_ends = ", ".join(f"{name} {count:,}" for name, count in totals["by_front_end"].items())
    out.print(f"model {totals['llm']:,} ({_share(totals['llm_share'])}), extractive {totals['extractive']:,}, "
              f"model failed {totals['llm_errors']:,}; unanswered {totals['unanswered']:,} "
              f"({_share(totals['unanswered_share'])}); {front_ends}", markup=False)

    latency = Table(title="Latency (ms)", title_justify="left", box=None)
    for name in ("measure", "group", "count", "p50", "p90", "p95", "p99", "max"):
        latency.add_column(name, justify="left" if name in ("measure", "group") else "right")
    for measure, groups in result["latency_ms"].items():
        for group, stats in groups.items():
            latency.add_row(measure, group, f"{stats['count']:,}",
                            *(_ms(stats[key]) for key in ("p50", "p90", "p95", "p99", "max")))
    out.print(latency)

    _table(out, "Per day (UTC)", result["per_day"], ("day", "questions", "llm", "extractive", "unanswered", "users"))
    _table(out, "Most active users", result["per_user"],
           ("user", "questions", "llm", "extractive", "unanswered", "last_at"))
    _table(out, "Most asked questions", result["top_shapes"], ("questions", "users", "unanswered", "shape"))
    _table(out, "Unanswered (matched nothing)", result["unanswered"], ("questions", "users", "shape"))
    for key, title in (("top_sources", "Sources asked about"), ("top_hosts", "Hosts asked about"),
                       ("answered_from", "Sources that answered")):
        _table(out, title, result[key], ("name", "questions"))


def _table(out: Any, title: str, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    from rich.table import Table

    if not rows:
        return
    table = Table(title=title, title_justify="left", box=None)
    for column in columns:
        text_column = column in ("day", "user", "shape", "name", "last_at")
        table.add_column(column.replace("_", " "), justify="left" if text_column else "right",
                         overflow="fold" if column == "shape" else "ellipsis")
    for row in rows:
        table.add_row(*(_cell(row[column]) for column in columns))
    out.print(table, markup=False)


def _cell(value: Any) -> str:
    if isinstance(value, datetime):
        return _time(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
