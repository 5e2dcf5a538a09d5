"""What every command shares: the settings (loaded once, in the callback), the store, consoles."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from logchat.config import Settings
    from logchat.storage.db import Store


@dataclass
class AppContext:
    config_file: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    quiet: bool = False
    debug: bool = False
    _settings: Settings | None = None
    _store: Store | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from logchat.config import load_settings

            self._settings = load_settings(self.config_file, **self.overrides)
        return self._settings

    @property
    def store(self) -> Store:
        if self._store is None:
            from logchat.storage.db import open_store

            settings = self.settings
            self._store = open_store(settings.database_url, echo=settings.database.echo)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def stdout_console() -> Console:
    from rich.console import Console

    return Console(soft_wrap=True, highlight=False)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, highlight=False)


def interactive(quiet: bool) -> bool:
    """Progress bars only for a person at a terminal."""
    return not quiet and sys.stderr.isatty()


def print_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, default=_json_default, ensure_ascii=False) + "\n")


def _json_default(value: Any) -> Any:
    from datetime import datetime

    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
