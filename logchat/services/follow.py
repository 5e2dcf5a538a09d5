"""Use case: follow files as they grow (`logchat index --follow`), until asked to stop.

After a catch-up pass over every file, each wake-up (an inotify event through watchfiles, or a poll
tick) reads what was appended to the files whose size, inode or mtime changed, with the same
Ingester and the same guarantee as `logchat index`: every batch is committed with its checkpoint,
so a process killed at any moment loses nothing and duplicates nothing. All the state is in the
store; this loop keeps only open handles, so that a file renamed or deleted by rotation is read to
its end before its successor is read from offset 0.

The ingest lock is taken for one pass (a wake-up's new lines) and released while waiting, so a
concurrent `logchat index` or `reload` waits at most for one pass, and the next pass picks up from
whatever it committed (the Ingester is rebuilt when another writer added events meanwhile).

Where a file's bytes come from is behind ``ingest.sources.ReadableFile`` (identify, open at an
offset): ``file_for`` lets a caller follow files that are not local. ssh:// inputs are followed by
polling (services/follow_remote.py) beside the local files, through one set of connections. Each
host is looked at and read by a job of its own, up to ``[remote] max_hosts`` hosts at once, as `logchat
index` reads them; the jobs take turns at the one writer, and the follow's thread reads the local files
meanwhile, so a host that is slow or hangs delays neither the local files nor the other hosts.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from logchat.config import Settings
from logchat.errors import SourceError, SourceNotFound, StoreBusy, UsageError
from logchat.ingest import sources as src
from logchat.ingest.ssh_location import is_ssh_url
from logchat.services.follow_remote import Outage, RemoteFollowing, remote_file

if TYPE_CHECKING:
    from logchat.ingest.remote import RemoteHost
from logchat.services.ingest import Ingester, IngestReport, Progress, SourceReport, TimeWindow
from logchat.storage import ingest_writer as writer
from logchat.storage.db import Store
from logchat.storage.locks import ingest_lock

# Polling interval where inotify cannot be used.
FALLBACK_POLL_SECONDS = 0.5
# With inotify, everything is still looked at this often: a change it cannot see (a file on a network
# file system, a directory created after the watch started) is found late rather than never.
SAFETY_TICK_SECONDS = 2.0
# Globs and directories are expanded again at most this often (and at once when a file appears).
RESCAN_SECONDS = 1.0
# Once asked to stop, lines appended until then are still read for at most this long.
FINAL_PASS_SECONDS = 5.0
# How long one attempt waits for the ingest lock before looking at the stop event again.
_LOCK_ATTEMPT_SECONDS = 0.5
_WATCH_DEBOUNCE_MS = 200
_WATCH_STEP_MS = 30


@dataclass
class FollowReport:
    """What a follow did so far; ``ingest`` holds one merged SourceReport per location."""

    ingest: IngestReport = field(default_factory=IngestReport)
    watcher: str = "polling"  # inotify | polling
    watcher_note: str | None = None  # why inotify is not used, when it was wanted
    passes: int = 0
    files: int = 0  # plain files being followed
    vectors: dict[str, Any] | None = None  # the last vector index update
    vector_updates: int = 0
    waiting_for: list[str] = field(default_factory=list)  # named paths and globs with no file yet
    remote_files: int = 0  # of ``files``, those on other hosts (polled)
    outages: list[Outage] = field(default_factory=list)  # hosts that could not be reached, and when

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.ingest.to_dict(),
            "follow": {
                "watcher": self.watcher,
                "watcher_note": self.watcher_note,
                "passes": self.passes,
                "files": self.files,
                "remote_files": self.remote_files,
                "vector_updates": self.vector_updates,
                "waiting_for": self.waiting_for,
                "outages": [outage.to_dict() for outage in self.outages],
            },
            "vectors": self.vectors,
        }


@dataclass
class _Tail:
    spec: src.SourceSpec
    file: src.ReadableFile
    seen: src.FileIdentity | None = None  # as it was when last read
    handle: BinaryIO | None = None  # kept open so a rotated file can be read to its end
    handle_identity: src.FileIdentity | None = None
    # A remote file: (size, mtime) at the last look, and as it was when last read.
    looked: tuple[int, int] | None = None
    read: tuple[int, int] | None = None


def local_file(spec: src.SourceSpec) -> src.ReadableFile:
    assert spec.path is not None
    return src.LocalFile(spec.path)


def follow(
    store: Store,
    settings: Settings,
    inputs: list[str],
    *,
    stop: threading.Event,
    name: str | None = None,
    fmt: str = "auto",
    poll_interval: float | None = None,
    on_pass: Callable[[FollowReport], None] | None = None,
    update_vectors: bool = True,
    reader_process: bool = True,
    file_for: Callable[[src.SourceSpec], src.ReadableFile] = local_file,
    expand: Callable[[list[str]], src.Expansion] | None = None,
    identity: str | None = None,
    accept_new_host_key: bool = False,
    progress: Progress | None = None,
) -> FollowReport:
    """Ingest ``inputs`` (paths, globs, directories) and keep ingesting what is appended until ``stop``
    is set; then return with everything read committed. ``poll_interval``: poll instead of inotify
    (default: ``ingest.follow_poll_interval``). ``on_pass`` is called after every pass and idle tick
    (a front end's status line). ``reader_process=False`` for callers with other threads (the daemon).
    ``expand`` (the inputs -> the files, local globs and directories by default) and ``file_for`` (a
    file -> where its bytes come from) let files that are not local be followed the same way.
    ssh://[user@]host[:port]/path-or-glob inputs are polled (every ``poll_interval``, backing off while
    unchanged) with ``identity`` and ``accept_new_host_key`` as for `logchat index`. ``progress`` hears of
    every file read, as `logchat index`'s does (from the hosts' threads too)."""
    if "-" in inputs:
        raise UsageError("--follow reads files; stdin is read to its end without it: logchat index -")
    if file_for is not local_file and poll_interval is None:
        poll_interval = settings.ingest.follow_poll_interval or FALLBACK_POLL_SECONDS  # inotify sees local files only
    remote = None
    if expand is None and any(is_ssh_url(item) for item in inputs):
        remote = RemoteFollowing(
            settings,
            poll_interval or settings.ingest.follow_poll_interval or FALLBACK_POLL_SECONDS,
            name=name,
            fmt=fmt,
            identity=identity,
            accept_new_host_key=accept_new_host_key,
        )
        expand = remote.expand
        if file_for is local_file:
            file_for = remote_file
    expand = expand or (lambda items: src.expand_inputs(items, name=name, fmt=fmt))
    follower = Follower(
        store,
        settings,
        inputs,
        stop=stop,
        expand=expand,
        file_for=file_for,
        reader_process=reader_process,
        remote=remote,
        progress=progress,
    )
    try:
        return follower.run(poll_interval or settings.ingest.follow_poll_interval, on_pass, update_vectors)
    finally:
        if remote is not None:
            remote.close()


class Follower:
    """The follow loop over ``inputs``; `follow` and services/follow_configured.py build one."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        inputs: list[str],
        *,
        stop: threading.Event,
        expand: Callable[[list[str]], src.Expansion],
        file_for: Callable[[src.SourceSpec], src.ReadableFile],
        reader_process: bool,
        remote: RemoteFollowing | None = None,
        progress: Progress | None = None,
        is_retired: Callable[[src.SourceSpec], bool] | None = None,
    ) -> None:
        """``is_retired``: whether a file followed so far belongs to no input any more (a configured source
        removed or disabled): it is then no longer followed."""
        self.store = store
        self.settings = settings
        self.inputs = inputs
        self.stop = stop
        self.expand = expand
        self.file_for = file_for
        self.reader_process = reader_process
        self.remote = remote
        self.tails: dict[str, _Tail] = {}
        self.report = FollowReport()
        self.merged: dict[str, SourceReport] = {}
        self.problems_said: set[str] = set()
        self.ingester: Ingester | None = None
        self.wake = threading.Event()
        self.file_added = threading.Event()
        self.watch_failed: str | None = None
        self.progress = progress or Progress()
        self.is_retired = is_retired
        self._report_lock = threading.Lock()  # host jobs merge their results from their threads
        self._turn = _StoreTurn(self)
        self._host_jobs: _HostJobs | None = None
        self._final_deadline: float | None = None  # asked to stop: reading on until then
        self._events_seen = 0

    # -- the loop ----------------------------------------------------------------------------

    def run(
        self, poll_interval: float | None, on_pass: Callable[[FollowReport], None] | None, update_vectors: bool
    ) -> FollowReport:
        started = time.perf_counter()
        notify = on_pass or (lambda report: None)
        watcher: threading.Thread | None = None
        vectors = _VectorRefresher(self.store, self.settings, self.report) if update_vectors else None
        try:
            self._rescan()
            # The catch-up: every local file, in this thread while it is the only one (a large file may
            # be parsed by a forked reader process); then each host's files, the hosts at once.
            self._read_tails(self._local_tails())
            self.reader_process = False  # from here on other threads run: no forking
            if self.ingester is not None:
                self.ingester.reader_process = False
            if self.remote is not None:
                self._host_jobs = _HostJobs(self.settings.remote.max_hosts)
                self._start_host_jobs(time.monotonic(), every=True)  # expands the hosts' inputs
                self._host_jobs.wait()
                self._rescan()
                self._start_host_jobs(time.monotonic(), every=True, look_all=True)  # not on a host that is away
                self._host_jobs.wait()
            if vectors is not None:
                vectors.start()  # also finishes an update a killed run left undone
            interval = poll_interval
            if interval is None:
                watcher = self._start_watcher()
                interval = SAFETY_TICK_SECONDS if watcher is not None else FALLBACK_POLL_SECONDS
            self.report.watcher = "inotify" if watcher is not None else "polling"
            # Lines appended while the watcher was starting are found by this first look.
            self.wake.set()
            last_rescan = time.monotonic()
            while not self.stop.is_set() and self.report.ingest.error is None:
                self.wake.wait(self._wait_seconds(interval))
                self.wake.clear()
                if self.stop.is_set():
                    break
                if self.watch_failed is not None and watcher is not None:
                    # inotify stopped working (the watch limit, a removed directory): poll from now on.
                    watcher, interval = None, poll_interval or FALLBACK_POLL_SECONDS
                    self.report.watcher, self.report.watcher_note = "polling", self.watch_failed
                now = time.monotonic()
                if self.file_added.is_set() or now - last_rescan >= RESCAN_SECONDS:
                    self.file_added.clear()
                    self._rescan()
                    last_rescan = now
                if self._host_jobs is not None:
                    self._start_host_jobs(now)
                self._read_tails([tail for tail in self._local_tails() if self._changed(tail)])
                self._finish_report(started)
                if vectors is not None and self._new_events() > self._events_seen:
                    vectors.poke()
                self._events_seen = self._new_events()
                notify(self.report)
            if self.report.ingest.error is None:
                self._final_pass()
        finally:
            self.stop.set()  # ends the watcher thread, and the hosts' jobs at their next batch
            if self._host_jobs is not None:
                self._host_jobs.close()  # before the tails close and the caller closes the store
            for tail in self.tails.values():
                self._close(tail)
            if watcher is not None:
                watcher.join(timeout=5)
            if vectors is not None:
                vectors.close()
        self._finish_report(started)
        if vectors is not None and self.report.ingest.error is None and vectors.behind(self._new_events()):
            vectors.update(self._new_events())  # what the last lines added, before the follow returns
        return self.report

    def _finish_report(self, started: float) -> None:
        with self._report_lock:
            self.report.ingest.sources = list(self.merged.values())
        self.report.ingest.elapsed_seconds = time.perf_counter() - started
        self.report.files = sum(1 for tail in self.tails.values() if tail.spec.kind == "file")
        if self.remote is not None:
            self.report.remote_files = sum(1 for tail in self._remote_tails() if tail.spec.kind == "file")
            self.report.outages = list(self.remote.outages)

    def _remote_tails(self) -> list[_Tail]:
        assert self.remote is not None
        return [tail for tail in self.tails.values() if self.remote.is_remote(tail.spec)]

    def _local_tails(self) -> list[_Tail]:
        return [tail for tail in self.tails.values() if self.remote is None or not self.remote.is_remote(tail.spec)]

    def _wait_seconds(self, interval: float) -> float:
        """The local wait (an inotify safety tick or the poll interval), shortened to the next remote look
        (a host whose job is running wakes the loop when it is done)."""
        if self.remote is None or self._host_jobs is None:
            return interval
        remote_in = self.remote.next_due_in(
            [tail.spec for tail in self._remote_tails()], time.monotonic(), busy=self._host_jobs.busy()
        )
        return interval if remote_in is None else max(0.01, min(interval, remote_in))

    def _give_up(self) -> bool:
        """Whether reading stops at the next batch: asked to stop, or past the last pass's deadline."""
        if self._final_deadline is not None:
            return time.monotonic() >= self._final_deadline
        return self.stop.is_set()

    def _host_away_at_the_end(self) -> None:
        """A host still away when the follow stops: its files could not be read up to the stop."""
        if self.remote is None:
            return
        for outage in self.remote.away():
            for tail in self._remote_tails():
                if tail.spec.location.startswith(outage.host + "/"):
                    self._merge(
                        SourceReport(
                            location=tail.spec.location,
                            name=tail.spec.name,
                            kind=tail.spec.kind,
                            status="error",
                            errors=[outage.error],
                        )
                    )

    # -- which files -------------------------------------------------------------------------

    def _rescan(self) -> None:
        """Expand the inputs again: files that appeared in a directory or match a glob join in."""
        expansion = self.expand(self.inputs)
        if self.is_retired is not None:
            self._retire(self.is_retired)
        for spec in expansion.specs:
            if spec.location not in self.tails:
                self.tails[spec.location] = _Tail(spec, self.file_for(spec))
        waiting = []
        for item, problem in expansion.problems:
            if isinstance(problem, SourceNotFound):
                waiting.append(item)  # may appear later: followed once it does
                continue
            if item not in self.problems_said:
                self.problems_said.add(item)
                self._merge(
                    SourceReport(location=item, name=item, kind="unknown", status="error", errors=[str(problem)])
                )
        self.report.waiting_for = waiting
        for item, why in expansion.passed_over:
            if item not in self.problems_said:
                self.problems_said.add(item)
                self.report.ingest.passed_over.append({"path": item, "reason": why})

    def _retire(self, is_retired: Callable[[src.SourceSpec], bool]) -> None:
        """Stop following the files of inputs that are gone (what was read of them is committed)."""
        for location, tail in list(self.tails.items()):
            if is_retired(tail.spec):
                self._close(tail)
                del self.tails[location]
                if self.remote is not None and self.remote.is_remote(tail.spec):
                    self.remote.forget(tail.spec)

    def _changed(self, tail: _Tail) -> bool:
        if self.remote is not None and self.remote.is_remote(tail.spec):
            return self._remote_changed(tail)
        current = self._identify(tail)
        if tail.handle_identity is not None and not _same_file(current, tail.handle_identity):
            return True  # rotated or deleted: the open handle is read to its end
        return current != tail.seen

    def _remote_changed(self, tail: _Tail) -> bool:
        """A remote file's look: its size and mtime by an SFTP stat (the inode, which takes a command on
        the host, is checked by the read that follows a change: rotation leaves a file of another size).
        A lost connection starts (or goes on with) an outage rather than making the file look deleted."""
        assert self.remote is not None
        try:
            tail.looked = src.files_of(tail.spec).size_and_mtime(tail.spec.path)  # type: ignore[attr-defined]
        except SourceError as exc:
            if self.remote.is_lost(tail.spec):
                self.remote.host_failed(self.remote.host_for(tail.spec), str(exc))
                return False
            tail.looked = None
        changed = tail.looked != tail.read
        self.remote.looked(tail.spec, changed, time.monotonic())
        return changed

    @staticmethod
    def _identify(tail: _Tail) -> src.FileIdentity | None:
        try:
            return tail.file.identify()
        except SourceError:
            return None

    # -- one pass ----------------------------------------------------------------------------

    def _final_pass(self) -> None:
        """Asked to stop: read what was appended up to now, for a bounded time, so that the lines
        written before a Ctrl-C or SIGTERM are stored."""
        self._final_deadline = time.monotonic() + FINAL_PASS_SECONDS
        self._rescan()
        if self._host_jobs is not None:
            self._host_jobs.wait()  # a job that began before the stop may have looked before the last lines
            self._start_host_jobs(time.monotonic(), every=True, look_all=True)
        self._read_tails([tail for tail in self._local_tails() if self._changed(tail)])
        if self._host_jobs is not None:
            self._host_jobs.wait()
        self._host_away_at_the_end()

    # -- the hosts' jobs ---------------------------------------------------------------------

    def _start_host_jobs(self, now: float, *, every: bool = False, look_all: bool = False) -> None:
        """A job for each host that is due (``every``: each host not waiting for its next try) and has
        none running, at most ``[remote] max_hosts`` running at once."""
        assert self.remote is not None and self._host_jobs is not None
        tails_of: dict[int, list[_Tail]] = {}
        hosts: dict[int, RemoteHost] = {id(host): host for host in self.remote.hosts()}
        for tail in self._remote_tails():
            host = self.remote.host_for(tail.spec)
            hosts.setdefault(id(host), host)
            tails_of.setdefault(id(host), []).append(tail)
        busy = self._host_jobs.busy()
        for key, host in hosts.items():
            tails = tails_of.get(key, [])
            if key in busy:
                continue
            if (every and not self.remote.is_away(host)) or self.remote.host_due(host, [t.spec for t in tails], now):
                self._host_jobs.start(host, lambda host=host, tails=tails: self._host_job(host, tails, look_all))

    def _host_job(self, host: RemoteHost, tails: list[_Tail], look_all: bool) -> None:
        """In a thread of its own: reconnect to the host if it was away, expand its inputs again when due,
        look at its files that are due and read those that changed."""
        assert self.remote is not None
        try:
            if not self.remote.try_again(host):
                return
            if self.remote.refresh(host):
                self.file_added.set()  # new files on the host: the follow's thread adds them
            now = time.monotonic()
            changed = [
                tail for tail in tails if (look_all or self.remote.due(tail.spec, now)) and self._remote_changed(tail)
            ]
            self._read_tails(changed)
        finally:
            self.wake.set()  # the loop's next wait counts this host again

    # -- one pass ----------------------------------------------------------------------------

    def _read_tails(self, tails: list[_Tail]) -> None:
        """Read the new lines of ``tails`` (local ones, or one host's), with the ingest lock held; stops at
        a batch boundary when giving up, with everything read so far committed and the rest left for
        the next run."""
        if not tails:
            return
        with self._turn.held() as ingester:
            if ingester is None:
                return
            # In name order, as `logchat index` reads a directory: app.log before app.log.1, so a
            # rotated file's lines are read from the handle kept open before its new name is looked at.
            for tail in sorted(tails, key=lambda tail: tail.spec.location):
                if self._give_up():
                    break  # what was read is committed; the rest waits for the next run
                self._read(ingester, tail, self._give_up)
                if ingester.store_error is not None:
                    self.report.ingest.error = str(ingester.store_error)
                    break
        with self._report_lock:
            self.report.passes += 1

    def _lock(self, held: contextlib.ExitStack, give_up: Callable[[], bool]) -> bool:
        """Take the ingest lock, waiting for another writer as long as it takes; False on giving up."""
        while True:
            try:
                held.enter_context(ingest_lock(self.store, self.settings.data_dir, wait_seconds=_LOCK_ATTEMPT_SECONDS))
                return True
            except StoreBusy:
                if give_up():
                    return False

    def _fresh_ingester(self) -> Ingester:
        """The Ingester of the last pass, unless another writer added events since (its ids and template
        miner would be stale): then a new one, loaded from the store."""
        if self.ingester is not None:
            with self.store.session() as session:
                if writer.next_event_id(session) == self.ingester.next_id:
                    return self.ingester
        ingester = Ingester(
            self.store, self.settings, window=TimeWindow(), progress=self.progress, reader_process=self.reader_process
        )
        ingester.complete_lines_only = True
        ingester.max_batch_seconds = self.settings.ingest.follow_batch_seconds
        ingester.should_stop = self._give_up
        # Hosts read at once: each waits for its network outside the writer's turn.
        ingester.read_ahead = self.remote is not None
        self.ingester = ingester
        return ingester

    def _read(self, ingester: Ingester, tail: _Tail, give_up: Callable[[], bool]) -> None:
        if self.remote is not None and self.remote.is_remote(tail.spec):
            self._read_remote(ingester, tail, give_up)
            return
        current = self._identify(tail)
        if tail.handle is not None and not _same_file(current, tail.handle_identity):
            assert tail.handle_identity is not None
            self._merge(ingester.drain(tail.spec, tail.handle, tail.handle_identity), counts_only=True)
            self._close(tail)
        if current is None:
            tail.seen = None  # gone for now; read from the start if it comes back
            return
        result = ingester.ingest(tail.spec, file=tail.file)
        if result.failed and tail.spec.from_walk and result.errors and "binary data" in result.errors[0]:
            result.status = "skipped"  # as `logchat index` of a directory does
        # A failed file is tried again once it changes; one left part-read (asked to stop) at the next look.
        tail.seen = None if give_up() else current
        self._merge(result)
        if not result.failed and tail.spec.kind == "file" and tail.handle is None:
            self._keep_open(tail, current)

    def _read_remote(self, ingester: Ingester, tail: _Tail, give_up: Callable[[], bool]) -> None:
        """A remote file is read as `logchat index` reads it: a connection lost in the middle is retried
        with back-off, and a rotated file is finished through its renamed sibling before the new one is
        read from its start (Ingester._finish_rotated). No handle is kept open: the sibling serves."""
        assert self.remote is not None
        if tail.looked is None:
            tail.read = None  # gone for now; read from the start if it comes back
            return
        result = ingester.ingest(tail.spec)
        if result.failed and tail.spec.from_walk and result.errors and "binary data" in result.errors[0]:
            result.status = "skipped"
        if result.failed and self.remote.is_lost(tail.spec):
            # The host went away during the read: what was read is committed, the rest is read from
            # the checkpoint once it is back. Said once, as an outage, not as this file's failure.
            self.remote.host_failed(self.remote.host_for(tail.spec), result.errors[0] if result.errors else "")
            tail.read = None
            result.status, result.errors = "ok", []
            self._merge(result, counts_only=True)
            return
        tail.read = None if give_up() else tail.looked
        self._merge(result)

    def _keep_open(self, tail: _Tail, expected: src.FileIdentity) -> None:
        try:
            handle = tail.file.open_at(0)
        except SourceError:
            return
        if not handle.seekable():
            # A stream (a remote reader) cannot be read on from a checkpoint later: without it, a
            # rotation is handled as by `logchat index` (the new file from its start).
            handle.close()
            return
        try:
            info = os.fstat(handle.fileno())
            identity = src.FileIdentity(info.st_dev, info.st_ino, info.st_size, info.st_mtime)
        except (OSError, AttributeError, ValueError):
            identity = expected  # a stream without a descriptor: trust the identity just read
        if not _same_file(identity, expected):
            handle.close()  # replaced since it was read: the next pass looks again
            tail.seen = None
            return
        tail.handle, tail.handle_identity = handle, identity

    @staticmethod
    def _close(tail: _Tail) -> None:
        if tail.handle is not None:
            with contextlib.suppress(OSError):
                tail.handle.close()
        tail.handle = tail.handle_identity = None

    def _merge(self, result: SourceReport, *, counts_only: bool = False) -> None:
        with self._report_lock:
            self._merge_unlocked(result, counts_only=counts_only)

    def _merge_unlocked(self, result: SourceReport, *, counts_only: bool) -> None:
        merged = self.merged.get(result.location)
        if merged is None:
            if counts_only and not result.new_lines and not result.failed:
                return
            self.merged[result.location] = result
            return
        merged.new_events += result.new_events
        merged.new_lines += result.new_lines
        merged.skipped += result.skipped
        merged.with_timestamp += result.with_timestamp
        merged.bytes_read += result.bytes_read
        merged.errors.extend(message for message in result.errors if message not in merged.errors)
        if counts_only:
            return
        merged.format = result.format or merged.format
        merged.generation = result.generation
        if result.status != "unchanged":
            merged.status = result.status
        merged.duplicate_of = result.duplicate_of or merged.duplicate_of
        merged.continues = result.continues or merged.continues

    def _new_events(self) -> int:
        with self._report_lock:
            return sum(source.new_events for source in self.merged.values())

    # -- inotify -----------------------------------------------------------------------------

    def _start_watcher(self) -> threading.Thread | None:
        try:
            import watchfiles  # noqa: F401 - only to know it is there
        except ImportError:
            self.report.watcher_note = "watchfiles is not installed"
            return None
        local = [item for item in self.inputs if not is_ssh_url(item)]
        if not local:
            return None  # only remote files: polled, and nothing to say about it
        directories, recursive = watch_roots(local)
        if not directories:
            self.report.watcher_note = "no existing directory to watch"
            return None
        ready = threading.Event()
        thread = threading.Thread(
            target=self._watch, args=(directories, recursive, ready), daemon=True, name="logchat-follow-watch"
        )
        thread.start()
        ready.wait(5)
        if self.watch_failed is not None:
            self.report.watcher_note = self.watch_failed
            thread.join(timeout=5)
            return None
        return thread

    def _watch(self, directories: list[Path], recursive: bool, ready: threading.Event) -> None:
        import watchfiles

        try:
            changes = watchfiles.watch(
                *directories,
                watch_filter=None,
                debounce=_WATCH_DEBOUNCE_MS,
                step=_WATCH_STEP_MS,
                stop_event=self.stop,
                rust_timeout=500,
                yield_on_timeout=True,
                raise_interrupt=False,
                recursive=recursive,
                force_polling=False,
                ignore_permission_denied=True,
            )
            for batch in changes:
                ready.set()  # the first yield (a timeout at the latest) means the watch is set up
                if any(change == watchfiles.Change.added for change, _ in batch):
                    self.file_added.set()
                if batch:
                    self.wake.set()
        except Exception as exc:  # any failure of the native watcher: fall back to polling
            self.watch_failed = f"inotify unavailable ({exc}); polling instead"
            self.wake.set()
        finally:
            ready.set()


class _StoreTurn:
    """The ingest lock and the Ingester, shared by the follow's thread and the hosts' jobs: the lock is
    taken when the first of them starts reading and released when the last one is done, so another
    `logchat index` waits at most for the reads in progress. The Ingester (one writer, its turns taken
    batch by batch) is renewed when the lock is taken, if another writer added events meanwhile."""

    def __init__(self, follower: Follower) -> None:
        self._follower = follower
        self._readers = 0
        self._guard = threading.Lock()
        self._held = contextlib.ExitStack()

    @contextlib.contextmanager
    def held(self) -> Iterator[Ingester | None]:
        """The Ingester, with the lock held; None when giving up while another writer holds it."""
        follower = self._follower
        with self._guard:  # held while waiting for the lock: whoever comes next needs it as well
            if self._readers == 0:
                self._held = contextlib.ExitStack()
                if not follower._lock(self._held, follower._give_up):
                    ingester = None
                else:
                    ingester = follower._fresh_ingester()
            else:
                ingester = follower.ingester
            if ingester is not None:
                self._readers += 1
        if ingester is None:
            yield None
            return
        try:
            yield ingester
        finally:
            with self._guard:
                self._readers -= 1
                if self._readers == 0:
                    self._held.close()


class _HostJobs:
    """At most ``max_hosts`` hosts' jobs running at once, one per host at a time. A job that failed
    unexpectedly ends the follow, as it would in the follow's own thread."""

    def __init__(self, max_hosts: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, max_hosts), thread_name_prefix="logchat-follow-host")
        self._jobs: dict[int, Future[None]] = {}

    def busy(self) -> set[int]:
        """The hosts (by id) whose job is queued or running."""
        done = [key for key, job in self._jobs.items() if job.done()]
        for key in done:
            self._jobs.pop(key).result()  # raises what the job raised
        return set(self._jobs)

    def start(self, host: RemoteHost, job: Callable[[], None]) -> None:
        if id(host) not in self.busy():
            self._jobs[id(host)] = self._pool.submit(job)

    def wait(self) -> None:
        for job in list(self._jobs.values()):
            job.result()
        self.busy()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class _VectorRefresher:
    """Brings the vector index up to date in a thread of its own, at most every
    ``ingest.follow_vector_seconds`` and only after new events, so embedding (a model server may take
    seconds) never holds up reading; `ask` then finds the new lines by meaning too."""

    def __init__(self, store: Store, settings: Settings, report: FollowReport) -> None:
        self.store = store
        self.settings = settings
        self.report = report
        self.pending = threading.Event()
        self.closing = threading.Event()
        self.covered = 0  # new events of this follow that the last update saw
        self.thread = threading.Thread(target=self._loop, daemon=True, name="logchat-follow-vectors")

    def start(self) -> None:
        self.pending.set()
        self.thread.start()

    def poke(self) -> None:
        self.pending.set()

    def behind(self, new_events: int) -> bool:
        return new_events > self.covered

    def close(self) -> None:
        self.closing.set()
        self.pending.set()
        if self.thread.is_alive():
            self.thread.join()

    def _loop(self) -> None:
        while True:
            self.pending.wait()
            if self.closing.is_set():
                return
            self.pending.clear()
            self.update(self.report.ingest.new_events)
            if self.closing.wait(self.settings.ingest.follow_vector_seconds):
                return

    def update(self, new_events: int) -> None:
        from logchat.errors import LogchatError
        from logchat.services.vectors import update_vector_index

        try:
            result: dict[str, Any] = update_vector_index(self.store, self.settings).to_dict()
        except (LogchatError, OSError) as exc:
            result = {"error": str(exc)}
        self.covered = max(self.covered, new_events)
        self.report.vectors = result
        self.report.vector_updates += 1


def _same_file(a: src.FileIdentity | None, b: src.FileIdentity | None) -> bool:
    return a is not None and b is not None and (a.device, a.inode) == (b.device, b.inode)


def watch_roots(inputs: list[str]) -> tuple[list[Path], bool]:
    """The directories to watch for ``inputs`` and whether recursively: a file's directory (rotation
    replaces the file), a directory itself, a glob's fixed leading part."""
    roots: list[Path] = []
    recursive = False
    for item in inputs:
        expanded = os.path.expanduser(item)
        parts = Path(expanded).parts
        if src.is_glob(expanded):
            fixed = _leading_fixed(parts)
            root = Path(*fixed) if fixed else Path(".")
            glob_parts = parts[len(fixed) :]
            recursive = recursive or len(glob_parts) > 1 or "**" in glob_parts
        elif Path(expanded).is_dir():
            root, recursive = Path(expanded), True
        else:
            root = Path(expanded).parent
        while not root.is_dir() and root != root.parent:
            root = root.parent  # watch what exists: the rescan finds the rest
        roots.append(root.resolve())
    unique = sorted(set(roots))
    if recursive:  # a directory under another watched one is already covered
        unique = [root for root in unique if not any(other != root and other in root.parents for other in unique)]
    return unique, recursive


def _leading_fixed(parts: tuple[str, ...]) -> list[str]:
    fixed = []
    for part in parts:
        if src.is_glob(part):
            break
        fixed.append(part)
    return fixed
