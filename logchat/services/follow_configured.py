"""Use case: follow every configured source as it grows (the daemon's `[serve] follow`), with the same
loop as `logchat index --follow` (services/follow.py).

The sources are those `logchat reload` reads (logchat.toml's `[[sources]]`, then those kept in the
store), each with its own name, format and SSH key. They are read again at every rescan of the follow,
so a source added meanwhile (`logchat sources add`, POST /api/v1/logs/configured-sources) is followed
within seconds, and the files of a source disabled or removed are no longer followed from the next
rescan on (what was read of them stays stored).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from logchat.config import Settings, SourceSettings
from logchat.errors import StoreBusy, StoreError
from logchat.ingest import sources as src
from logchat.ingest.ssh_location import is_ssh_url
from logchat.services.follow import FALLBACK_POLL_SECONDS, Follower, FollowReport
from logchat.services.follow_remote import RemoteFollowing, remote_file
from logchat.services.ingest import remote_options
from logchat.storage.db import Store


def follow_configured_sources(
    store: Store,
    settings: Settings,
    *,
    stop: threading.Event,
    on_pass: Callable[[FollowReport], None] | None = None,
    update_vectors: bool = True,
    reader_process: bool = False,
) -> FollowReport:
    """Ingest what is new in every enabled configured source, then keep ingesting what is appended
    until ``stop`` is set; return with everything read committed. ``reader_process`` is off by
    default: the daemon, the caller this is for, runs other threads."""
    poll = settings.ingest.follow_poll_interval
    remote = RemoteFollowing(settings, poll or FALLBACK_POLL_SECONDS)
    inputs = _ConfiguredInputs(store, settings, remote)
    follower = Follower(
        store,
        settings,
        inputs.locations(),
        stop=stop,
        expand=inputs.expand,
        file_for=remote_file,
        reader_process=reader_process,
        remote=remote,
        is_retired=inputs.is_retired,
    )
    try:
        return follower.run(poll, on_pass, update_vectors)
    finally:
        remote.close()


class _ConfiguredInputs:
    """The enabled configured sources as the follow's inputs, read again at each expansion."""

    def __init__(self, store: Store, settings: Settings, remote: RemoteFollowing) -> None:
        self.store = store
        self.settings = settings
        self.remote = remote
        self.sources: list[SourceSettings] = []
        # Each file followed -> the configured locations (paths, globs, URLs) it was found under.
        self.origins: dict[str, set[str]] = {}
        self.configured: set[str] = set()

    def _refresh(self) -> None:
        from logchat.services.configured_sources import sources_to_reload

        # The store busy or failing: the sources known from the last look are followed meanwhile.
        with contextlib.suppress(StoreError, StoreBusy):
            self.sources = [source for source in sources_to_reload(self.store, self.settings) if source.enabled]

    def locations(self) -> list[str]:
        self._refresh()
        return [location for source in self.sources for location in source.locations()]

    def expand(self, _inputs: list[str]) -> src.Expansion:
        self._refresh()
        result = src.Expansion()
        remote_urls = []
        for source in self.sources:
            for location in source.locations():
                if is_ssh_url(location):
                    remote_urls.append(location)
                    self.remote.per_url[location] = (
                        source.name,
                        source.format,
                        remote_options(
                            self.settings, identity=source.identity, accept_new_host_key=source.accept_new_host_key
                        ),
                    )
                else:
                    part = src.expand_inputs([location], name=source.name, fmt=source.format)
                    self._found(location, part.specs)
                    _merge(result, part)
        if remote_urls:
            _merge(result, self.remote.expand(remote_urls))
            for url in remote_urls:
                self._found(url, self.remote.known_files(url))
        self.configured = {location for source in self.sources for location in source.locations()}
        return result

    def _found(self, location: str, specs: list[src.SourceSpec]) -> None:
        for spec in specs:
            self.origins.setdefault(spec.location, set()).add(location)

    def is_retired(self, spec: src.SourceSpec) -> bool:
        """A file found only under locations no enabled source names any more."""
        origins = self.origins.get(spec.location)
        return origins is not None and not origins & self.configured


def _merge(into: src.Expansion, part: src.Expansion) -> None:
    known = {spec.location for spec in into.specs}
    into.specs.extend(spec for spec in part.specs if spec.location not in known)
    into.problems.extend(part.problems)
    into.passed_over.extend(part.passed_over)
