"""Slash commands of the chat socket, as a table: name -> (permission, handler, help line).

`/help` reads the table, so it lists exactly the commands the caller's role may use.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from logchat.errors import UsageError

if TYPE_CHECKING:
    from logchat.daemon.app import Services
    from logchat.services.auth import Principal


@dataclass(frozen=True)
class Command:
    permission: str
    handler: Callable[[Services, Principal, list[str]], Awaitable[dict[str, Any]]]
    usage: str
    help: str


COMMANDS: dict[str, Command] = {}


def command(name: str, *, permission: str, usage: str, help: str) -> Callable[..., Any]:
    def register(handler: Callable[[Services, Principal, list[str]], Awaitable[dict[str, Any]]]) -> Any:
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


async def run_command(services: Services, principal: Principal, text: str) -> dict[str, Any]:
    from logchat.errors import PermissionDenied

    name, args = split(text)
    found = COMMANDS.get(name)
    if found is None:
        raise UsageError(f"unknown command /{name}: type /help for the list")
    if not principal.can(found.permission):
        raise PermissionDenied(f"/{name} needs the {found.permission} permission, which the {principal.role.value} "
                               "role does not have")
    return await found.handler(services, principal, args)


async def _blocking(services: Services, function: Callable[..., Any], *args: Any) -> Any:
    import asyncio
    import functools

    return await asyncio.get_running_loop().run_in_executor(services.executor, functools.partial(function, *args))


@command("help", permission="chat:use", usage="/help", help="the commands you may use")
async def help_command(services: Services, principal: Principal, args: list[str]) -> dict[str, Any]:
    usable = [{"command": spec.usage, "help": spec.help}
              for spec in COMMANDS.values() if principal.can(spec.permission)]
    lines = [f"{item['command']}: {item['help']}" for item in usable]
    return {"text": "\n".join(lines), "commands": usable}


@command("whoami", permission="chat:use", usage="/whoami", help="your user name, role and permissions")
async def whoami_command(services: Services, principal: Principal, args: list[str]) -> dict[str, Any]:
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
async def stat_command(services: Services, principal: Principal, args: list[str]) -> dict[str, Any]:
    from logchat.services.stats import StatQuery, compute_stats, resolve_level
    from logchat.services.timeparse import parse_cli_window

    options = _stat_arguments(args)
    since, until = parse_cli_window(options.get("since"), options.get("until"),
                                    services.settings.ingest.default_timezone)
    top = options.get("top", "10")
    if not str(top).isdigit() or not 1 <= int(top) <= 1000:
        raise UsageError("/stat: --top takes a whole number from 1 to 1000")
    query = StatQuery(since=since, until=until,
                      level=resolve_level(options["level"]) if options.get("level") else None,
                      sources=options["sources"], hosts=options["hosts"], top=int(top))
    result = await _blocking(services, compute_stats, services.store, query)
    span = result["time_span"]
    first = span["first"].isoformat() if span["first"] else "-"
    last = span["last"].isoformat() if span["last"] else "-"
    return {"text": f"{result['total']:,} events, {first} to {last}", "stats": result}
