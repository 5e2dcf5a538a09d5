"""Use case: the sources `reload` reads. Two kinds, read in this order:

- the configuration file's `[[sources]]` (origin ``config``): read-only here, changed by editing the file;
- sources kept in the store (origin ``store``): added, changed and removed by admins with
  `logchat sources` or the daemon's /api/v1/logs/configured-sources.

Removing a source stops `reload` from reading it; the events already read from it stay in the store.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from logchat.config import Settings, SourceSettings
from logchat.errors import Conflict, NotFound, UsageError
from logchat.services import audit
from logchat.storage import sources_repo
from logchat.storage.models import ConfiguredSource
from logchat.storage.transactions import begin_write, busy_means_try_again

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from logchat.storage.db import Store

CONFIG, STORE = "config", "store"
NAME_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MAX_PATH = 4096
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# Remote schemes the ingest layer reads today (see logchat/ingest/sources.py). A path with another
# scheme would only fail at every reload, so it is refused when the source is added.
SUPPORTED_SCHEMES: frozenset[str] = frozenset({"ssh"})


class InvalidSource(UsageError):
    """A source's name, path or format breaks a rule: 422 naming the field, exit code 2 on the command line."""

    http_status = 422
    code = "invalid_field"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class SourceEntry:
    """One configured source as front ends show it."""

    name: str | None  # None: a [[sources]] entry without a name (its files are named after themselves)
    path: str
    format: str
    enabled: bool
    origin: str  # config | store
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: str | None = None
    updated_by: str | None = None

    @classmethod
    def from_row(cls, row: ConfiguredSource) -> SourceEntry:
        return cls(name=row.name, path=row.path, format=row.format, enabled=row.enabled, origin=STORE,
                   created_at=row.created_at, updated_at=row.updated_at, created_by=row.created_by,
                   updated_by=row.updated_by)

    @classmethod
    def from_settings(cls, source: SourceSettings) -> SourceEntry:
        return cls(name=source.name, path=source.path, format=source.format, enabled=source.enabled, origin=CONFIG)

    def to_settings(self) -> SourceSettings:
        return SourceSettings(path=self.path, name=self.name, format=self.format, enabled=self.enabled)

    def to_dict(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "name": self.name, "path": self.path, "format": self.format, "enabled": self.enabled,
            "origin": self.origin, "created_at": when(self.created_at), "updated_at": when(self.updated_at),
            "created_by": self.created_by, "updated_by": self.updated_by,
        }


# --- rules ---------------------------------------------------------------------------------------


def check_name(name: str) -> str:
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise InvalidSource("name", f"invalid source name {name!r}: use {NAME_RULE}")
    return name


def check_path(path: str) -> str:
    """A local absolute path, glob or directory (or a URL of a scheme the ingest layer reads)."""
    if not path.strip():
        raise InvalidSource("path", "empty path: give an absolute path, glob or directory")
    if "\0" in path:
        raise InvalidSource("path", "a path cannot contain a NUL byte")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidSource("path", "not valid UTF-8 text") from None
    if len(path) > _MAX_PATH:
        raise InvalidSource("path", f"longer than {_MAX_PATH} characters")
    if path.strip() == "-":
        raise InvalidSource("path", "'-' (standard input) cannot be a configured source: pipe it to "
                                    "`logchat index - --name NAME` instead")
    scheme = _SCHEME.match(path)
    if scheme is not None:
        if scheme.group(1).lower() in SUPPORTED_SCHEMES:
            from logchat.errors import SourceError
            from logchat.ingest.ssh_location import parse_ssh_url

            try:
                parse_ssh_url(path)
            except SourceError as exc:
                raise InvalidSource("path", str(exc)) from None
            return path
        raise InvalidSource("path", f"{scheme.group(1)}:// sources are not supported by this version of logchat: "
                                    "give a local absolute path, glob or directory")
    if not os.path.isabs(path):
        raise InvalidSource("path", f"{path!r} is not an absolute path: give the full path from / (a relative "
                                    "path or ~ would depend on where logchat runs)")
    if not path.strip("/"):
        # Every file of the machine, the store's own database included: never what was meant.
        raise InvalidSource("path", "the root directory is not a log source: give the directory of the logs")
    return path


def check_format(fmt: str) -> str:
    from logchat.ingest.formats import FORMAT_NAMES

    wanted = fmt.strip().lower()
    if wanted != "auto" and wanted not in FORMAT_NAMES:
        raise InvalidSource("format", f"unknown format {fmt!r}: use auto or one of {', '.join(sorted(FORMAT_NAMES))}")
    return wanted


# --- reading -------------------------------------------------------------------------------------


def list_sources(store: Store, settings: Settings) -> list[SourceEntry]:
    """The configuration file's sources (in file order), then the store's (by name)."""
    with store.session() as session:
        rows = sources_repo.list_configured(session)
    return [SourceEntry.from_settings(source) for source in settings.sources] + [
        SourceEntry.from_row(row) for row in rows
    ]


def sources_to_reload(store: Store, settings: Settings) -> list[SourceSettings]:
    """What `reload` reads, disabled ones included (it passes over them): the file's first."""
    with store.session() as session:
        rows = sources_repo.list_configured(session)
    # The file's entries as they are: a remote one's host, user, port and identity go with it.
    return list(settings.sources) + [SourceEntry.from_row(row).to_settings() for row in rows]


def get_source(store: Store, settings: Settings, name: str) -> SourceEntry:
    with store.session() as session:
        row = _named_row(session, name)
        if row is not None:
            return SourceEntry.from_row(row)
    configured = _config_source(settings, name.strip())
    if configured is not None:
        return SourceEntry.from_settings(configured)
    raise _not_found(name)


# --- changing ------------------------------------------------------------------------------------


def add_source(
    store: Store, settings: Settings, *, name: str, path: str, fmt: str = "auto", enabled: bool = True,
    actor: str | None = None,
) -> SourceEntry:
    """Keep a new source in the store. Names are unique over both kinds; so are paths, since a second
    source reading the same files would only be passed over by `reload`."""
    name, path, fmt = check_name(name), check_path(path), check_format(fmt)
    _check_not_in_config(settings, name=name, path=path)
    now = datetime.now(UTC)
    with _writing(store, "add the source") as session:
        _check_path_free(session, path, keep=None)
        row = sources_repo.add_configured(session, ConfiguredSource(
            name=name, path=path, format=fmt, enabled=enabled, created_at=now, updated_at=now,
            created_by=actor, updated_by=actor,
        ))
        added = SourceEntry.from_row(row)
    audit.record(store, "source.create", target=name, detail={"path": path, "format": fmt, "enabled": enabled})
    return added


def update_source(
    store: Store, settings: Settings, name: str, *, new_name: str | None = None, path: str | None = None,
    fmt: str | None = None, enabled: bool | None = None, actor: str | None = None,
) -> SourceEntry:
    """Change a store source's name, path, format and/or enabled flag. A new path is read from the
    start at the next reload; what was read from the old one stays."""
    if new_name is None and path is None and fmt is None and enabled is None:
        raise UsageError("nothing to change: give a new name, path, format and/or enabled")
    new_name = check_name(new_name) if new_name is not None else None
    path = check_path(path) if path is not None else None
    fmt = check_format(fmt) if fmt is not None else None
    with _writing(store, "change the source") as session:
        row = _store_row(session, settings, name)
        if new_name is not None and new_name != row.name:
            _check_not_in_config(settings, name=new_name)
            row.name = new_name
        if path is not None and path != row.path:
            _check_not_in_config(settings, path=path)
            _check_path_free(session, path, keep=row.id)
            row.path = path
        if fmt is not None:
            row.format = fmt
        if enabled is not None:
            row.enabled = enabled
        row.updated_at, row.updated_by = datetime.now(UTC), actor
        changed = SourceEntry.from_row(sources_repo.save_configured(session, row))
    detail = {"name": new_name, "path": path, "format": fmt, "enabled": enabled}
    audit.record(store, "source.update", target=name,
                 detail={key: value for key, value in detail.items() if value is not None})
    return changed


def remove_source(store: Store, settings: Settings, name: str) -> SourceEntry:
    """Stop reading a store source. Its events stay in the store (and in `stat`, `ask` and search)."""
    with _writing(store, "remove the source") as session:
        row = _store_row(session, settings, name)
        removed = SourceEntry.from_row(row)
        sources_repo.delete_configured(session, row)
    audit.record(store, "source.delete", target=removed.name, detail={"path": removed.path})
    return removed


# --- helpers -------------------------------------------------------------------------------------


@contextmanager
def _writing(store: Store, what: str) -> Iterator[Session]:
    with busy_means_try_again(what), store.session() as session:
        begin_write(session)
        yield session


def _config_source(settings: Settings, name: str) -> SourceSettings | None:
    return next((source for source in settings.sources if source.name == name), None)


def _config_file(settings: Settings) -> str:
    return str(settings.config_file) if settings.config_file else "the configuration file"


def _named_row(session: Session, name: str) -> ConfiguredSource | None:
    # A name that breaks the rule was never stored (nor sent to the database: it may not even be text it takes).
    wanted = name.strip()
    return sources_repo.get_configured(session, wanted) if _NAME.fullmatch(wanted) else None


def _store_row(session: Session, settings: Settings, name: str) -> ConfiguredSource:
    row = _named_row(session, name)
    if row is not None:
        return row
    if _config_source(settings, name.strip()) is not None:
        raise Conflict(f"source {name.strip()!r} is defined in [[sources]] of {_config_file(settings)}: "
                       "edit that file to change or remove it")
    raise _not_found(name)


def _not_found(name: str) -> NotFound:
    return NotFound(f"no source named {name.strip()!r}: list them with `logchat sources list` "
                    "or GET /api/v1/logs/configured-sources")


def _check_not_in_config(settings: Settings, *, name: str | None = None, path: str | None = None) -> None:
    if name is not None and _config_source(settings, name) is not None:
        raise Conflict(f"name {name!r} is taken by a [[sources]] entry of {_config_file(settings)}")
    if path is not None:
        same = next((source for source in settings.sources if source.path == path), None)
        if same is not None:
            label = f" ({same.name})" if same.name else ""
            raise Conflict(f"path {path!r} is already read by a [[sources]] entry{label} of {_config_file(settings)}")


def _check_path_free(session: Session, path: str, *, keep: int | None) -> None:
    same = next((row for row in sources_repo.list_configured(session) if row.path == path and row.id != keep), None)
    if same is not None:
        raise Conflict(f"path {path!r} is already read by source {same.name!r}")
