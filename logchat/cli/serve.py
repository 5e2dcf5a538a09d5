"""`logchat serve`: the daemon for web clients and programs calling over HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from logchat.cli.context import AppContext

if TYPE_CHECKING:
    import logging
    import ssl

    from aiohttp import web

    from logchat.config import Settings


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default: serve.host).")] = None,
    port: Annotated[
        int | None, typer.Option("--port", "-p", min=0, max=65535, help="Port (default: serve.port; 0 picks one).")
    ] = None,
    allow_no_users: Annotated[
        bool, typer.Option("--allow-no-users", help="Start without an enabled admin (an empty store is an open demo).")
    ] = False,
) -> None:
    """Run the daemon: the REST API under /api/v1. SIGTERM or Ctrl-C stop it gracefully.

    Example: logchat serve --host 127.0.0.1 --port 8080
    """
    import asyncio

    from logchat.daemon.app import build_services, create_app

    app_ctx: AppContext = ctx.obj
    settings = app_ctx.settings
    # The command's store: private data directory and file modes, damage reported, as for every command.
    services = build_services(settings, app_ctx.open_store(long_running=True), allow_no_users=allow_no_users)
    _configure_logging(settings, quiet=app_ctx.quiet)
    tls = _tls_context(settings)
    application = create_app(settings, services)
    asyncio.run(
        _run(application, host or settings.serve.host, settings.serve.port if port is None else port,
             settings.serve.shutdown_grace_seconds, tls)
    )


def _tls_context(settings: Settings) -> ssl.SSLContext | None:
    import ssl

    serve = settings.serve
    if serve.tls_certificate is None or serve.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(serve.tls_certificate, serve.tls_key)
    except (OSError, ssl.SSLError) as exc:
        from logchat.errors import ConfigError

        raise ConfigError(
            f"config keys 'serve.tls_certificate'/'serve.tls_key': cannot load {serve.tls_certificate} "
            f"with {serve.tls_key}: {getattr(exc, 'strerror', None) or exc}"
        ) from exc
    return context


async def _run(app: web.Application, host: str, port: int, grace_seconds: float,
               tls: ssl.SSLContext | None = None) -> None:
    """Listen until SIGTERM/SIGINT; then stop accepting, let requests in flight finish for up to
    ``grace_seconds``, close the resources (cleanup contexts) and return, so the exit code is 0."""
    import asyncio
    import signal

    from aiohttp import web

    # A request line of up to 32 KiB (aiohttp's default is 8 KiB): long query strings get the API's
    # own JSON answer (422 naming the field) rather than the HTTP parser's plain-text 400.
    runner = web.AppRunner(app, shutdown_timeout=grace_seconds, access_log=None, max_line_size=32768)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, shutdown_timeout=grace_seconds, ssl_context=tls)
        try:
            await site.start()
        except OSError as exc:
            from logchat.errors import UsageError

            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        bound_host, bound_port = runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        scheme = "https" if tls is not None else "http"
        _announce(f"logchat: serving on {scheme}://{shown}:{bound_port}/ (stop with Ctrl-C or SIGTERM)")
        await stop.wait()
        _announce(f"logchat: stopping; requests in flight have {grace_seconds:g}s to finish")
    finally:
        await runner.cleanup()
    _announce("logchat: stopped")


def _announce(message: str) -> None:
    """The daemon's start and stop lines, always written (even with --quiet): a plain line, or a JSON
    line when logging.format is json, so that a log shipper reads every line of the stream."""
    import logging

    from logchat.observability.logs import LIFECYCLE_LOGGER

    lifecycle = logging.getLogger(LIFECYCLE_LOGGER)
    if lifecycle.handlers:
        lifecycle.info(message)
    else:
        typer.echo(message, err=True)


def _configure_logging(settings: Settings, *, quiet: bool) -> None:
    import logging

    from logchat.observability import logs

    logs.configure(settings.logging, level="warning" if quiet else None)
    # aiohttp logs a request its HTTP parser refuses (a NUL in a header, a request line too long)
    # with a traceback; the client got its 400, so one line is enough.
    logging.getLogger("aiohttp.server").addFilter(_one_line_for_malformed_requests)


def _one_line_for_malformed_requests(record: logging.LogRecord) -> bool:
    from aiohttp.http_exceptions import HttpProcessingError

    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, HttpProcessingError):
        record.msg, record.args = "refused a malformed request: %s", (error.message.strip().splitlines()[0],)
        record.exc_info = record.exc_text = None
    return True


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
