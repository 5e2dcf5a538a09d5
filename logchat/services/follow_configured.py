"""Use case: follow every configured source as it grows (the daemon's `[serve] follow`), with the same
loop as `logchat index --follow` (services/follow.py).

The sources are those `logchat reload` reads (logchat.toml's `[[sources]]`, then those kept in the
store), each with its own name, format and SSH key. They are read again at every rescan of the follow,
so a source added meanwhile (`logchat sources add`, POST /api/v1/logs/configured-sources) is followed
within seconds; a source disabled or removed is no longer looked for, and its files already followed
are followed until the follow restarts.
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
    follower = Follower(store, settings, inputs.locations(), stop=stop, expand=inputs.expand,
                         file_for=remote_file, reader_process=reader_process, remote=remote)
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
                    self.remote.per_url[location] = (source.name, source.format, remote_options(
                        self.settings, identity=source.identity, accept_new_host_key=source.accept_new_host_key))
                else:
                    _merge(result, src.expand_inputs([location], name=source.name, fmt=source.format))
        if remote_urls:
            _merge(result, self.remote.expand(remote_urls))
        return result


def _merge(into: src.Expansion, part: src.Expansion) -> None:
    known = {spec.location for spec in into.specs}
    into.specs.extend(spec for spec in part.specs if spec.location not in known)
    into.problems.extend(part.problems)
    into.passed_over.extend(part.passed_over)
