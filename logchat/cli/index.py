"""`logchat index` and `logchat reload`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from logchat.cli.context import AppContext, interactive, print_json

# Below this share of events with a timestamp, time questions about a source go wrong: say so.
TIMESTAMP_WARNING_SHARE = 0.9

if TYPE_CHECKING:
    from logchat.services.ingest import IngestReport, TimeWindow
    from logchat.storage.db import Store


def index(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Files, globs, directories, .gz files, ssh://[user@]host[:port]/path-or-glob, "
                            "or - for stdin."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Source name (for stdin, or a label).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="Log format; 'auto' detects it per file.")] = "auto",
    wait: Annotated[float | None, typer.Option("--wait", help="Seconds to wait for a running index.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print a machine-readable summary.")] = False,
    rebuild_vectors: Annotated[
        bool, typer.Option("--rebuild-vectors", help="Rebuild the vector index of the whole store.")
    ] = False,
    identity: Annotated[
        str | None, typer.Option("--identity", "-i", help="Private key file for ssh:// paths (no passwords).")
    ] = None,
    accept_new_host_key: Annotated[
        bool, typer.Option("--accept-new-host-key", help="Record the key of an ssh:// host not in known_hosts yet.")
    ] = False,
    follow: Annotated[
        bool, typer.Option("--follow", "-F", help="Keep reading appended lines (and new files) until Ctrl-C.")
    ] = False,
    poll_interval: Annotated[
        float | None,
        typer.Option("--poll-interval", min=0.01, help="With --follow: poll every SECONDS instead of using inotify."),
    ] = None,
) -> None:
    """Index log files; again later, only the lines appended since.

    Example: logchat index /var/log/syslog 'app/logs/*.log' old.log.2.gz ./logdir/

    Example: journalctl -o short-iso | logchat index - --name journal

    Example: logchat index ssh://deploy@web-01:22/var/log/nginx/'*.log' --identity ~/.ssh/id_ed25519

    Example: logchat index --follow /var/log/syslog 'app/logs/*.log'

    Example: logchat index --follow ssh://deploy@web-01/var/log/app.log /var/log/syslog
    """
    from logchat.errors import UsageError
    from logchat.services.ingest import IngestReport, index_inputs

    app: AppContext = ctx.obj
    if not paths and not rebuild_vectors:
        raise UsageError("give at least one PATH (or - for stdin), or --rebuild-vectors")
    if poll_interval is not None and not follow:
        raise UsageError("--poll-interval applies only with --follow")
    if follow and (rebuild_vectors or not paths):
        raise UsageError("--follow needs PATHs to follow and cannot be combined with --rebuild-vectors")
    paths = paths or []
    app.settings  # noqa: B018 - loads logchat.toml, whose [[formats]] --format may name
    _check_format(fmt)
    store = app.open_store(for_writing=True)
    if follow:
        _follow(app, store, paths, name=name, fmt=fmt, poll_interval=poll_interval, json_output=json_output,
                identity=identity, accept_new_host_key=accept_new_host_key)
        return
    unread = _holds_events_stored_while_off(app, store)
    report = _with_progress(
        app,
        json_output,
        lambda progress: index_inputs(
            store, app.settings, paths, name=name, fmt=fmt, stdin=sys.stdin.buffer,
            progress=progress, wait_seconds=wait, identity=identity, accept_new_host_key=accept_new_host_key,
        ) if paths else IngestReport(),
    )
    _read_events_stored_while_off(app, store, unread)
    vectors = _update_vectors(app, report, rebuild=rebuild_vectors)
    _render(app, report, json_output, vectors)


def _follow(app: AppContext, store: Store, paths: list[str], *, name: str | None, fmt: str,
            poll_interval: float | None, json_output: bool, identity: str | None = None,
            accept_new_host_key: bool = False) -> None:
    """Follow until Ctrl-C or SIGTERM: both end the run cleanly, with what was read committed."""
    import signal
    import threading

    from logchat.services.follow import follow

    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if interactive(app.quiet) and not json_output:
            from logchat.cli.progress import FollowStatusLine

            with FollowStatusLine() as status:
                report = follow(store, app.settings, paths, stop=stop, name=name, fmt=fmt,
                                poll_interval=poll_interval, on_pass=status.update, identity=identity,
                                accept_new_host_key=accept_new_host_key)
        else:
            report = follow(store, app.settings, paths, stop=stop, name=name, fmt=fmt, poll_interval=poll_interval,
                            on_pass=None if app.quiet or json_output else _say_waiting(), identity=identity,
                            accept_new_host_key=accept_new_host_key)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    vectors = report.vectors
    if vectors is not None and "error" in vectors:
        typer.echo(f"logchat: warning: vector index not updated: {vectors['error']}", err=True)
    if json_output:
        print_json(report.to_dict())
        if report.ingest.error is not None:
            typer.echo(f"logchat: error: {report.ingest.error}", err=True)
        if report.ingest.failed:
            raise typer.Exit(1)
        return
    if report.watcher_note and not app.quiet:
        typer.echo(f"logchat: note: {report.watcher_note}", err=True)
    _render(app, report.ingest, False, vectors)


def _say_waiting():  # type: ignore[no-untyped-def]
    """Without a status line: say once on stderr which named paths and globs have no file yet."""
    said: set[str] = set()

    outages_said: set[int] = set()

    def on_pass(report) -> None:  # type: ignore[no-untyped-def]
        for item in report.waiting_for:
            if item not in said:
                said.add(item)
                typer.echo(f"logchat: note: {item}: no such file yet; it is read once it appears", err=True)
        for outage in report.outages:  # once when a host goes away, once when it is back
            if id(outage) not in outages_said:
                outages_said.add(id(outage))
                typer.echo(f"logchat: warning: {outage.error}; retrying with back-off, following the other "
                           "files meanwhile", err=True)
            if outage.until is not None and -id(outage) not in outages_said:
                outages_said.add(-id(outage))
                typer.echo(f"logchat: note: {outage.host}: reachable again, reading on", err=True)

    return on_pass


def reload(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", help="Keep only events at or after this time.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Keep only events before this time.")] = None,
    wait: Annotated[float | None, typer.Option("--wait", help="Seconds to wait for a running index.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print a machine-readable summary.")] = False,
    metrics_file: Annotated[
        Path | None,
        typer.Option("--metrics-file", help="Write the ingestion metrics here for node_exporter's textfile collector."),
    ] = None,
    accept_new_host_key: Annotated[
        bool, typer.Option("--accept-new-host-key", help="Record the keys of remote hosts not in known_hosts yet.")
    ] = False,
) -> None:
    """Ingest what is new in every configured source: [[sources]] of logchat.toml, then those added with
    `logchat sources add`. Cron and CI friendly.

    Exit code 0 when every source was read, 1 if any failed, 2 for a usage or config error.

    Example: logchat reload --since 2026-11-01 --until "2026-11-02 06:00" --json

    Example: logchat --quiet reload --metrics-file /var/lib/node_exporter/textfile/logchat.prom
    """
    from logchat.services.ingest import reload_sources

    app: AppContext = ctx.obj
    window = _window(app, since, until)
    if metrics_file is not None:
        _check_metrics_file(metrics_file)
    store = app.open_store(for_writing=True)
    unread = _holds_events_stored_while_off(app, store)
    report = _with_progress(
        app,
        json_output,
        lambda progress: reload_sources(store, app.settings, window=window, progress=progress, wait_seconds=wait,
                                        accept_new_host_key=accept_new_host_key),
    )
    _audit_reload(store, report, since, until)
    _read_events_stored_while_off(app, store, unread)
    written = _write_metrics(app, report, metrics_file) if metrics_file is not None else True
    vectors = _update_vectors(app, report, rebuild=False)
    _render(app, report, json_output, vectors)
    if not written:
        raise typer.Exit(1)


def _holds_events_stored_while_off(app: AppContext, store: Store) -> bool:
    from logchat.cli.fields import holds_events_stored_while_off

    return holds_events_stored_while_off(store, app.settings)


def _read_events_stored_while_off(app: AppContext, store: Store, unread: bool) -> None:
    # Field extraction turned on over a store indexed while it was off: the events stored then are read
    # now, once, after the new ones, so that answers over fields count them too.
    if unread:
        from logchat.cli.fields import read_stored_events

        read_stored_events(store, app.quiet)


def _check_metrics_file(path: Path) -> None:
    from logchat.errors import UsageError

    if path.is_dir():
        raise UsageError(f"--metrics-file {path}: a directory; name a file such as {path / 'logchat.prom'}")
    if not path.parent.is_dir():
        raise UsageError(f"--metrics-file {path}: the directory {path.parent} does not exist")


def _write_metrics(app: AppContext, report: IngestReport, path: Path) -> bool:
    """After the sources were read: a file that cannot be written is reported (exit 1), what was
    read stays stored."""
    from logchat.observability.metrics import write_ingest_textfile

    try:
        write_ingest_textfile(path, report, app.settings, app.store)
    except OSError as exc:
        typer.echo(f"logchat: error: --metrics-file {path}: {exc.strerror or exc}", err=True)
        return False
    return True


def _audit_reload(store: Store, report: IngestReport, since: str | None, until: str | None) -> None:
    """A reload in the audit trail, as the local user, like a reload the daemon runs."""
    from logchat.services import audit

    detail = {"since": since, "until": until, "new_events": report.to_dict().get("new_events"), "error": report.error}
    audit.record(store, "logs.reload", target="logchat reload", outcome=audit.FAILED if report.failed else audit.OK,
                 detail={key: value for key, value in detail.items() if value is not None})


def _check_format(fmt: str) -> None:
    from logchat.errors import UsageError
    from logchat.ingest.formats import all_format_names

    if fmt != "auto" and fmt not in all_format_names():
        raise UsageError(f"unknown --format {fmt!r}; choose auto or one of: {', '.join(sorted(all_format_names()))}")


def _window(app: AppContext, since: str | None, until: str | None) -> TimeWindow:
    from logchat.services.ingest import TimeWindow
    from logchat.services.timeparse import parse_cli_window

    start, end = parse_cli_window(since, until, app.settings.ingest.default_timezone)
    return TimeWindow(since=start, until=end)


def _with_progress(app: AppContext, json_output: bool, run):  # type: ignore[no-untyped-def]
    if interactive(app.quiet) and not json_output:
        from logchat.cli.progress import RichIngestProgress

        progress = RichIngestProgress()
        with progress:
            return run(progress)
    return run(None)


def _update_vectors(app: AppContext, report: IngestReport, *, rebuild: bool) -> dict[str, object] | None:
    """Bring the vector index up to date with what was just stored, so `ask` is ready.

    A failure here (an embeddings server that is down) leaves the events stored and searchable by
    full text; it is reported but does not change the exit code, which is about the sources.
    """
    from logchat.services.maintenance import refresh_vectors_after

    vectors = refresh_vectors_after(app.store, app.settings, report, rebuild=rebuild)
    if vectors is not None and "error" in vectors:
        typer.echo(f"logchat: warning: vector index not updated: {vectors['error']}", err=True)
    return vectors


def _render(app: AppContext, report: IngestReport, json_output: bool, vectors: dict[str, object] | None) -> None:
    from logchat.cli.context import stderr_console, stdout_console

    for source in report.sources:
        share = source.timestamp_share
        if share is not None and share < TIMESTAMP_WARNING_SHARE:
            stderr_console().print(
                f"logchat: warning: {source.location}: only {share:.0%} of {source.new_events:,} new events have a "
                f"timestamp (format {source.format or '-'}); `logchat detect {source.location}` shows which lines "
                "got none", markup=False, soft_wrap=True)
    if json_output:
        print_json({**report.to_dict(), "vectors": vectors})
        if report.error is not None:
            typer.echo(f"logchat: error: {report.error}", err=True)
    else:
        err = stderr_console()
        for source in report.sources:
            for message in source.errors:
                if message != report.error:  # said once, below
                    err.print(f"logchat: error: {message}", markup=False)
        if report.error is not None:
            err.print(f"logchat: error: {report.error}", markup=False)
        if not app.quiet:
            out = stdout_console()
            for source in report.sources:
                if source.failed:
                    continue
                note = "" if source.status == "ok" else f" ({source.status})"
                skipped = f", {source.skipped:,} outside the time window" if source.skipped else ""
                out.print(
                    f"{source.location}: {source.new_events:,} new events from {source.new_lines:,} lines "
                    f"[{source.format or '-'}]{skipped}{note}",
                    markup=False,
                )
            if report.passed_over:
                out.print(passed_over_summary(report.passed_over), markup=False)
            rate = report.new_lines / report.elapsed_seconds if report.elapsed_seconds > 0 else 0
            failed = sum(1 for s in report.sources if s.failed)
            out.print(
                f"{report.new_events:,} new events in {report.elapsed_seconds:.2f}s ({rate:,.0f} lines/s)"
                + (f"; {failed} source(s) failed" if failed else ""),
                markup=False,
            )
            if vectors and "error" not in vectors:
                out.print(
                    f"vector index: {vectors['template_vectors']:,} template and {vectors['window_vectors']:,} "
                    f"window vectors ({vectors['templates_embedded']:,} + {vectors['signatures_embedded']:,} "
                    f"embedded) in {vectors['elapsed_seconds']:.2f}s",
                    markup=False,
                )
    if report.failed:
        raise typer.Exit(1)


def passed_over_summary(passed_over: list[dict[str, str]]) -> str:
    """One line for the files a walk did not read: "passed over 3 files: 2 not a log (.xz file) ..."."""
    from collections import Counter

    reasons = Counter(item["reason"] for item in passed_over)
    parts = ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())
    examples = ", ".join(item["path"] for item in passed_over[:3]) + (", ..." if len(passed_over) > 3 else "")
    noun = "file" if len(passed_over) == 1 else "files"
    return f"passed over {len(passed_over)} {noun}: {parts} ({examples})"


def register(app: typer.Typer) -> None:
    app.command("index")(index)
    app.command("reload")(reload)
