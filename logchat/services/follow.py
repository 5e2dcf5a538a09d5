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
polling (services/follow_remote.py) beside the local files, through one set of connections.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from logchat.config import Settings
from logchat.errors import SourceError, SourceNotFound, StoreBusy, UsageError
from logchat.ingest import sources as src
from logchat.ingest.ssh_location import is_ssh_url
from logchat.services.follow_remote import Outage, RemoteFollowing, remote_file
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
                "watcher": self.watcher, "watcher_note": self.watcher_note, "passes": self.passes,
                "files": self.files, "remote_files": self.remote_files, "vector_updates": self.vector_updates,
                "waiting_for": self.waiting_for, "outages": [outage.to_dict() for outage in self.outages],
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
) -> FollowReport:
    """Ingest ``inputs`` (paths, globs, directories) and keep ingesting what is appended until ``stop``
    is set; then return with everything read committed. ``poll_interval``: poll instead of inotify
    (default: ``ingest.follow_poll_interval``). ``on_pass`` is called after every pass and idle tick
    (a front end's status line). ``reader_process=False`` for callers with other threads (the daemon).
    ``expand`` (the inputs -> the files, local globs and directories by default) and ``file_for`` (a
    file -> where its bytes come from) let files that are not local be followed the same way.
    ssh://[user@]host[:port]/path-or-glob inputs are polled (every ``poll_interval``, backing off while
    unchanged) with ``identity`` and ``accept_new_host_key`` as for `logchat index`."""
    if "-" in inputs:
        raise UsageError("--follow reads files; stdin is read to its end without it: logchat index -")
    if file_for is not local_file and poll_interval is None:
        poll_interval = settings.ingest.follow_poll_interval or FALLBACK_POLL_SECONDS  # inotify sees local files only
    remote = None
    if expand is None and any(is_ssh_url(item) for item in inputs):
        remote = RemoteFollowing(settings, poll_interval or settings.ingest.follow_poll_interval
                                 or FALLBACK_POLL_SECONDS, name=name, fmt=fmt, identity=identity,
                                 accept_new_host_key=accept_new_host_key)
        expand = remote.expand
        if file_for is local_file:
            file_for = remote_file
    expand = expand or (lambda items: src.expand_inputs(items, name=name, fmt=fmt))
    follower = Follower(store, settings, inputs, stop=stop, expand=expand, file_for=file_for,
                         reader_process=reader_process, remote=remote)
    try:
        return follower.run(poll_interval or settings.ingest.follow_poll_interval, on_pass, update_vectors)
    finally:
        if remote is not None:
            remote.close()


class Follower:
    """The follow loop over ``inputs``; `follow` and services/follow_configured.py build one."""

    def __init__(self, store: Store, settings: Settings, inputs: list[str], *, stop: threading.Event,
                 expand: Callable[[list[str]], src.Expansion],
                 file_for: Callable[[src.SourceSpec], src.ReadableFile], reader_process: bool,
                 remote: RemoteFollowing | None = None) -> None:
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

    # -- the loop ----------------------------------------------------------------------------

    def run(self, poll_interval: float | None, on_pass: Callable[[FollowReport], None] | None,
            update_vectors: bool) -> FollowReport:
        started = time.perf_counter()
        notify = on_pass or (lambda report: None)
        watcher: threading.Thread | None = None
        vectors = _VectorRefresher(self.store, self.settings, self.report) if update_vectors else None
        try:
            self._rescan()
            # The catch-up: every local file; a remote one once looked at (not on a host that is away).
            self._pass([tail for tail in self.tails.values()
                        if self.remote is None or not self.remote.is_remote(tail.spec) or self._changed(tail)])
            self.reader_process = False  # from here on other threads run: no forking
            if self.ingester is not None:
                self.ingester.reader_process = False
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
                changed = [tail for tail in self.tails.values() if self._due(tail, now) and self._changed(tail)]
                stored_before = self._new_events()
                if changed:
                    self._pass(changed)
                self._finish_report(started)
                if vectors is not None and self._new_events() > stored_before:
                    vectors.poke()
                notify(self.report)
            if self.report.ingest.error is None:
                self._final_pass()
        finally:
            self.stop.set()  # ends the watcher thread
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
        self.report.ingest.sources = list(self.merged.values())
        self.report.ingest.elapsed_seconds = time.perf_counter() - started
        self.report.files = sum(1 for tail in self.tails.values() if tail.spec.kind == "file")
        if self.remote is not None:
            self.report.remote_files = sum(1 for tail in self._remote_tails() if tail.spec.kind == "file")
            self.report.outages = list(self.remote.outages)

    def _remote_tails(self) -> list[_Tail]:
        assert self.remote is not None
        return [tail for tail in self.tails.values() if self.remote.is_remote(tail.spec)]

    def _wait_seconds(self, interval: float) -> float:
        """The local wait (an inotify safety tick or the poll interval), shortened to the next remote look."""
        if self.remote is None:
            return interval
        remote_in = self.remote.next_due_in([tail.spec for tail in self._remote_tails()], time.monotonic())
        return interval if remote_in is None else max(0.01, min(interval, remote_in))

    def _due(self, tail: _Tail, now: float) -> bool:
        return self.remote is None or not self.remote.is_remote(tail.spec) or self.remote.due(tail.spec, now)

    def _host_away_at_the_end(self) -> None:
        """A host still away when the follow stops: its files could not be read up to the stop."""
        if self.remote is None:
            return
        for outage in self.remote.away():
            for tail in self._remote_tails():
                if tail.spec.location.startswith(outage.host + "/"):
                    self._merge(SourceReport(location=tail.spec.location, name=tail.spec.name, kind=tail.spec.kind,
                                             status="error", errors=[outage.error]))

    # -- which files -------------------------------------------------------------------------

    def _rescan(self) -> None:
        """Expand the inputs again: files that appeared in a directory or match a glob join in."""
        expansion = self.expand(self.inputs)
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
                self._merge(SourceReport(location=item, name=item, kind="unknown", status="error",
                                         errors=[str(problem)]))
        self.report.waiting_for = waiting
        for item, why in expansion.passed_over:
            if item not in self.problems_said:
                self.problems_said.add(item)
                self.report.ingest.passed_over.append({"path": item, "reason": why})

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
        deadline = time.monotonic() + FINAL_PASS_SECONDS
        self._rescan()
        if self.remote is not None:  # every remote file is looked at now, whatever its schedule
            for tail in self._remote_tails():
                self.remote.looked(tail.spec, True, 0.0)
        changed = [tail for tail in self.tails.values() if self._due(tail, time.monotonic()) and self._changed(tail)]
        self._pass(changed, give_up=lambda: time.monotonic() >= deadline)
        self._host_away_at_the_end()

    def _pass(self, tails: list[_Tail], give_up: Callable[[], bool] | None = None) -> None:
        """Read the new lines of ``tails``; ``give_up`` ends it at a batch boundary (default: the stop
        event), with everything read so far committed and the rest left for the next run."""
        if not tails:
            return
        give_up = give_up or self.stop.is_set
        with contextlib.ExitStack() as held:
            if not self._lock(held, give_up):
                return
            ingester = self._fresh_ingester()
            ingester.should_stop = give_up
            # In name order, as `logchat index` reads a directory: app.log before app.log.1, so a
            # rotated file's lines are read from the handle kept open before its new name is looked at.
            for tail in sorted(tails, key=lambda tail: tail.spec.location):
                if give_up():
                    break  # what was read is committed; the rest waits for the next run
                self._read(ingester, tail, give_up)
                if ingester.store_error is not None:
                    self.report.ingest.error = str(ingester.store_error)
                    break
        self.report.passes += 1

    def _lock(self, held: contextlib.ExitStack, give_up: Callable[[], bool]) -> bool:
        """Take the ingest lock, waiting for another writer as long as it takes; False on giving up."""
        while True:
            try:
                held.enter_context(ingest_lock(self.store, self.settings.data_dir,
                                               wait_seconds=_LOCK_ATTEMPT_SECONDS))
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
        ingester = Ingester(self.store, self.settings, window=TimeWindow(), progress=Progress(),
                            reader_process=self.reader_process)
        ingester.complete_lines_only = True
        ingester.max_batch_seconds = self.settings.ingest.follow_batch_seconds
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
        thread = threading.Thread(target=self._watch, args=(directories, recursive, ready), daemon=True,
                                  name="logchat-follow-watch")
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
                *directories, watch_filter=None, debounce=_WATCH_DEBOUNCE_MS, step=_WATCH_STEP_MS,
                stop_event=self.stop, rust_timeout=500, yield_on_timeout=True, raise_interrupt=False,
                recursive=recursive, force_polling=False, ignore_permission_denied=True,
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
            glob_parts = parts[len(fixed):]
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
