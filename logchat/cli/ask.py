"""`logchat ask`: answer a question from the indexed logs, citing the lines."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from logchat.cli.context import AppContext, print_json

if TYPE_CHECKING:
    from logchat.services.ask import AskRequest, AskResult


def ask(
    ctx: typer.Context,
    question: Annotated[str | None, typer.Argument(help="The question, in plain language.")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Answer each line of this file ('-' for stdin); JSON Lines.")
    ] = None,
    session: Annotated[
        str | None, typer.Option("--session", help="Keep a conversation under this name; follow-ups reuse its scope.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only events at or after this time (wins over the question).")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Only events before this time.")] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="Read time phrases relative to this time, e.g. '2025-12-10 12:00'.")
    ] = None,
    level: Annotated[list[str] | None, typer.Option("--level", "-l", help="Only this level (repeatable).")] = None,
    host: Annotated[list[str] | None, typer.Option("--host", help="Only this host (repeatable).")] = None,
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Source name or path part.")] = None,
    process: Annotated[list[str] | None, typer.Option("--process", "-p", help="Only this process/program.")] = None,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Extractive answer only; no model is asked.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object per question.")] = False,
    explain: Annotated[
        bool,
        typer.Option("--explain", help="Show how the question was read (its plan), then the answer; no model."),
    ] = False,
) -> None:
    """Answer a question from the logs: exact counts, the lines that matter, cited as file:line.

    With a chat model reachable (Ollama by default) the answer is written by the model and streamed;
    otherwise, or with --no-llm, it is built from the same counts and lines. Exit code 0 either way.

    Example: logchat ask "why did sshd reject logins last night?"

    Example: logchat ask "how many times did the gateway return 502 since 10:00?" --source payments --json

    Example: logchat ask --file nightly-questions.txt --json --no-llm

    Example: logchat ask "how many tasks finished in stage 3.0?" --explain
    """
    from logchat.errors import UsageError
    from logchat.services.ask import AskRequest

    app: AppContext = ctx.obj
    if (question is None) == (file is None):
        raise UsageError("give a QUESTION or --file, not both", hint='e.g. logchat ask "errors in the last hour"')
    settings = app.settings
    anchor = None
    if now:
        from logchat.services.timeparse import parse_cli_time

        anchor = parse_cli_time(now, settings.ingest.default_timezone, flag="--now")
    if since or until:
        from logchat.services.timeparse import parse_cli_window

        # Checked once, before any question: a wrong window is wrong for every line of --file.
        parse_cli_window(since, until, settings.ingest.default_timezone, now=anchor)
    template = AskRequest(
        question=question or "", now=anchor, since=since, until=until, levels=level or [], hosts=host or [],
        sources=source or [], processes=process or [], session=session, use_llm=not (no_llm or explain),
    )  # fmt: skip
    if file is not None:
        questions = _read_questions(file)
        for text in questions:
            _answer_one(app, _with_question(template, text), json_output, explain)
        return
    _answer_one(app, template, json_output, explain)


def _with_question(template: AskRequest, question: str) -> AskRequest:
    from dataclasses import replace

    return replace(template, question=question)


def _read_questions(path: Path) -> list[str]:
    from logchat.errors import UsageError

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--file {path}: cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"--file {path}: not UTF-8 text") from exc
    # One question a line; blank lines and lines starting with '#' are skipped.
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


class _TerminalListener:
    """Streams tokens to stdout as they arrive; notices go to stderr, each on a line of its own."""

    def __init__(self, *, stream_tokens: bool, quiet: bool) -> None:
        self.stream_tokens = stream_tokens
        self.quiet = quiet
        self.printed = False
        # The streamed answer's last line is not ended yet: anything else written now would join it.
        self.line_open = False

    def on_token(self, token: str) -> None:
        if self.stream_tokens:
            sys.stdout.write(token)
            sys.stdout.flush()
            self.printed = True
            self.line_open = not token.endswith("\n")

    def end_line(self) -> None:
        if self.line_open:
            sys.stdout.write("\n")
            sys.stdout.flush()
            self.line_open = False

    def on_notice(self, message: str) -> None:
        if not self.quiet:
            # stdout and stderr share the terminal: end the answer's line before the notice.
            self.end_line()
            sys.stderr.write(f"logchat: note: {message}\n")
            sys.stderr.flush()

    def on_llm_failed(self, message: str) -> None:
        self.end_line()


def _answer_one(app: AppContext, request: AskRequest, json_output: bool, explain: bool = False) -> None:
    import time

    from logchat.redaction import mask_secrets
    from logchat.services import audit, usage
    from logchat.services.ask import ask

    listener = _TerminalListener(stream_tokens=not json_output, quiet=app.quiet or json_output)
    # The question (never the answer) in the audit trail, as the daemon records its questions.
    audit.record(app.store, "ask", target=request.session, detail={"question": mask_secrets(request.question)})
    started = time.perf_counter()
    result = ask(app.store, app.settings, request, listener=listener)  # type: ignore[arg-type]
    usage.record_answer(app.store, result, front_end="cli", total_ms=(time.perf_counter() - started) * 1000)
    if json_output:
        print_json(result.to_dict())  # the plan is in it, under "plan"
        return
    if explain and result.to_dict().get("plan"):
        from logchat.cli.plan_view import render_plan

        render_plan(result.to_dict()["plan"])
    _render(result, listener)


def _render(result: AskResult, listener: _TerminalListener) -> None:
    from logchat.llm.citations import render_citations

    data = result.to_dict()
    out = sys.stdout
    if data["mode"] == "llm":
        unverified = data.get("unverified_numbers") or []
        if listener.printed:
            listener.end_line()
        else:
            out.write(render_citations(data["answer"], result.evidence_by_id) + "\n")
        if unverified:
            out.write(f"\nUnverified numbers (no tool result or evidence line gives them): {', '.join(unverified)}\n")
        cited = [result.evidence_by_id[c] for c in data["citations"] if c in result.evidence_by_id]
        if cited:
            out.write("\nSources:\n")
            for item in cited:
                out.write(f"  [{item['id']}] {item['path']}:{item['line']}  {_one_line(item['text'], 160)}\n")
    else:
        if listener.printed:
            listener.end_line()
            out.write("\n--- extractive answer ---\n")
        out.write(data["answer"] + "\n")
    timings = data["timings_ms"]
    footer = f"({data['mode']}; {data['matched']:,} matching events; retrieval {timings['retrieve']:.0f} ms"
    if timings.get("llm"):
        footer += f", model {timings['llm']:.0f} ms"
    out.write(footer + ")\n")
    out.flush()


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
