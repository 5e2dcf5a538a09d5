"""The sources `reload` reads, over HTTP: the configuration file's `[[sources]]` (read-only) and the ones kept
in the store, which admins add, change and remove (``logs:configure``). Rules in services/configured_sources.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from logchat.daemon.endpoints import Call, InvalidField, endpoint
from logchat.daemon.routes.auth import StrictBody

TAG = "logs"
PATH = "/api/v1/logs/configured-sources"
NAME_HELP = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit; unique over both origins."
PATH_HELP = "A local absolute path, glob or directory (read recursively), as `logchat index` takes it."
FORMAT_HELP = "`auto` (detected per file) or a format name as `logchat index --format` takes it."


class ConfiguredSourceOut(BaseModel):
    name: str | None = Field(description="Null for a `[[sources]]` entry without a name.")
    path: str
    format: str
    enabled: bool
    origin: Literal["config", "store"] = Field(
        description="`config`: a `[[sources]]` entry of the configuration file (change it there); "
                    "`store`: added over the API or with `logchat sources`.")
    created_at: datetime | None = Field(description="Null for `config` sources; so are the three below.")
    updated_at: datetime | None
    created_by: str | None = Field(description="The account that added it, or `os:<system user>`.")
    updated_by: str | None


class ConfiguredSourceList(BaseModel):
    sources: list[ConfiguredSourceOut]


class NewSource(StrictBody):
    name: str = Field(min_length=1, max_length=64, description=NAME_HELP, examples=["nginx"])
    path: str = Field(min_length=1, max_length=4096, description=PATH_HELP, examples=["/var/log/nginx/*.log"])
    format: str = Field("auto", min_length=1, max_length=64, description=FORMAT_HELP)
    enabled: bool = True


class SourceChange(StrictBody):
    name: str | None = Field(None, min_length=1, max_length=64, description="A new name. " + NAME_HELP)
    path: str | None = Field(None, min_length=1, max_length=4096, description=PATH_HELP)
    format: str | None = Field(None, min_length=1, max_length=64, description=FORMAT_HELP)
    enabled: bool | None = None


@endpoint("GET", PATH, access="logs:read", tag=TAG, response=ConfiguredSourceList,
          summary="The sources `reload` reads: the configuration file's, then those kept in the store.")
async def list_configured(call: Call) -> ConfiguredSourceList:
    from logchat.daemon.app import run_blocking
    from logchat.services.configured_sources import list_sources

    entries = await run_blocking(call.request, list_sources, call.services.store, call.services.settings)
    return ConfiguredSourceList(sources=[_out(entry) for entry in entries])


@endpoint("POST", PATH, access="logs:configure", tag=TAG, body=NewSource, response=ConfiguredSourceOut,
          status=201, summary="Add a source to the store; the next reload reads it.")
async def add_configured(call: Call) -> ConfiguredSourceOut:
    from logchat.daemon.app import run_blocking
    from logchat.services.configured_sources import add_source

    body: NewSource = call.body
    entry = await run_blocking(call.request, add_source, call.services.store, call.services.settings,
                               name=body.name, path=body.path, fmt=body.format, enabled=body.enabled,
                               actor=_actor(call))
    return _out(entry)


@endpoint("PATCH", PATH + "/{name}", access="logs:configure", tag=TAG, body=SourceChange,
          response=ConfiguredSourceOut,
          summary="Rename a store source, or change its path, format or enabled flag (any of them).")
async def change_configured(call: Call) -> ConfiguredSourceOut:
    from logchat.daemon.app import run_blocking
    from logchat.services.configured_sources import update_source

    body: SourceChange = call.body
    if not body.model_fields_set or all(getattr(body, key) is None for key in body.model_fields_set):
        raise InvalidField("nothing to change: give name, path, format and/or enabled", field=None)
    entry = await run_blocking(call.request, update_source, call.services.store, call.services.settings,
                               _name(call), new_name=body.name, path=body.path, fmt=body.format,
                               enabled=body.enabled, actor=_actor(call))
    return _out(entry)


@endpoint("DELETE", PATH + "/{name}", access="logs:configure", tag=TAG, status=204,
          summary="Remove a store source: reload stops reading it; its events stay in the store.")
async def remove_configured(call: Call) -> web.Response:
    from logchat.daemon.app import run_blocking
    from logchat.services.configured_sources import remove_source

    await run_blocking(call.request, remove_source, call.services.store, call.services.settings, _name(call))
    return web.Response(status=204)


def _out(entry: Any) -> ConfiguredSourceOut:
    return ConfiguredSourceOut.model_validate(entry.to_dict())


def _name(call: Call) -> str:
    return call.request.match_info["name"]


def _actor(call: Call) -> str | None:
    return call.principal.username if call.principal is not None else None
