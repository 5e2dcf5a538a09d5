"""`logchat stat --anomalies`: what changed in a window against the time before it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from logchat.cli.context import AppContext, print_json

_KIND_STYLE = {"spike": "bold red", "new": "bold yellow", "drop": "bold cyan"}


def show_anomalies(app: AppContext, since: datetime | None, until: datetime | None, *, baseline: str | None,
                   min_score: float | None, level: str | None, sources: list[str], hosts: list[str], top: int,
                   json_output: bool) -> None:
    from logchat.errors import UsageError
    from logchat.services.anomalies import (
        DEFAULT_BASELINE,
        DEFAULT_MIN_SCORE,
        AnomalyQuery,
        find_anomalies,
        parse_baseline,
    )
    from logchat.services.stats import resolve_level

    try:
        length = parse_baseline(baseline) if baseline is not None else DEFAULT_BASELINE
    except UsageError as exc:
        raise type(exc)(f"--baseline: {exc.message}", hint=exc.hint) from None
    query = AnomalyQuery(
        since=since, until=until, baseline=length, level=resolve_level(level) if level else None,
        sources=sources, hosts=hosts, top=top, min_score=DEFAULT_MIN_SCORE if min_score is None else min_score,
    )
    report = find_anomalies(app.store, query)
    if json_output:
        print_json(report)
    else:
        _render(report)


def _time(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g}{unit}"
    return f"{seconds:.3g}s"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _render(report: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from logchat.cli.context import stdout_console

    out = stdout_console()
    window, baseline = report["window"], report["baseline"]
    out.print(f"Window   {_time(window['since'])} → {_time(window['until'])} UTC ({_span(window['seconds'])}): "
              f"[bold]{window['events']:,}[/bold] events")
    out.print(f"Baseline {_time(baseline['since'])} → {_time(baseline['until'])} UTC ({_span(baseline['seconds'])}): "
              f"[bold]{baseline['events']:,}[/bold] events")
    if report["notice"]:
        out.print(f"[yellow]{report['notice']}[/yellow]", highlight=False)
        return
    counts = report["counts"]
    out.print(f"{_count(counts['spike'], 'spike')}, {_count(counts['drop'], 'drop')}, "
              f"{_count(counts['new'], 'new pattern')} "
              f"(|score| ≥ {report['min_score']:g}; new patterns at any score)")
    if report["templates"]:
        table = Table(title="Patterns that changed (largest change first)", title_justify="left", box=None,
                      expand=True)
        for name in ("score", "kind", "window", "expected", "level"):
            table.add_column(name, justify="right" if name in ("score", "window", "expected") else "left",
                             no_wrap=True)
        # One line per pattern keeps the table readable; --json has the full text and an example line.
        table.add_column("pattern", no_wrap=True, overflow="ellipsis", ratio=1)
        for row in report["templates"]:
            table.add_row(f"{row['score']:+.1f}", f"[{_KIND_STYLE[row['kind']]}]{row['kind']}[/]",
                          f"{row['window_count']:,}", f"{row['expected']:.3g}", row["level"] or "-",
                          escape(row["template"]))
        out.print(table)
    if report["levels"]:
        table = Table(title="Levels that jumped", title_justify="left", box=None)
        for name in ("score", "kind", "level", "window", "expected"):
            table.add_column(name, justify="left" if name in ("kind", "level") else "right")
        for row in report["levels"]:
            table.add_row(f"{row['score']:+.1f}", f"[{_KIND_STYLE[row['kind']]}]{row['kind']}[/]", row["level"],
                          f"{row['window_count']:,}", f"{row['expected']:.3g}")
        out.print(table)
    if not report["templates"] and not report["levels"]:
        out.print("Nothing changed beyond what the baseline predicts.")
