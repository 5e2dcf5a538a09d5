"""Slash commands of the chat socket, as a table: name -> (permission, handler, help line).

`/help` reads the table, so it lists exactly the commands the caller's role may use.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from logchat.daemon.pool import in_pool
from logchat.errors import UsageError

if TYPE_CHECKING:
    from aiohttp import web

    from logchat.daemon.app import Services
    from logchat.services.auth import Principal


@dataclass
class Conversation:
    """What a command may read and change: the socket's caller and its current chat session."""

    services: Services
    principal: Principal
    session: str | None = None  # questions without a session of their own go here
    app: web.Application | None = None  # for the daemon-wide job registry
    socket_id: str | None = None  # the chat socket this conversation runs on

    @property
    def owner(self) -> int | None:
        return self.principal.user_id


# A command may send frames before its reply (progress); ``Progress`` sends one.
Progress = Callable[[dict[str, Any]], None]
Handler = Callable[[Conversation, list[str], Progress], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Command:
    permission: str
    handler: Handler
    usage: str
    help: str


COMMANDS: dict[str, Command] = {}


def command(name: str, *, permission: str, usage: str, help: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Command(permission, handler, usage, help)
        return handler

    return register


def split(text: str) -> tuple[str, list[str]]:
    """'/stat --level error' -> ('stat', ['--level', 'error'])."""
    try:
        words = shlex.split(text[1:])
    except ValueError as exc:
        raise UsageError(f"cannot read the command: {exc}") from None
    if not words:
        raise UsageError("an empty command: type /help for the list")
    return words[0].lower(), words[1:]


async def run_command(conversation: Conversation, text: str, progress: Progress | None = None) -> dict[str, Any]:
    from logchat.errors import PermissionDenied

    name, args = split(text)
    found = COMMANDS.get(name)
    if found is None:
        raise UsageError(f"unknown command /{name}: type /help for the list")
    role = conversation.principal.role.value
    if not conversation.principal.can(found.permission):
        raise PermissionDenied(f"/{name} needs the {found.permission} permission, which the {role} role does not have")
    return await found.handler(conversation, args, progress or (lambda frame: None))


@command("help", permission="chat:use", usage="/help", help="the commands you may use")
async def help_command(conversation: Conversation, args: list[str], progress: Progress) -> dict[str, Any]:
    usable = [{"command": spec.usage, "help": spec.help}
              for spec in COMMANDS.values() if conversation.principal.can(spec.permission)]
    lines = [f"{item['command']}: {item['help']}" for item in usable]
    return {"text": "\n".join(lines), "commands": usable}


@command("whoami", permission="chat:use", usage="/whoami", help="your user name, role and permissions")
async def whoami_command(conversation: Conversation, args: list[str], progress: Progress) -> dict[str, Any]:
    principal = conversation.principal
    permissions = sorted(principal.permissions)
    return {"text": f"{principal.username} ({principal.role.value})", "username": principal.username,
            "role": principal.role.value, "permissions": permissions}


def _stat_arguments(args: list[str]) -> dict[str, Any]:
    """`/stat [--since X] [--until Y] [--level L] [--source S] [--host H] [--top N]`, as `logchat stat`."""
    options: dict[str, Any] = {"sources": [], "hosts": []}
    names = {"--since": "since", "--until": "until", "--level": "level", "--source": "sources", "--host": "hosts",
             "--top": "top"}
    words = iter(args)
    for word in words:
        key = names.get(word)
        value = next(words, None)
        if key is None or value is None:
            raise UsageError(f"/stat: unexpected {word!r}; usage: {COMMANDS['stat'].usage}")
        if isinstance(options.get(key), list):
            options[key].append(value)
        else:
            options[key] = value
    return options


@command("stat", permission="logs:read", usage="/stat [--since X] [--until Y] [--level L] [--source S] [--host H]",
         help="what is in the store, as `logchat stat` shows it")
async def stat_command(conversation: Conversation, args: list[str], progress: Progress) -> dict[str, Any]:
    from logchat.services.stats import StatQuery, compute_stats, resolve_level
    from logchat.services.timeparse import parse_cli_window

    services = conversation.services
    options = _stat_arguments(args)
    since, until = parse_cli_window(options.get("since"), options.get("until"),
                                    services.settings.ingest.default_timezone)
    top = options.get("top", "10")
    if not str(top).isdigit() or not 1 <= int(top) <= 1000:
        raise UsageError("/stat: --top takes a whole number from 1 to 1000")
    query = StatQuery(since=since, until=until,
                      level=resolve_level(options["level"]) if options.get("level") else None,
                      sources=options["sources"], hosts=options["hosts"], top=int(top))
    result = await in_pool(services, compute_stats, services.store, query)
    span = result["time_span"]
    first = span["first"].isoformat() if span["first"] else "-"
    last = span["last"].isoformat() if span["last"] else "-"
    return {"text": f"{result['total']:,} events, {first} to {last}", "stats": result}


def _need_account(conversation: Conversation) -> int:
    if conversation.owner is None:
        raise UsageError("chat sessions need an account: sign in")
    return conversation.owner


@command("sessions", permission="chat:use", usage="/sessions", help="your chat sessions, most recent first")
async def sessions_command(conversation: Conversation, args: list[str], progress: Progress) -> dict[str, Any]:
    from logchat.services.sessions import list_sessions

    owner = _need_account(conversation)
    found = await in_pool(conversation.services, list_sessions, conversation.services.store, owner)
    names = [item["name"] for item in found]
    text = "\n".join(names) if names else "no sessions yet: /session NAME starts one"
    return {"text": text, "sessions": found, "current": conversation.session}


@command("session", permission="chat:use", usage="/session NAME",
         help="switch to the session NAME (created if new) and see its last turns")
async def session_command(conversation: Conversation, args: list[str], progress: Progress) -> dict[str, Any]:
    from logchat.services.sessions import ensure_session, session_messages

    owner = _need_account(conversation)
    if len(args) != 1:
        raise UsageError("usage: /session NAME (quote a name with spaces)")
    services = conversation.services
    await in_pool(services, ensure_session, services.store, args[0], owner)
    page = await in_pool(services, session_messages, services.store, args[0], owner)
    conversation.session = page["name"]
    return {"text": f"session {page['name']} ({len(page['messages'])} recent turns)", "session": page["name"],
            "messages": page["messages"]}


@command("clear", permission="chat:use", usage="/clear", help="start a new, empty session")
async def clear_command(conversation: Conversation, args: list[str], progress: Progress) -> dict[str, Any]:
    from datetime import UTC, datetime

    from logchat.services.sessions import ensure_session

    owner = _need_account(conversation)
    name = f"chat-{datetime.now(UTC):%Y%m%d-%H%M%S-%f}"
    await in_pool(conversation.services, ensure_session, conversation.services.store, name, owner)
    conversation.session = name
    return {"text": f"new session {name}", "session": name}


@command("reload", permission="logs:reload", usage="/reload [SINCE] [UNTIL]",
         help="read what is new in the configured sources: progress, then the summary")
async def reload_command(conversation: Conversation, args: list[str], progress: Progress) -> dict[str, Any]:
    import asyncio

    from logchat.daemon.jobs import JOBS, SUCCEEDED, ReloadRunning
    from logchat.services.ingest import TimeWindow
    from logchat.services.timeparse import parse_cli_window

    if len(args) > 2 or conversation.app is None:
        raise UsageError(f"usage: {COMMANDS['reload'].usage}")
    since, until = parse_cli_window(args[0] if args else None, args[1] if len(args) > 1 else None,
                                    conversation.services.settings.ingest.default_timezone)
    registry = conversation.app[JOBS]
    try:
        # The one-at-a-time rule of POST /api/v1/logs/reload holds here too: same registry.
        job = await registry.begin_reload(conversation.services, window=TimeWindow(since, until),
                                          started_by=conversation.principal.username,
                                          notify_user=conversation.principal.username,
                                          origin_socket=conversation.socket_id)
    except ReloadRunning as exc:
        raise UsageError(f"{exc.message}; follow it at /api/v1/logs/jobs/{exc.job_id}") from None
    waiting = asyncio.ensure_future(registry.wait(job))
    while not waiting.done():
        await asyncio.wait({waiting}, timeout=1.0)
        if not waiting.done():
            progress({"type": "progress", "job": job.id, **job.to_dict().get("progress", {})})
    finished = waiting.result().to_dict()
    summary = finished.get("summary") or {}
    if finished.get("state") != SUCCEEDED:
        error = finished.get("error") or "the reload failed"
        return {"text": f"reload {finished.get('state')}: {error}", "job": finished}
    return {"text": f"{summary.get('new_events', 0):,} new events from {len(summary.get('sources', []))} sources",
            "job": finished}
