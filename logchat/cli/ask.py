"""`logchat ask`: answer a question from the indexed logs, citing the lines."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from logchat.cli.context import AppContext, print_json

if TYPE_CHECKING:
    from logchat.services.ask import Answer, AskRequest


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


def _answer_one(app: AppContext, request: AskRequest, json_output: bool, explain: bool = False) -> None:
    from logchat.redaction import mask_secrets
    from logchat.services import audit, sessions, usage
    from logchat.services.ask import ask

    # The question (never the answer) in the audit trail, as the daemon records its questions.
    audit.record(app.store, "ask", target=request.session, detail={"question": mask_secrets(request.question)})
    answer = ask(app.store, app.settings, request)
    if json_output:
        answer.to_json()
    elif explain:
        plan = answer.to_json().get("plan")  # the plan is shown before the answer it led to
        if plan:
            from logchat.cli.plan_view import render_plan

            render_plan(plan)
        _print(answer, quiet=app.quiet)
    else:
        _print(answer, quiet=app.quiet)
    usage.record_answer(app.store, answer, front_end="cli", total_ms=answer.elapsed_ms)
    sessions.record_turn(app.store, answer)
    if json_output:
        print_json(answer.to_json())  # the plan is in it, under "plan"


# Chunks that follow a block of their own with a blank line between; a notice goes to stderr.
_SPACED = {"fallback", "unverified", "sources"}


def _print(answer: Answer, *, quiet: bool) -> None:
    """Each chunk as it comes: the model's tokens as they are written, notices on stderr."""
    for chunk in answer:
        if chunk.kind in ("token", "break"):
            sys.stdout.write(chunk.text)
        elif chunk.kind == "notice":
            if not quiet:
                sys.stderr.write(f"logchat: note: {chunk.text}\n")
                sys.stderr.flush()
            continue
        elif chunk.kind == "fallback":
            sys.stdout.write(f"\n--- {chunk.text} ---\n")
        else:
            sys.stdout.write(("\n" if chunk.kind in _SPACED else "") + chunk.text + "\n")
        sys.stdout.flush()


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
