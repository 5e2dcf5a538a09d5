"""What every command shares: the settings (loaded once, in the callback), the store, consoles."""

from __future__ import annotations

import os
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
    _saved_umask: int | None = None
    _data_dir_ready: bool = False

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from logchat.config import load_settings

            self._settings = load_settings(self.config_file, **self.overrides)
        return self._settings

    @property
    def store(self) -> Store:
        return self.open_store()

    def open_store(self, *, for_writing: bool = False, long_running: bool = False) -> Store:
        """The store, opened once. Writers check a larger file for damage first (see QUICK_CHECK_*); a command
        that only reads and soon exits reads a SQLite file through a memory map (see storage.db._map_file)."""
        if self._store is None:
            from logchat.storage.db import QUICK_CHECK_MAX_BYTES, WRITE_QUICK_CHECK_MAX_BYTES, open_store

            settings = self.settings
            self._private_files(settings.data_dir)
            self._store = open_store(
                settings.database_url, echo=settings.database.echo,
                quick_check_max_bytes=WRITE_QUICK_CHECK_MAX_BYTES if for_writing else QUICK_CHECK_MAX_BYTES,
                map_file=not (for_writing or long_running),
            )
        return self._store

    def prepare_data_dir(self) -> None:
        """What opening the store does to the data directory and the umask, for readers that skip the store."""
        self._private_files(self.settings.data_dir)

    def _private_files(self, data_dir: Path) -> None:
        # Everything this process writes in the data dir (database, -wal/-shm, vector files, locks)
        # is for this user only; the umask covers files created by libraries such as FAISS.
        from logchat.storage.sqlite_files import secure_data_dir

        if self._saved_umask is None:
            self._saved_umask = os.umask(0o077)
            os.umask(self._saved_umask | 0o077)
        if self._data_dir_ready:
            return
        self._data_dir_ready = True
        for notice in secure_data_dir(data_dir):
            if not self.quiet:
                print(f"logchat: warning: {notice}", file=sys.stderr)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._saved_umask is not None:
            os.umask(self._saved_umask)
            self._saved_umask = None


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
