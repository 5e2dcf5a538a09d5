"""The ssh:// part of a follow (services/follow.py): one HostPool for the whole follow, each remote file
polled on a schedule that backs off while it does not change, and hosts that went away retried with
back-off while the local files and the other hosts are followed on.

inotify sees local files only, so a remote file is looked at by the host's `stat` (one command over the
connection already open). A host that cannot be reached is one outage: said once when it starts and once
when it ends, never at every look; its files keep their checkpoints and are read on from them when it
is back.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from logchat.config import Settings
from logchat.errors import SourceError
from logchat.ingest import sources as src
from logchat.ingest.ssh_location import is_ssh_url, parse_ssh_url
from logchat.services.ingest import host_pool, remote_backoff_seconds, remote_options

if TYPE_CHECKING:
    from logchat.ingest.remote import RemoteHost
    from logchat.ingest.ssh_location import RemoteOptions

# An unchanged remote file is looked at less and less often, down to once per this many seconds
# (or the poll interval, when that is longer): an idle host costs a `stat` a second, a busy one is read
# at the poll interval.
IDLE_POLL_MAX_SECONDS = 2.0
# Globs and directories on hosts are expanded again at most this often (a command on each host).
REMOTE_RESCAN_SECONDS = 5.0
# The longest wait between two attempts to reach a host that went away.
RECONNECT_MAX_SECONDS = 30.0


@dataclass
class Outage:
    """A host that could not be reached, from ``since`` (wall clock) until ``until``."""

    host: str
    error: str
    since: float
    until: float | None = None
    attempts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "error": self.error,
            "since": round(self.since, 3),
            "until": None if self.until is None else round(self.until, 3),
            "attempts": self.attempts,
        }


@dataclass
class _HostState:
    outage: Outage | None = None
    retry_at: float = 0.0  # monotonic


@dataclass
class _Schedule:
    interval: float
    next_look: float = 0.0  # monotonic


@dataclass
class RemoteFollowing:
    """Everything a follow needs for its ssh:// inputs; ``close`` closes the connections.

    What takes the network (reconnecting, expanding a host's globs, looking at and reading its files)
    is done by that host's job (services/follow.py runs one per host at a time, several hosts at once);
    the follow's own thread only asks what is known and what is due, so a host that hangs never holds
    up the local files or the other hosts."""

    settings: Settings
    poll_seconds: float
    name: str | None = None
    fmt: str = "auto"
    identity: str | None = None
    accept_new_host_key: bool = False
    outages: list[Outage] = field(default_factory=list)
    # A URL read with a name, format or key of its own (configured sources): URL -> (name, format, options).
    per_url: dict[str, tuple[str | None, str, RemoteOptions]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pool = host_pool(self.settings)
        self.options = remote_options(
            self.settings, identity=self.identity, accept_new_host_key=self.accept_new_host_key
        )
        self._hosts: dict[int, _HostState] = {}
        self._schedules: dict[str, _Schedule] = {}
        self._last_expansion: dict[str, src.Expansion] = {}
        self._expanded_at: dict[str, float] = {}
        self._items: list[str] = []  # the ssh:// inputs of the last expansion
        self._guard = threading.Lock()  # the containers several host jobs update

    def close(self) -> None:
        self.pool.close()

    # -- which files -------------------------------------------------------------------------

    def expand(self, inputs: list[str]) -> src.Expansion:
        """Local inputs expanded now; remote ones as their host's job last expanded them (``refresh``):
        a host that is away keeps the files it had, and says nothing more about them."""
        local = [item for item in inputs if not is_ssh_url(item)]
        result = src.expand_inputs(local, name=self.name, fmt=self.fmt) if local else src.Expansion()
        self._items = [item for item in inputs if is_ssh_url(item)]
        for item in self._items:
            part = self._last_expansion.get(item, src.Expansion())
            if self._host_of(item) is None:
                part = src.expand_inputs([item], name=self.name, fmt=self.fmt)  # malformed: says why, no network
            result.specs.extend(
                spec for spec in part.specs if spec.location not in {known.location for known in result.specs}
            )
            result.problems.extend(part.problems)
            result.passed_over.extend(part.passed_over)
        return result

    def known_files(self, item: str) -> list[src.SourceSpec]:
        """The files an ssh:// input named at its last expansion."""
        return list(self._last_expansion.get(item, src.Expansion()).specs)

    def hosts(self) -> list[RemoteHost]:
        """The hosts of the ssh:// inputs, each once."""
        found: dict[int, RemoteHost] = {}
        for item in self._items:
            host = self._host_of(item)
            if host is not None:
                found.setdefault(id(host), host)
        return list(found.values())

    def refresh(self, host: RemoteHost, *, now: float | None = None) -> bool:
        """Expand again, on the host, its inputs last expanded REMOTE_RESCAN_SECONDS ago or never (in the
        host's job: a command on the host). True when it answered with files not known before."""
        now = time.monotonic() if now is None else now
        grew = False
        for item in [item for item in self._items if self._host_of(item) is host and self._refresh_due(item, now)]:
            self._expanded_at[item] = now
            name, fmt, options = self._choices(item)
            part = src.expand_inputs([item], name=name, fmt=fmt, hosts=self.pool, remote_options=options)
            if not host.connected and part.problems:
                self.host_failed(host, str(part.problems[0][1]))
                return grew  # its files are kept as they were; tried again with back-off
            self.host_answered(host)
            before = {spec.location for spec in self._last_expansion.get(item, src.Expansion()).specs}
            grew = grew or any(spec.location not in before for spec in part.specs)
            self._last_expansion[item] = part
        return grew

    def _refresh_due(self, item: str, now: float) -> bool:
        return item not in self._expanded_at or now - self._expanded_at[item] >= REMOTE_RESCAN_SECONDS

    def _choices(self, item: str) -> tuple[str | None, str, RemoteOptions]:
        return self.per_url.get(item, (self.name, self.fmt, self.options))

    def _host_of(self, item: str) -> RemoteHost | None:
        try:
            return self.pool.host(parse_ssh_url(item), self._choices(item)[2])
        except SourceError:
            return None  # a malformed URL: expand_inputs says what is wrong with it

    # -- when to look ------------------------------------------------------------------------

    @staticmethod
    def is_remote(spec: src.SourceSpec) -> bool:
        return src.files_of(spec).remote

    @staticmethod
    def host_for(spec: src.SourceSpec) -> RemoteHost:
        return spec.files.host  # type: ignore[union-attr]

    def host_due(self, host: RemoteHost, specs: list[src.SourceSpec], now: float) -> bool:
        """Whether the host's job is to run now: away and due for another try, or up with a file due for
        a look or an input due for expanding again."""
        state = self._hosts.get(id(host))
        if state is not None and state.outage is not None:
            return now >= state.retry_at
        return any(now >= self._schedule(spec).next_look for spec in specs) or any(
            self._refresh_due(item, now) for item in self._items if self._host_of(item) is host
        )

    def due(self, spec: src.SourceSpec, now: float) -> bool:
        """Whether a remote file of a host that is up is to be looked at now (its poll interval passed)."""
        return not self.is_away(self.host_for(spec)) and now >= self._schedule(spec).next_look

    def is_away(self, host: RemoteHost) -> bool:
        state = self._hosts.get(id(host))
        return state is not None and state.outage is not None

    def looked(self, spec: src.SourceSpec, changed: bool, now: float) -> None:
        """Back off while a file does not change; back to the poll interval as soon as it does."""
        schedule = self._schedule(spec)
        ceiling = max(self.poll_seconds, IDLE_POLL_MAX_SECONDS)
        schedule.interval = self.poll_seconds if changed else min(schedule.interval * 2, ceiling)
        schedule.next_look = now + schedule.interval

    def next_due_in(self, specs: list[src.SourceSpec], now: float, busy: set[int] | None = None) -> float | None:
        """Seconds until the next remote look (a file's poll or a host's retry); None without remote files.
        ``busy``: hosts (by id) whose job is running, which say when they are done."""
        times = []
        for spec in specs:
            host = self.host_for(spec)
            if busy is not None and id(host) in busy:
                continue
            state = self._hosts.get(id(host))
            if state is not None and state.outage is not None:
                times.append(state.retry_at)
            else:
                times.append(self._schedule(spec).next_look)
        return max(0.0, min(times) - now) if times else None

    def forget(self, spec: src.SourceSpec) -> None:
        """A file no longer followed: no more looks at it."""
        with self._guard:
            self._schedules.pop(spec.location, None)

    def _schedule(self, spec: src.SourceSpec) -> _Schedule:
        with self._guard:
            return self._schedules.setdefault(spec.location, _Schedule(self.poll_seconds))

    # -- hosts that go away ------------------------------------------------------------------

    def try_again(self, host: RemoteHost) -> bool:
        """In the host's job: up, or away and reconnected now (once per back-off step)."""
        if not self.is_away(host):
            return True
        try:
            host.reconnect()
        except SourceError as exc:
            self.host_failed(host, str(exc))
            return False
        self.host_answered(host)
        return True

    def host_failed(self, host: RemoteHost, error: str) -> bool:
        """A host did not answer; True when this starts an outage (to be said), False during one."""
        with self._guard:
            state = self._hosts.setdefault(id(host), _HostState())
            starts = state.outage is None
            if starts:
                state.outage = Outage(host=host.label, error=error, since=time.time())
                self.outages.append(state.outage)
            assert state.outage is not None
            wait = min(remote_backoff_seconds(self.settings, state.outage.attempts), RECONNECT_MAX_SECONDS)
            state.outage.attempts += 1
            state.retry_at = time.monotonic() + max(wait, self.poll_seconds)
            return starts

    def host_answered(self, host: RemoteHost) -> None:
        with self._guard:
            state = self._hosts.get(id(host))
            if state is not None and state.outage is not None:
                state.outage.until = time.time()
                state.outage = None
                # Look at every file of the host at once: lines appended while it was away are read now.
                for location in [loc for loc in self._schedules if loc.startswith(host.label + "/")]:
                    self._schedules[location] = _Schedule(self.poll_seconds)

    def is_lost(self, spec: src.SourceSpec) -> bool:
        """After a failed look or read: whether the connection is what failed (not the file)."""
        return not self.host_for(spec).connected

    def away(self) -> list[Outage]:
        """The outages still going on."""
        return [outage for outage in self.outages if outage.until is None]


def remote_file(spec: src.SourceSpec) -> src.ReadableFile:
    """A file for the follower to identify: a remote one through its host's FileAccess."""
    if spec.files is not None:
        assert spec.path is not None
        return src.AccessedFile(spec.files, spec.path, spec.location)
    assert spec.path is not None
    return src.LocalFile(spec.path)
