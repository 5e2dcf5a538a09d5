"""How `logchat ask --explain` shows a question's plan: one line per part, in plain words."""

from __future__ import annotations

from typing import Any

from logchat.cli.context import stdout_console

_OPERATION_WORDS = {
    "list": "list the matching lines by pattern",
    "count": "count the matching events",
    "count_distinct": "count the different values of {field}",
    "min": "smallest {field}",
    "max": "largest {field}",
    "sum": "total of {field}",
    "avg": "average of {field}",
    "percentile": "percentile {percentile:g} of {field}",
    "top": "most frequent values of {field}",
    "first": "the first matching event",
    "last": "the last matching event",
    "series": "matching events per {interval}",
    "explain": "explain: the patterns around the matches",
}


def describe_operation(operation: dict[str, Any]) -> str:
    field = operation.get("field") or "(no field found)"
    interval = operation.get("interval")
    text = _OPERATION_WORDS.get(operation["kind"], operation["kind"]).format(
        field=field, percentile=operation.get("percentile") or 0,
        interval=_interval_text(interval) if interval else "interval chosen from the time range",
    )  # fmt: skip
    if operation["kind"] == "top" and operation.get("limit"):
        text += f" (top {operation['limit']})"
    if operation.get("by"):
        text += f", per {operation['by']}"
    return text


def _interval_text(seconds: int) -> str:
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds % size == 0:
            count = seconds // size
            return name if count == 1 else f"{count} {name}s"
    return f"{seconds} seconds"


def _filters_text(filters: dict[str, Any]) -> str:
    parts = []
    if filters.get("start") or filters.get("end"):
        parts.append(f"time {filters.get('start') or 'the beginning'} → {filters.get('end') or 'now'}")
    for key in ("levels", "hosts", "sources", "processes"):
        if filters.get(key):
            parts.append(f"{key} {', '.join(filters[key])}")
    return "; ".join(parts) or "none"


def _term_text(term: dict[str, Any]) -> str:
    text = f"{term['text']}…" if term.get("prefix") else term["text"]
    others = [alt for alt in term.get("alternatives") or [] if alt.lower() != term["text"].lower()]
    return f"{text} (or {', '.join(others)})" if others else text


def render_plan(plan: dict[str, Any]) -> None:
    """Print the plan of ``ask --json``'s ``plan`` object to the terminal."""
    from rich.markup import escape
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row("question", escape(plan["question"]))
    table.add_row("operation", escape(describe_operation(plan["operation"])))
    table.add_row("filters", escape(_filters_text(plan["filters"])))
    terms = [_term_text(term) for term in plan.get("terms") or [] if term.get("required", True)]
    table.add_row("text", escape(" AND ".join(terms) if terms else "none (every event under the filters)"))
    conditions = [
        f"{c['name']} {c['operator']} {c['value']}" + (f"  (from “{c['source_text']}”)" if c.get("source_text") else "")
        for c in plan.get("conditions") or []
    ]
    table.add_row("fields", escape("; ".join(conditions) if conditions else "none"))
    if plan.get("ignored"):
        table.add_row("not required", escape(", ".join(plan["ignored"])))
    for index, note in enumerate(plan.get("notes") or []):
        table.add_row("note" if index == 0 else "", escape(note))
    console = stdout_console()
    console.print("[bold]Plan[/bold]")
    console.print(table)
    console.print()
